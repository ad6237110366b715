package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

func upsertAgents(t *testing.T, ctx context.Context, c qav1.IngestServiceClient, ids ...string) {
	t.Helper()
	resp, err := c.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor(ids...)})
	if err != nil {
		t.Fatalf("UpsertAgents: %v", err)
	}
	for _, r := range resp.GetResults() {
		if r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
			t.Fatalf("agent %s rejected: %s: %s", r.GetId(), r.GetField(), r.GetReason())
		}
	}
}

// TestAcknowledgedTranscriptsSurviveKill pushes a stream, SIGKILLs the
// server while the stream is still running, restarts it and checks that
// every transcript whose result had arrived is stored intact.
func TestAcknowledgedTranscriptsSurviveKill(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b.dsn)
			tok := srv.token("ingest", "chat-platform")
			admin := srv.token("admin", "qa-lead")
			ctx := withToken(context.Background(), tok)
			c := srv.client("")
			upsertAgents(t, ctx, c, "a1", "a2")

			const total, killAfter = 20000, 1500
			sent := make([]*qav1.Transcript, total)
			for i := range sent {
				sent[i] = chat(fmt.Sprintf("kill-%05d", i), []string{"a1", "a2"}[i%2], 3)
			}
			stream, err := c.PushTranscripts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				for i := 0; i < total; i += 20 {
					if stream.Send(&qav1.PushTranscriptsRequest{Transcripts: sent[i : i+20]}) != nil {
						return
					}
				}
				_ = stream.CloseSend()
			}()
			var acked []int64
			var killed atomic.Bool
			for {
				resp, err := stream.Recv()
				if err != nil {
					if !killed.Load() {
						t.Fatalf("stream ended before the kill: %v", err)
					}
					break
				}
				for _, r := range resp.GetResults() {
					if r.GetStatus() != qav1.ItemStatus_ITEM_STATUS_ACCEPTED {
						t.Fatalf("item %d: status %v (%s %s)", r.GetIndex(), r.GetStatus(), r.GetField(), r.GetReason())
					}
					acked = append(acked, r.GetIndex())
				}
				if len(acked) >= killAfter && !killed.Load() {
					killed.Store(true)
					srv.kill()
				}
			}
			if len(acked) >= total {
				t.Fatalf("all %d items were acknowledged before the kill; the test did not kill mid-stream", total)
			}
			t.Logf("%d of %d acknowledged before SIGKILL", len(acked), total)

			srv.start()
			actx := withToken(context.Background(), admin)
			reader := srv.client("")
			for _, idx := range acked {
				got, err := reader.GetTranscript(actx, &qav1.GetTranscriptRequest{ExternalId: sent[idx].GetExternalId()})
				if err != nil {
					t.Fatalf("acknowledged transcript %s lost after SIGKILL: %v", sent[idx].GetExternalId(), err)
				}
				assertSameTranscript(t, sent[idx], got.GetTranscript())
			}
		})
	}
}

func fieldViolation(t *testing.T, err error) (codes.Code, string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a gRPC status: %v", err)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return st.Code(), br.GetFieldViolations()[0].GetField()
		}
	}
	return st.Code(), ""
}

// TestPushRejectsPerItemAndKeepsTheRest sends a batch mixing good and bad
// items and checks each answer, that the good ones are stored and that a
// bad update does not damage the stored version.
func TestPushRejectsPerItemAndKeepsTheRest(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			srv := startServer(t, b.dsn)
			ctx := withToken(context.Background(), srv.token("ingest", "platform"))
			actx := withToken(context.Background(), srv.token("admin", "lead"))
			c := srv.client("")
			upsertAgents(t, ctx, c, "a1")

			original := chat("keep-me", "a1", 2)
			if _, err := c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: original}); err != nil {
				t.Fatal(err)
			}

			endsEarly := chat("ends-early", "a1", 2)
			endsEarly.EndedAt = timestamppb.New(endsEarly.GetStartedAt().AsTime().Add(-time.Minute))
			badRole := chat("bad-role", "a1", 2)
			badRole.Messages[1].Role = qav1.Role(9)
			badCsat := chat("bad-csat", "a1", 1)
			csat := int32(7)
			badCsat.Csat = &csat
			lateMsg := chat("late-msg", "a1", 2)
			lateMsg.Messages[3].SentAt.Seconds += 3600
			unknownAgent := chat("stranger", "nobody", 1)
			noID := chat("", "a1", 1)
			brokenUpdate := chat("keep-me", "a1", 2)
			brokenUpdate.Messages = nil
			changed := chat("changed", "a1", 2)

			cases := []struct {
				item   *qav1.Transcript
				status qav1.ItemStatus
				field  string
			}{
				{chat("good-1", "a1", 2), qav1.ItemStatus_ITEM_STATUS_ACCEPTED, ""},
				{endsEarly, qav1.ItemStatus_ITEM_STATUS_REJECTED, "ended_at"},
				{badRole, qav1.ItemStatus_ITEM_STATUS_REJECTED, "messages[1].role"},
				{badCsat, qav1.ItemStatus_ITEM_STATUS_REJECTED, "csat"},
				{lateMsg, qav1.ItemStatus_ITEM_STATUS_REJECTED, "messages[3].sent_at"},
				{unknownAgent, qav1.ItemStatus_ITEM_STATUS_REJECTED, "agent_id"},
				{noID, qav1.ItemStatus_ITEM_STATUS_REJECTED, "external_id"},
				{brokenUpdate, qav1.ItemStatus_ITEM_STATUS_REJECTED, "messages"},
				{original, qav1.ItemStatus_ITEM_STATUS_UNCHANGED, ""},
				{changed, qav1.ItemStatus_ITEM_STATUS_ACCEPTED, ""},
				{chat("good-2", "a1", 1), qav1.ItemStatus_ITEM_STATUS_ACCEPTED, ""},
			}
			stream, err := c.PushTranscripts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			req := &qav1.PushTranscriptsRequest{}
			for _, tc := range cases {
				req.Transcripts = append(req.Transcripts, tc.item)
			}
			if err := stream.Send(req); err != nil {
				t.Fatal(err)
			}
			_ = stream.CloseSend()
			got := map[int64]*qav1.ItemResult{}
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range resp.GetResults() {
					got[r.GetIndex()] = r
				}
			}
			for i, tc := range cases {
				r := got[int64(i)]
				if r == nil {
					t.Fatalf("item %d (%s): no result", i, tc.item.GetExternalId())
				}
				if r.GetStatus() != tc.status || r.GetField() != tc.field {
					t.Errorf("item %d (%s): got %v field %q (%s), want %v field %q", i, tc.item.GetExternalId(), r.GetStatus(), r.GetField(), r.GetReason(), tc.status, tc.field)
				}
				if tc.status == qav1.ItemStatus_ITEM_STATUS_REJECTED && r.GetReason() == "" {
					t.Errorf("item %d: rejected without a reason", i)
				}
			}

			for _, id := range []string{"good-1", "good-2", "changed"} {
				if _, err := c.GetTranscript(actx, &qav1.GetTranscriptRequest{ExternalId: id}); err != nil {
					t.Errorf("accepted %s not readable: %v", id, err)
				}
			}
			for _, id := range []string{"ends-early", "bad-role", "stranger", "late-msg"} {
				_, err := c.GetTranscript(actx, &qav1.GetTranscriptRequest{ExternalId: id})
				if status.Code(err) != codes.NotFound {
					t.Errorf("rejected %s: GetTranscript gave %v, want NotFound", id, err)
				}
			}
			kept, err := c.GetTranscript(actx, &qav1.GetTranscriptRequest{ExternalId: "keep-me"})
			if err != nil {
				t.Fatal(err)
			}
			assertSameTranscript(t, original, kept.GetTranscript())
			if kept.GetTranscript().GetRevision() != 1 {
				t.Errorf("keep-me revision %d after an unchanged and a rejected push, want 1", kept.GetTranscript().GetRevision())
			}

			// The unary push answers INVALID_ARGUMENT naming the field, in the
			// message and as a BadRequest detail.
			_, err = c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: badRole})
			if code, field := fieldViolation(t, err); code != codes.InvalidArgument || field != "transcript.messages[1].role" {
				t.Errorf("unary bad role: got %v field %q, want InvalidArgument transcript.messages[1].role", code, field)
			}
		})
	}
}

// TestRepeatedPushIsIdempotent: identical → UNCHANGED, changed → UPDATED with
// a new revision and the new content, never a duplicate.
func TestRepeatedPushIsIdempotent(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn)
	ctx := withToken(context.Background(), srv.token("ingest", "platform"))
	c := srv.client("")
	upsertAgents(t, ctx, c, "a1")

	first := chat("idem-1", "a1", 2)
	resp, err := c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: first})
	if err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_ACCEPTED {
		t.Fatalf("first push: %v %v", resp.GetStatus(), err)
	}
	actx := withToken(context.Background(), srv.token("admin", "lead"))
	stored := func() *qav1.Transcript {
		t.Helper()
		got, err := c.GetTranscript(actx, &qav1.GetTranscriptRequest{ExternalId: "idem-1"})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetTranscript()
	}
	if m := stored().GetMetrics(); m.GetMessageCount() != 4 || m.GetAgentMessageCount() != 2 ||
		m.GetFirstResponseTime().AsDuration() != 30*time.Second || m.GetHandleTime().AsDuration() != 2*time.Minute+10*time.Second {
		t.Fatalf("derived metrics of first push: %v", m)
	}
	again, err := c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: first})
	if err != nil || again.GetStatus() != qav1.ItemStatus_ITEM_STATUS_UNCHANGED {
		t.Fatalf("repeat push: %v %v, want UNCHANGED", again.GetStatus(), err)
	}
	// Tags in another order are the same content.
	reordered := chat("idem-1", "a1", 2)
	reordered.Tags = []string{"refund", "refund"}
	if r, err := c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: reordered}); err != nil || r.GetStatus() != qav1.ItemStatus_ITEM_STATUS_UNCHANGED {
		t.Fatalf("repeat push with duplicated tag: %v %v, want UNCHANGED", r.GetStatus(), err)
	}
	changed := chat("idem-1", "a1", 3)
	upd, err := c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: changed})
	if err != nil || upd.GetStatus() != qav1.ItemStatus_ITEM_STATUS_UPDATED {
		t.Fatalf("changed push: %v %v, want UPDATED", upd.GetStatus(), err)
	}
	if got := stored(); got.GetRevision() != 2 || got.GetMetrics().GetMessageCount() != 6 {
		t.Fatalf("after update: revision %d, %d messages; want 2 and 6", got.GetRevision(), got.GetMetrics().GetMessageCount())
	}
	assertSameTranscript(t, changed, stored())
}

// TestIngestNeverReadsContentBack: pushing changed content under an id a
// sampling run already picked answers KEPT_SAMPLED and nothing of the
// stored (picked) version: not its messages, customer id or attributes,
// through neither PushTranscript nor PushTranscripts. The ingest role
// writes; only the admin reads transcripts (issue 8, defect 4).
func TestIngestNeverReadsContentBack(t *testing.T) {
	w := newWorld(t, backends(t)[0].dsn, defaultOrg)
	w.setupGRPC()
	const week = "2026-W10"
	w.pushWeek(week, 4)
	picks := w.runWeek(week)
	if len(picks) < 2 {
		t.Fatalf("%d picks; want at least 2 sampled transcripts", len(picks))
	}
	stored := make(map[string]*qav1.Transcript)
	for _, tr := range w.weekChats(week, 4) {
		stored[tr.GetExternalId()] = tr
	}
	// changed keeps the id and agent and replaces every piece of content.
	changed := func(id string) *qav1.Transcript {
		tr := proto.Clone(stored[id]).(*qav1.Transcript)
		tr.CustomerId, tr.Attributes, tr.Tags = "someone-else", map[string]string{"shop": "outlet"}, []string{"changed"}
		for _, m := range tr.GetMessages() {
			m.Text = "rewritten"
		}
		return tr
	}
	// leaks names what of the stored version the response's bytes hold.
	leaks := func(resp proto.Message, id string) []string {
		b, err := proto.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		orig := stored[id]
		secrets := []string{orig.GetCustomerId(), "flagship"}
		for _, m := range orig.GetMessages() {
			secrets = append(secrets, m.GetText())
		}
		var out []string
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				out = append(out, fmt.Sprintf("%.40q", s))
			}
		}
		return out
	}

	ingest := w.as("bridge")
	unary := picks[0].GetExternalId()
	resp, err := w.c.ingest.PushTranscript(ingest, &qav1.PushTranscriptRequest{Transcript: changed(unary)})
	if err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED || resp.GetExternalId() != unary {
		t.Fatalf("PushTranscript of changed %s: %v %v; want KEPT_SAMPLED naming it", unary, resp, err)
	}
	if l := leaks(resp, unary); len(l) > 0 {
		t.Errorf("PushTranscript's answer holds the stored version's %v", l)
	}

	streamed := picks[1].GetExternalId()
	stream, err := w.c.ingest.PushTranscripts(ingest)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&qav1.PushTranscriptsRequest{Transcripts: []*qav1.Transcript{changed(streamed)}}); err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	got, err := stream.Recv()
	if err != nil || len(got.GetResults()) != 1 || got.GetResults()[0].GetStatus() != qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED {
		t.Fatalf("PushTranscripts of changed %s: %v %v; want one KEPT_SAMPLED", streamed, got, err)
	}
	if l := leaks(got, streamed); len(l) > 0 {
		t.Errorf("PushTranscripts' answer holds the stored version's %v", l)
	}

	// The picked version is what the admin reads.
	for _, id := range []string{unary, streamed} {
		back, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: id})
		if err != nil {
			t.Fatal(err)
		}
		if back.GetTranscript().GetCustomerId() != stored[id].GetCustomerId() || !back.GetTranscript().GetSampled() {
			t.Errorf("%s after the pushes: customer %q sampled %v; want the picked version kept", id,
				back.GetTranscript().GetCustomerId(), back.GetTranscript().GetSampled())
		}
	}
}
