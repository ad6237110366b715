package e2e

import (
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestHandedOverChatCountsForItsWriterOnly pushes a chat whose owner wrote
// nothing (a second agent answered every message) to a real qad, runs the
// week through qactl and finds the chat picked for the writer only (SPEC
// §4, Transfers); GetTranscript keeps the owner and each message's author.
func TestHandedOverChatCountsForItsWriterOnly(t *testing.T) {
	const week = "2026-W45"
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.dsn, []orgAgent{{"owner", "team-a", "sup-a"}, {"writer", "team-a", "sup-a"}})
			w.setupGRPC()
			wed := weekMonday(t, week).AddDate(0, 0, 2).Add(2 * time.Hour)
			handed := chatAt("handed-over", "owner", wed, 2)
			for _, m := range handed.GetMessages() {
				if m.GetRole() == qav1.Role_ROLE_AGENT {
					m.AgentId = "writer"
				}
			}
			handed.TransferCount = 1
			resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: handed})
			if err != nil || resp.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
				t.Fatalf("push: %v %v", resp, err)
			}
			w.qactlOK("qa-lead", "sample", "run", "--week", week)
			picks := w.picks(week)
			if len(picks) != 1 || picks[0].GetAgentId() != "writer" || picks[0].GetExternalId() != "handed-over" {
				t.Fatalf("picks %v; want one, of handed-over for writer (not for owner, who wrote nothing)", picks)
			}
			got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: "handed-over"})
			if err != nil || got.GetTranscript().GetAgentId() != "owner" || got.GetTranscript().GetMessages()[1].GetAgentId() != "writer" {
				t.Errorf("GetTranscript: %v, %v", got, err)
			}
		})
	}
}
