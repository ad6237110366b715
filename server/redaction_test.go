package server

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/redact"
	"qa-sampling/store"
)

// TestPushedPersonalDataIsNeverStored pushes a chat with a phone, an
// ID-card and a card number in its messages and attributes, the phone as
// its customer id and in a tag: what is read back has placeholders in the
// text and the pseudonym keyed with the database's key in the customer id
// and tag, the same push again is UNCHANGED (by the stream too), and the
// metrics count each kind per field and push.
func TestPushedPersonalDataIsNeverStored(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	client := qav1.NewIngestServiceClient(env.conn)
	ctx := env.as(store.RoleIngest, "platform")
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	const phone, idCard, card = "13912345678", "11010519491231002X", "6222021001123456789"
	chat := testChat("pii-1", "a1", time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC))
	chat.Messages[0].Text = "订单 DD2773650732362063 没到，我电话 139 1234 5678，身份证" + idCard + "，退款请退到卡 " + card
	chat.Attributes = map[string]string{"contact": "+86 " + phone, "order_id": "DD2773650732362063"}
	chat.CustomerId = "+86 " + phone
	chat.Tags = []string{"回访" + phone, "complaint"}
	for push, want := range []qav1.ItemStatus{qav1.ItemStatus_ITEM_STATUS_ACCEPTED, qav1.ItemStatus_ITEM_STATUS_UNCHANGED} {
		resp, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: chat})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() != want {
			t.Fatalf("push %d: %v, want %v", push+1, resp.GetStatus(), want)
		}
	}
	stream, err := client.PushTranscripts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&qav1.PushTranscriptsRequest{Transcripts: []*qav1.Transcript{chat}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || resp.GetResults()[0].GetStatus() != qav1.ItemStatus_ITEM_STATUS_UNCHANGED {
		t.Fatalf("stream push: %v %v, want UNCHANGED", resp, err)
	}
	_ = stream.CloseSend()
	got, err := client.GetTranscript(env.as(store.RoleAdmin, "lead"), &qav1.GetTranscriptRequest{ExternalId: "pii-1"})
	if err != nil {
		t.Fatal(err)
	}
	text := got.GetTranscript().GetMessages()[0].GetText()
	want := "订单 DD2773650732362063 没到，我电话 〔手机号〕，身份证〔身份证号〕，退款请退到卡 〔银行卡号〕"
	if text != want {
		t.Errorf("stored text\n %q\nwant %q", text, want)
	}
	attrs := got.GetTranscript().GetAttributes()
	if attrs["contact"] != "〔手机号〕" || attrs["order_id"] != "DD2773650732362063" {
		t.Errorf("stored attributes %v", attrs)
	}
	secret, err := env.store.PseudonymKey(t.Context(), []byte("not the stored key, never stored"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := redact.NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	pseudonym, _ := redact.All.ID(key, phone)
	if !strings.HasPrefix(pseudonym, "〔手机号〕") || pseudonym == "〔手机号〕" {
		t.Fatalf("pseudonym %q", pseudonym)
	}
	if c := got.GetTranscript().GetCustomerId(); c != pseudonym {
		t.Errorf("stored customer_id %q, want %q (the pseudonym under the stored key)", c, pseudonym)
	}
	if tags := got.GetTranscript().GetTags(); len(tags) != 2 || !slices.Contains(tags, "回访"+pseudonym) || !slices.Contains(tags, "complaint") {
		t.Errorf("stored tags %q", tags)
	}
	// Bodies are compressed: a number stored in clear could hide from a
	// byte search, so every body is decoded back too by GetTranscript
	// above; the file search catches a copy anywhere else (index, WAL).
	for _, path := range []string{env.dbPath, env.dbPath + "-wal"} {
		raw, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, secret := range []string{phone, "139 1234 5678", idCard, card} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%s holds %s", path, secret)
			}
		}
	}
	// Three pushes, each counted.
	for _, c := range []struct {
		kind, field string
		want        float64
	}{
		{"phone", "message", 3}, {"phone", "attribute_value", 3}, {"phone", "customer_id", 3}, {"phone", "tag", 3},
		{"id_card", "message", 3}, {"bank_card", "message", 3}, {"phone", "channel", 0}, {"email", "message", 0},
	} {
		if n := gauge(t, env.srv.registry, "qa_redactions_total", "type", c.kind, "field", c.field); n != c.want {
			t.Errorf("qa_redactions_total{type=%q,field=%q} = %v, want %v", c.kind, c.field, n, c.want)
		}
	}
}

// TestRedactionOff stores what was pushed when redaction is turned off.
func TestRedactionOff(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ingest.Redact = redact.None
	client, ctx, st := startInProcess(t, cfg)
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	chat := testChat("plain-1", "a1", time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC))
	chat.Messages[0].Text = "电话13912345678"
	chat.CustomerId = "13912345678"
	if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: chat}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTranscript(ctx, "plain-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages[0].Text != "电话13912345678" || got.CustomerID != "13912345678" {
		t.Errorf("stored %q, customer %q", got.Messages[0].Text, got.CustomerID)
	}
}
