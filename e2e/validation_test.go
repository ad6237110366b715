package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// Against the real qad: a rejected value comes back as a short prefix, and
// a present zero time is judged as a time. Before, the week, grade and
// time zone came back whole, and 0001-01-01T00:00:00Z was "required".
func TestRejectionsStayShort(t *testing.T) {
	// Validation does not depend on the backend: SQLite only.
	srv := startServer(t, filepath.Join(t.TempDir(), "qa.db"), "--sample-schedule", "off")
	c := srv.clients()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := withToken(ctx, srv.token("admin", "qa-lead"))
	ingest := withToken(ctx, srv.token("ingest", "bridge"))
	// Non-ingest calls get a value far above any message bound that still
	// fits their receive limit; ingest calls take megabytes by design.
	huge := strings.Repeat("9", 60_000)
	hugeIngest := strings.Repeat("x", 3<<20)

	short := func(t *testing.T, err error, field string) {
		t.Helper()
		st := status.Convert(err)
		if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), field+": ") || len(st.Message()) > 300 {
			t.Fatalf("got %s %.300q (%d bytes); want a short INVALID_ARGUMENT on %s", st.Code(), st.Message(), len(st.Message()), field)
		}
	}
	_, err := c.feedback.ListFeedback(admin, &qav1.ListFeedbackRequest{Week: huge})
	short(t, err, "week")
	_, err = c.feedback.ListFeedback(admin, &qav1.ListFeedbackRequest{Grade: huge})
	short(t, err, "grade")
	_, err = c.sampling.UpdatePolicy(admin, &qav1.UpdatePolicyRequest{Policy: &qav1.Policy{
		RandomPerAgent: 3, TargetedPerAgent: 2, TimeZone: huge, HandleTimePercentile: 0.9}})
	short(t, err, "policy.time_zone")

	agents, err := c.ingest.UpsertAgents(ingest, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1", Name: hugeIngest}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := agents.GetResults()[0]; r.GetStatus() != qav1.ItemStatus_ITEM_STATUS_REJECTED || r.GetField() != "name" || len(r.GetReason()) > 100 {
		t.Fatalf("3 MB agent name: %v %s %.200s", r.GetStatus(), r.GetField(), r.GetReason())
	}
	if _, err := c.ingest.UpsertAgents(ingest, &qav1.UpsertAgentsRequest{Agents: agentsFor("a1")}); err != nil {
		t.Fatal(err)
	}
	tr := chat("c-1", "a1", 1)
	tr.StartedAt = timestamppb.New(time.Time{})
	_, err = c.ingest.PushTranscript(ingest, &qav1.PushTranscriptRequest{Transcript: tr})
	short(t, err, "transcript.started_at")
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "0001-01-01T00:00:00Z is before 2000-01-01") {
		t.Errorf("zero started_at: %s", msg)
	}
}
