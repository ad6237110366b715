package server

import (
	"os"
	"strings"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/redact"
	"qa-sampling/store"
)

// TestPushedPersonalDataIsNeverStored pushes a chat with a phone, an
// ID-card and a card number in its messages and attributes: what is read
// back has placeholders, the SQLite file holds none of the numbers, the
// same push again is UNCHANGED, and the metrics count each kind per push.
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
	for push, want := range []qav1.ItemStatus{qav1.ItemStatus_ITEM_STATUS_ACCEPTED, qav1.ItemStatus_ITEM_STATUS_UNCHANGED} {
		resp, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: chat})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() != want {
			t.Fatalf("push %d: %v, want %v", push+1, resp.GetStatus(), want)
		}
	}
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
	for kind, want := range map[string]float64{"phone": 4, "id_card": 2, "bank_card": 2, "landline": 0, "email": 0} {
		if n := gauge(t, env.srv.registry, "qa_redactions_total", "type", kind); n != want {
			t.Errorf("qa_redactions_total{type=%q} = %v, want %v", kind, n, want)
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
	if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: chat}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTranscript(ctx, "plain-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages[0].Text != "电话13912345678" {
		t.Errorf("stored %q", got.Messages[0].Text)
	}
}
