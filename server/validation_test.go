package server

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// Sizes of the bad values below. Ingest calls carry megabytes by design;
// the others get a value far above any message bound but within what a
// per-method receive limit lets through.
const (
	hugeIngestValue = 3 << 20
	hugeValue       = 60_000
	// maxStatusBytes bounds what a rejection may send back, message and
	// BadRequest together: a few fields and short quoted prefixes.
	maxStatusBytes = 2048
)

// wantShortInvalid checks that err is INVALID_ARGUMENT, that its first
// violation is field, and that the status stays small whatever was sent.
func wantShortInvalid(t *testing.T, err error, field string) {
	t.Helper()
	wantField(t, err, field)
	st := status.Convert(err)
	size := len(st.Message())
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				size += len(v.GetField()) + len(v.GetDescription())
			}
		}
	}
	if size > maxStatusBytes {
		t.Fatalf("status of %d bytes for a rejected %s: %.200s…", size, field, st.Message())
	}
}

// Before, each of these quoted the whole bad value back: a 3 MB value came
// back in the status, and a 20 MB one broke the HTTP/2 connection.
func TestRejectionsQuoteAShortPrefix(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	huge := strings.Repeat("x", hugeValue)
	sampling := qav1.NewSamplingServiceClient(e.conn)
	policy := func(edit func(*qav1.Policy)) *qav1.Policy {
		p := &qav1.Policy{RandomPerAgent: 3, TargetedPerAgent: 2, NewHireDays: 90, NewHireExtra: 2,
			Rules: []string{"complaint"}, TimeZone: "Asia/Shanghai", HandleTimePercentile: 0.9}
		edit(p)
		return p
	}
	rubric := func(edit func(*qav1.Rubric)) *qav1.Rubric {
		r, err := e.rubrics.GetRubric(e.admin, &qav1.GetRubricRequest{})
		if err != nil {
			t.Fatal(err)
		}
		edit(r.GetRubric())
		return r.GetRubric()
	}
	item, inspector := e.itemOf(t, "agent-a")
	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"feedback week", func() error {
			_, err := e.feedback.ListFeedback(e.supA, &qav1.ListFeedbackRequest{Week: huge})
			return err
		}, "week"},
		{"feedback grade", func() error {
			_, err := e.feedback.ListFeedback(e.supA, &qav1.ListFeedbackRequest{Grade: huge})
			return err
		}, "grade"},
		{"dispute status", func() error {
			_, err := e.feedback.ListDisputes(e.supA, &qav1.ListDisputesRequest{Status: huge})
			return err
		}, "status"},
		{"report last_week", func() error {
			_, err := e.reports.GetTeamReport(e.admin, &qav1.GetTeamReportRequest{TeamId: "team-1", LastWeek: huge})
			return err
		}, "last_week"},
		{"report agent", func() error {
			_, err := e.reports.GetAgentReport(e.admin, &qav1.GetAgentReportRequest{AgentId: huge})
			if status.Code(err) == codes.NotFound && len(status.Convert(err).Message()) < maxStatusBytes {
				return nil
			}
			return err
		}, ""},
		{"picks week", func() error {
			_, err := sampling.ListPicks(e.admin, &qav1.ListPicksRequest{Week: huge})
			return err
		}, "week"},
		{"policy time zone", func() error {
			_, err := sampling.UpdatePolicy(e.admin, &qav1.UpdatePolicyRequest{Policy: policy(func(p *qav1.Policy) { p.TimeZone = huge })})
			return err
		}, "policy.time_zone"},
		{"policy rule", func() error {
			_, err := sampling.ValidatePolicy(e.admin, &qav1.ValidatePolicyRequest{Policy: policy(func(p *qav1.Policy) { p.Rules = []string{huge} })})
			return err
		}, "policy.rules[0]"},
		{"policy check rule", func() error {
			_, err := sampling.ValidatePolicy(e.admin, &qav1.ValidatePolicyRequest{Policy: policy(func(p *qav1.Policy) { p.Rules = []string{"check:" + huge} })})
			return err
		}, "policy.rules[0]"},
		{"rubric key", func() error {
			_, err := e.rubrics.ValidateRubric(e.admin, &qav1.ValidateRubricRequest{Rubric: rubric(func(r *qav1.Rubric) { r.Dimensions[0].Key = huge })})
			return err
		}, "rubric.dimensions[0].key"},
		{"rubric flag key", func() error {
			_, err := e.rubrics.CreateRubric(e.admin, &qav1.CreateRubricRequest{Rubric: rubric(func(r *qav1.Rubric) { r.Flags[0].Key = huge })})
			return err
		}, "rubric.flags[0].key"},
		{"rating key", func() error {
			_, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Final: true,
				Ratings: append(fullRatings(), rating(huge, 1))})
			return err
		}, "ratings"},
		{"flag key", func() error {
			_, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Final: true,
				Ratings: fullRatings(), Flags: []string{huge}})
			return err
		}, "flags"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantShortInvalid(t, err, tc.field)
		})
	}
}

// Before, every one of these stores took megabytes, NUL and newlines.
func TestStoredTextIsBounded(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	ingest := qav1.NewIngestServiceClient(e.conn)
	sampling := qav1.NewSamplingServiceClient(e.conn)
	ingestCtx := e.as(store.RoleIngest, "platform")
	hugeIngest := strings.Repeat("x", hugeIngestValue)
	huge := strings.Repeat("x", hugeValue)

	agent := func(edit func(*qav1.Agent)) *qav1.Agent {
		a := &qav1.Agent{AgentId: "agent-z", Name: "Z", TeamId: "team-1", SupervisorId: "sup-a"}
		edit(a)
		return a
	}
	resp, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		agent(func(a *qav1.Agent) { a.Name = hugeIngest }),
		agent(func(a *qav1.Agent) { a.Name = "Ann\nINFO forged log line" }),
		agent(func(a *qav1.Agent) { a.TeamId = hugeIngest }),
		agent(func(a *qav1.Agent) { a.SupervisorId = "sup\x00" }),
		agent(func(a *qav1.Agent) { a.HiredOn = hugeIngest }),
		agent(func(a *qav1.Agent) { a.Name = strings.Repeat("周", 200) }), // at the limit: stored
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i, field := range []string{"name", "name", "team_id", "supervisor_id", "hired_on", ""} {
		r := resp.GetResults()[i]
		rejected := r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED
		if rejected != (field != "") || r.GetField() != field || len(r.GetReason()) > 200 {
			t.Errorf("agents[%d]: %v %s %.200s; want field %q", i, r.GetStatus(), r.GetField(), r.GetReason(), field)
		}
	}

	_, err = sampling.UpsertInspector(e.admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: "insp-9", Name: huge}})
	wantShortInvalid(t, err, "inspector.name")
	_, err = sampling.UpsertInspector(e.admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: "insp-9", Name: "A\x00"}})
	wantShortInvalid(t, err, "inspector.name")
	_, err = sampling.UpsertInspector(e.admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: "insp\n9"}})
	wantShortInvalid(t, err, "inspector.id")

	// Skip reason: short prose.
	skipItem, skipCtx := e.itemOf(t, "agent-b")
	_, err = e.review.SkipItem(skipCtx, &qav1.SkipItemRequest{Id: skipItem.GetId(), Reason: huge})
	wantShortInvalid(t, err, "reason")
	_, err = e.review.SkipItem(skipCtx, &qav1.SkipItemRequest{Id: skipItem.GetId(), Reason: "spam\x00"})
	wantShortInvalid(t, err, "reason")

	// Review text: every problem at once, newlines allowed in prose.
	item, inspector := e.itemOf(t, "agent-a")
	_, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Final: true, Ratings: fullRatings(),
		Comment: huge, Strengths: []string{"ok", "a\x00b"}, Suggestions: []string{huge}})
	wantShortInvalid(t, err, "comment")
	if br := badRequest(err); len(br) != 3 || br[1] != "strengths[1]" || br[2] != "suggestions[0]" {
		t.Errorf("violations %q; want comment, strengths[1], suggestions[0]", br)
	}
	// With the ratings' problems too: before, only the first was reported.
	_, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Final: true,
		Ratings: []*qav1.DimensionRating{rating("attitude", 9)}, Comment: "a\x00"})
	if br := badRequest(err); len(br) != 6 || br[0] != "comment" || br[1] != "ratings[attitude]" || br[2] != "ratings[knowledge]" {
		t.Errorf("violations %q; want comment, ratings[attitude] and the four unrated dimensions", br)
	}
	if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Final: true, Ratings: fullRatings(),
		Comment: "Greeted well.\nMissed the refund step."}); err != nil {
		t.Fatal(err)
	}

	recs, err := e.feedback.ListFeedback(e.supA, &qav1.ListFeedbackRequest{})
	if err != nil || len(recs.GetRecords()) == 0 {
		t.Fatalf("feedback: %v, %v", recs, err)
	}
	rec := recs.GetRecords()[0]
	_, err = e.feedback.AcknowledgeFeedback(e.supA, &qav1.AcknowledgeFeedbackRequest{Id: rec.GetId(), Note: "coached\x00"})
	wantShortInvalid(t, err, "note")
	_, err = e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: rec.GetReview().GetId(), Reason: huge})
	wantShortInvalid(t, err, "reason")
	_, err = e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: rec.GetReview().GetId(), Reason: "wrong\x00"})
	wantShortInvalid(t, err, "reason")
}

// badRequest lists the fields of err's BadRequest violations.
func badRequest(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// Before, a present 0001-01-01T00:00:00Z was "required" and a chat from
// year 1 to 9999 was stored with a saturated handle time.
func TestPushedTimesMustBePlausible(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return now }
	env := startEnv(t, cfg)
	ingest := qav1.NewIngestServiceClient(env.conn)
	ctx := env.as(store.RoleIngest, "platform")
	if _, err := ingest.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "agent-a"}}}); err != nil {
		t.Fatal(err)
	}
	push := func(edit func(*qav1.Transcript)) error {
		tr := testChat("c-1", "agent-a", now.Add(-time.Hour))
		edit(tr)
		_, err := ingest.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: tr})
		return err
	}
	year := func(y int) *timestamppb.Timestamp { return timestamppb.New(time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)) }
	for _, tc := range []struct {
		name   string
		edit   func(*qav1.Transcript)
		field  string
		reason string
	}{
		{"zero started_at", func(tr *qav1.Transcript) { tr.StartedAt = year(1) },
			"transcript.started_at", "0001-01-01T00:00:00Z is before 2000-01-01T00:00:00Z"},
		{"missing started_at", func(tr *qav1.Transcript) { tr.StartedAt = nil }, "transcript.started_at", "required"},
		{"year 1 to 9999", func(tr *qav1.Transcript) {
			tr.StartedAt, tr.EndedAt = timestamppb.New(time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)), year(9999)
			tr.Messages[0].SentAt, tr.Messages[1].SentAt = tr.StartedAt, tr.StartedAt
		}, "transcript.started_at", "is before 2000-01-01"},
		{"ended in 9999", func(tr *qav1.Transcript) { tr.EndedAt = year(9999) }, "transcript.ended_at", "9999-01-01T00:00:00Z is in the future"},
		{"zero sent_at", func(tr *qav1.Transcript) { tr.Messages[1].SentAt = year(1) }, "transcript.messages[1].sent_at", "before 2000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := push(tc.edit)
			wantShortInvalid(t, err, tc.field)
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tc.reason) {
				t.Errorf("message %q does not say %q", msg, tc.reason)
			}
		})
	}
	if err := push(func(*qav1.Transcript) {}); err != nil {
		t.Fatalf("a chat of an hour ago: %v", err)
	}
}

// A token's subject is an id: before, any bytes were stored and then
// written into every audit row of its calls.
func TestTokenSubjectFollowsTheIDRules(t *testing.T) {
	for _, subject := range []string{"", "sup\n1", strings.Repeat("s", 257), "a\x00"} {
		if _, _, err := NewToken(store.RoleSupervisor, subject, time.Now()); err == nil || !strings.HasPrefix(err.Error(), "subject: ") {
			t.Errorf("NewToken(%.20q) = %v; want a subject error", subject, err)
		}
	}
	if _, _, err := NewToken(store.RoleSupervisor, "sup-1", time.Now()); err != nil {
		t.Fatal(err)
	}
}
