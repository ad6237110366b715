package server

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// flowWeek is the sampled week of these tests; its chats end on Tuesday.
const flowWeek = "2026-W46"

var flowChatStart = time.Date(2026, 11, 10, 10, 0, 0, 0, time.UTC)

// scoringEnv is a server with one sampled week: agent-a (supervisor
// sup-a) and agent-b (sup-b), three chats each, inspectors insp-1..3.
type scoringEnv struct {
	*testEnv
	admin, supA, supB context.Context
	inspectors        map[string]context.Context
	review            qav1.ReviewServiceClient
	feedback          qav1.FeedbackServiceClient
	reports           qav1.ReportServiceClient
	rubrics           qav1.RubricServiceClient
}

func startScoring(t *testing.T, cfg Config) *scoringEnv {
	t.Helper()
	env := startEnv(t, cfg)
	e := &scoringEnv{
		testEnv: env, admin: env.as(store.RoleAdmin, "lead"),
		supA: env.as(store.RoleSupervisor, "sup-a"), supB: env.as(store.RoleSupervisor, "sup-b"),
		inspectors: map[string]context.Context{},
		review:     qav1.NewReviewServiceClient(env.conn), feedback: qav1.NewFeedbackServiceClient(env.conn),
		reports: qav1.NewReportServiceClient(env.conn), rubrics: qav1.NewRubricServiceClient(env.conn),
	}
	ingest := qav1.NewIngestServiceClient(env.conn)
	ingestCtx := env.as(store.RoleIngest, "platform")
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		{AgentId: "agent-a", Name: "A", TeamId: "team-1", SupervisorId: "sup-a", HiredOn: "2020-01-01"},
		{AgentId: "agent-b", Name: "B", TeamId: "team-1", SupervisorId: "sup-b", HiredOn: "2020-01-01"},
	}}); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"a1", "a2", "a3", "b1", "b2", "b3"} {
		agent := "agent-a"
		if id[0] == 'b' {
			agent = "agent-b"
		}
		if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: testChat(id, agent, flowChatStart.Add(time.Duration(i)*time.Hour))}); err != nil {
			t.Fatal(err)
		}
	}
	// The start-up warm-up of team reports may have counted the checks
	// while the chats above were pushed, and counts are kept a minute
	// (checkRateTTL): drop them, so reports count every chat.
	env.srv.reports.checks.forget()
	sampling := qav1.NewSamplingServiceClient(env.conn)
	for _, id := range []string{"insp-1", "insp-2", "insp-3"} {
		if _, err := sampling.UpsertInspector(e.admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id, Name: id}}); err != nil {
			t.Fatal(err)
		}
		e.inspectors[id] = env.as(store.RoleInspector, id)
	}
	if _, err := sampling.RunWeek(e.admin, &qav1.RunWeekRequest{Week: flowWeek}); err != nil {
		t.Fatal(err)
	}
	return e
}

// itemOf finds agentID's first item and the context of its inspector.
func (e *scoringEnv) itemOf(t *testing.T, agentID string) (*qav1.Pick, context.Context) {
	t.Helper()
	for _, ctx := range e.inspectors {
		q, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range q.GetItems() {
			if it.GetAgentId() == agentID {
				return it, ctx
			}
		}
	}
	t.Fatalf("no queued item of %s", agentID)
	return nil, nil
}

func rating(key string, value int32) *qav1.DimensionRating {
	return &qav1.DimensionRating{Key: key, Value: value}
}

// fullRatings rates every default dimension; communication is N/A.
func fullRatings() []*qav1.DimensionRating {
	return []*qav1.DimensionRating{
		rating("attitude", 4), rating("knowledge", 5), rating("efficiency", 3),
		{Key: "communication", Na: true}, rating("compliance", 5),
	}
}

// fullRatingsScore is SPEC §5 by hand: N/A communication leaves the sum,
// 100 × (25·4/5 + 20·5/5 + 20·3/5 + 15·5/5) ÷ (25+20+20+15) = 6700/80.
const fullRatingsScore = 83.75

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

// wantField checks that err is INVALID_ARGUMENT naming field in its
// BadRequest detail (invalidArgument).
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			if got := br.GetFieldViolations()[0].GetField(); got != field {
				t.Fatalf("%v names field %q, want %q", err, got, field)
			}
			return
		}
	}
	t.Fatalf("%v has no BadRequest detail naming %q", err, field)
}

func TestReviewToFeedbackToDispute(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	item, inspector := e.itemOf(t, "agent-a")

	// A supervisor's stream, open before the review exists.
	watchCtx, stopWatch := context.WithCancel(e.supA)
	defer stopWatch()
	stream, err := e.feedback.WatchFeedback(watchCtx, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	// sup-b's stream must never see agent-a's record.
	watchB, stopB := context.WithCancel(e.supB)
	defer stopB()
	streamB, err := e.feedback.WatchFeedback(watchB, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	// Headers arrive once each stream has fixed its from_now cursor.
	for _, s := range []qav1.FeedbackService_WatchFeedbackClient{stream, streamB} {
		if _, err := s.Header(); err != nil {
			t.Fatal(err)
		}
	}

	opened, err := e.review.OpenItem(inspector, &qav1.OpenItemRequest{Id: item.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if opened.GetTranscript().GetExternalId() != item.GetExternalId() || opened.GetTranscript().GetMetrics() == nil {
		t.Fatalf("open: transcript %v", opened.GetTranscript())
	}
	if got := len(opened.GetRubric().GetDimensions()); got != 5 || opened.GetRubric().GetVersion() != 1 {
		t.Fatalf("open: rubric version %d with %d dimensions, want the default", opened.GetRubric().GetVersion(), got)
	}

	// No other inspector can open it.
	for id, ctx := range e.inspectors {
		if id != item.GetInspectorId() {
			_, err := e.review.OpenItem(ctx, &qav1.OpenItemRequest{Id: item.GetId()})
			wantCode(t, err, codes.NotFound)
		}
	}

	draft, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: []*qav1.DimensionRating{rating("attitude", 4)}})
	if err != nil {
		t.Fatal(err)
	}
	if draft.GetReview().GetStatus() != "draft" || draft.GetReview().GetScore() != 0 || draft.GetFeedback() != nil {
		t.Fatalf("draft: %v", draft)
	}
	// Finalising with dimensions unrated names the first of them.
	_, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: []*qav1.DimensionRating{rating("attitude", 4)}, Final: true})
	wantField(t, err, "ratings[knowledge]")
	// Out of range, also in a draft.
	_, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: []*qav1.DimensionRating{rating("attitude", 6)}})
	wantField(t, err, "ratings[attitude]")

	final, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{
		ItemId: item.GetId(), Ratings: fullRatings(), Comment: "clear answer", Strengths: []string{"polite"},
		Suggestions: []string{"confirm the delivery date"}, Final: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	rv := final.GetReview()
	if rv.GetStatus() != "final" || math.Abs(rv.GetScore()-fullRatingsScore) > 1e-9 || rv.GetGrade() != "good" || rv.GetScoreText() != "83.75" {
		t.Fatalf("final: %v", rv)
	}
	if rv.GetId() != draft.GetReview().GetId() {
		t.Fatalf("final review %d is not the draft %d", rv.GetId(), draft.GetReview().GetId())
	}

	got, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	rec := got.GetRecord()
	if rec.GetReview().GetId() != rv.GetId() || rec.GetAgentId() != "agent-a" || rec.GetGrade() != "good" ||
		rec.GetCoachingRequired() || rec.GetShareAsExample() || rec.GetSupervisorId() != "sup-a" {
		t.Fatalf("streamed record: %v", rec)
	}

	// Finalised means final.
	_, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	wantCode(t, err, codes.FailedPrecondition)
	// The rubric version is now in use.
	rubric, err := e.rubrics.GetRubric(e.admin, &qav1.GetRubricRequest{Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !rubric.GetRubric().GetLocked() {
		t.Fatal("rubric version 1 is used by a review but not locked")
	}
	_, err = e.rubrics.UpdateRubric(e.admin, &qav1.UpdateRubricRequest{Rubric: rubric.GetRubric()})
	wantCode(t, err, codes.FailedPrecondition)

	// sup-b sees none of it.
	_, err = e.feedback.AcknowledgeFeedback(e.supB, &qav1.AcknowledgeFeedbackRequest{Id: rec.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = e.review.GetReview(e.supB, &qav1.GetReviewRequest{Id: rv.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = e.feedback.OpenDispute(e.supB, &qav1.OpenDisputeRequest{ReviewId: rv.GetId(), Reason: "no"})
	wantCode(t, err, codes.NotFound)
	listB, err := e.feedback.ListFeedback(e.supB, &qav1.ListFeedbackRequest{})
	if err != nil || len(listB.GetRecords()) != 0 {
		t.Fatalf("sup-b lists %v, %v", listB.GetRecords(), err)
	}
	_, err = e.reports.GetAgentReport(e.supB, &qav1.GetAgentReportRequest{AgentId: "agent-a", LastWeek: flowWeek})
	wantCode(t, err, codes.NotFound)

	acked, err := e.feedback.AcknowledgeFeedback(e.supA, &qav1.AcknowledgeFeedbackRequest{Id: rec.GetId(), Note: "talked it through"})
	if err != nil {
		t.Fatal(err)
	}
	if acked.GetRecord().GetAcknowledgedAt() == nil || acked.GetRecord().GetCoachingNote() != "talked it through" {
		t.Fatalf("ack: %v", acked.GetRecord())
	}
	unacked, err := e.feedback.ListFeedback(e.supA, &qav1.ListFeedbackRequest{Unacknowledged: true})
	if err != nil || len(unacked.GetRecords()) != 0 {
		t.Fatalf("unacknowledged after ack: %v, %v", unacked.GetRecords(), err)
	}

	// Dispute: re-scored by another inspector.
	d, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: rv.GetId(), Reason: "the customer asked for the date twice"})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetDispute().GetAssigneeId() == rv.GetInspectorId() || d.GetDispute().GetAssigneeId() == "" {
		t.Fatalf("dispute assigned to %q; the review was by %q", d.GetDispute().GetAssigneeId(), rv.GetInspectorId())
	}
	_, err = e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: rv.GetId(), Reason: "again"})
	wantCode(t, err, codes.AlreadyExists)

	assignee := e.inspectors[d.GetDispute().GetAssigneeId()]
	// The disputed item is in the assignee's queue.
	q, err := e.review.ListQueue(assignee, &qav1.ListQueueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(q.GetItems(), func(p *qav1.Pick) bool { return p.GetId() == item.GetId() && p.GetStatus() == "disputed" }) {
		t.Fatalf("assignee's queue %v lacks disputed item %d", q.GetItems(), item.GetId())
	}
	reopened, err := e.review.OpenItem(assignee, &qav1.OpenItemRequest{Id: item.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if reopened.GetDispute().GetId() != d.GetDispute().GetId() || reopened.GetDisputedReview().GetId() != rv.GetId() {
		t.Fatalf("disputed item shows %v / %v", reopened.GetDispute(), reopened.GetDisputedReview())
	}
	// The first inspector can no longer touch it.
	_, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	wantCode(t, err, codes.NotFound)

	all5 := []*qav1.DimensionRating{rating("attitude", 5), rating("knowledge", 5), rating("efficiency", 5), rating("communication", 5), rating("compliance", 4)}
	rescored, err := e.review.SubmitReview(assignee, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: all5, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	// 100 × (25+20+20+20 + 15·4/5) ÷ 100 = 97.
	if nr := rescored.GetReview(); math.Abs(nr.GetScore()-97) > 1e-9 || nr.GetGrade() != "excellent" || nr.GetSupersedesId() != rv.GetId() {
		t.Fatalf("re-scored review: %v", nr)
	}
	if f := rescored.GetFeedback(); f.GetSupersedesId() != rec.GetId() || !f.GetShareAsExample() {
		t.Fatalf("re-scored feedback: %v", f)
	}
	next, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if next.GetRecord().GetId() != rescored.GetFeedback().GetId() {
		t.Fatalf("stream sent %d, want the re-scored record %d", next.GetRecord().GetId(), rescored.GetFeedback().GetId())
	}
	old, err := e.review.GetReview(e.admin, &qav1.GetReviewRequest{Id: rv.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if old.GetReview().GetStatus() != "retracted" || old.GetReview().GetSupersededById() != rescored.GetReview().GetId() {
		t.Fatalf("old review after dispute: %v", old.GetReview())
	}
	// Retracted reviews are left out of reports.
	rep, err := e.reports.GetAgentReport(e.supA, &qav1.GetAgentReportRequest{AgentId: "agent-a", LastWeek: flowWeek, Weeks: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.GetReport().GetSummary(); s.GetReviews() != 1 || math.Abs(s.GetMean()-97) > 1e-9 {
		t.Fatalf("report after dispute: %v", s)
	}

	// Nothing of agent-a's reached sup-b's stream: a record of agent-b's
	// arrives first.
	itemB, inspectorB := e.itemOf(t, "agent-b")
	if _, err := e.review.SubmitReview(inspectorB, &qav1.SubmitReviewRequest{ItemId: itemB.GetId(), Ratings: all5, Final: true}); err != nil {
		t.Fatal(err)
	}
	gotB, err := streamB.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if gotB.GetRecord().GetAgentId() != "agent-b" {
		t.Fatalf("sup-b's stream sent a record of %s", gotB.GetRecord().GetAgentId())
	}
}

// TestWatchResumesFromCursor: a stream opened with the id of a record
// already seen sends everything after it, then follows new ones.
func TestWatchResumesFromCursor(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	var ids []int64
	for _, agent := range []string{"agent-a", "agent-a"} {
		item, ctx := e.itemOf(t, agent)
		resp, err := e.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetFeedback().GetId())
	}
	ctx, cancel := context.WithCancel(e.supA)
	defer cancel()
	stream, err := e.feedback.WatchFeedback(ctx, &qav1.WatchFeedbackRequest{AfterId: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	got, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRecord().GetId() != ids[1] {
		t.Fatalf("resumed after %d and got %d, want %d", ids[0], got.GetRecord().GetId(), ids[1])
	}
	item, insp := e.itemOf(t, "agent-a")
	resp, err := e.review.SubmitReview(insp, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRecord().GetId() != resp.GetFeedback().GetId() {
		t.Fatalf("live record %d, want %d", got.GetRecord().GetId(), resp.GetFeedback().GetId())
	}
}

// TestWatchHeaderNamesTheStartingCursor: from_now resolves to the newest
// record id at connect, and the header says which, so that a client can
// resume there after an abrupt drop instead of at a later "now".
func TestWatchHeaderNamesTheStartingCursor(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	item, insp := e.itemOf(t, "agent-a")
	resp, err := e.review.SubmitReview(insp, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  *qav1.WatchFeedbackRequest
		want string
	}{
		{&qav1.WatchFeedbackRequest{FromNow: true}, strconv.FormatInt(resp.GetFeedback().GetId(), 10)},
		{&qav1.WatchFeedbackRequest{AfterId: 0}, "0"},
		{&qav1.WatchFeedbackRequest{AfterId: 41}, "41"},
	} {
		ctx, cancel := context.WithCancel(e.supA)
		stream, err := e.feedback.WatchFeedback(ctx, tc.req)
		if err != nil {
			t.Fatal(err)
		}
		md, err := stream.Header()
		if err != nil {
			t.Fatal(err)
		}
		if got := md.Get(watchCursorHeader); len(got) != 1 || got[0] != tc.want {
			t.Errorf("WatchFeedback(%v) header %s = %v, want %s", tc.req, watchCursorHeader, got, tc.want)
		}
		cancel()
	}
}

// TestShutdownEndsFeedbackStreams: graceful shutdown must not wait for
// subscribers, who never hang up on their own.
func TestShutdownEndsFeedbackStreams(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	stream, err := e.feedback.WatchFeedback(e.supA, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	// The stream is established once the server has sent headers.
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan struct{})
	go func() { e.srv.Shutdown(ctx); close(done) }()
	_, err = stream.Recv()
	wantCode(t, err, codes.Unavailable)
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("shutdown waited for the feedback stream")
	}
}

// TestRubricVersions: an admin's new version names bad fields, becomes
// active on request, and new reviews are scored against it while a draft
// keeps the version it started on.
func TestRubricVersions(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	def, err := e.rubrics.GetRubric(e.admin, &qav1.GetRubricRequest{})
	if err != nil {
		t.Fatal(err)
	}
	bad := proto.Clone(def.GetRubric()).(*qav1.Rubric)
	bad.Dimensions[0].Weight = 30 // weights now sum to 105
	_, err = e.rubrics.CreateRubric(e.admin, &qav1.CreateRubricRequest{Rubric: bad})
	wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(status.Convert(err).Message(), "weight") {
		t.Fatalf("error does not name the weights: %v", err)
	}

	// A draft on version 1, before version 2 exists.
	itemA, inspA := e.itemOf(t, "agent-a")
	if _, err := e.review.SubmitReview(inspA, &qav1.SubmitReviewRequest{ItemId: itemA.GetId(), Ratings: []*qav1.DimensionRating{rating("attitude", 5)}}); err != nil {
		t.Fatal(err)
	}

	// Version 2: attitude out of 10, no N/A on compliance.
	v2 := proto.Clone(def.GetRubric()).(*qav1.Rubric)
	v2.Name = "ten-point attitude"
	v2.Dimensions[0].Max = 10
	v2.Dimensions[4].AllowNa = false
	created, err := e.rubrics.CreateRubric(e.admin, &qav1.CreateRubricRequest{Rubric: v2, Activate: true})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetRubric().GetVersion() != 2 || !created.GetRubric().GetActive() {
		t.Fatalf("created %v", created.GetRubric())
	}
	itemB, inspB := e.itemOf(t, "agent-b")
	_, err = e.review.SubmitReview(inspB, &qav1.SubmitReviewRequest{ItemId: itemB.GetId(), Ratings: []*qav1.DimensionRating{
		rating("attitude", 8), rating("knowledge", 5), rating("efficiency", 5), rating("communication", 5), {Key: "compliance", Na: true},
	}, Final: true})
	wantCode(t, err, codes.InvalidArgument) // compliance may not be N/A in version 2
	resp, err := e.review.SubmitReview(inspB, &qav1.SubmitReviewRequest{ItemId: itemB.GetId(), Ratings: []*qav1.DimensionRating{
		rating("attitude", 8), rating("knowledge", 5), rating("efficiency", 5), rating("communication", 5), rating("compliance", 5),
	}, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	// 100 × (25·8/10 + 20 + 20 + 20 + 15) ÷ 100 = 95.
	if rv := resp.GetReview(); rv.GetRubricVersion() != 2 || math.Abs(rv.GetScore()-95) > 1e-9 {
		t.Fatalf("review on version 2: %v", rv)
	}
	// The version-1 draft finalises on version 1, where attitude is out of 5.
	resp, err = e.review.SubmitReview(inspA, &qav1.SubmitReviewRequest{ItemId: itemA.GetId(), Ratings: []*qav1.DimensionRating{
		rating("attitude", 5), rating("knowledge", 5), rating("efficiency", 5), rating("communication", 5), rating("compliance", 5),
	}, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	if rv := resp.GetReview(); rv.GetRubricVersion() != 1 || rv.GetScore() != 100 {
		t.Fatalf("draft begun on version 1 finalised as %v", rv)
	}
	// Both are locked now; version 2 can no longer change.
	_, err = e.rubrics.UpdateRubric(e.admin, &qav1.UpdateRubricRequest{Rubric: created.GetRubric()})
	wantCode(t, err, codes.FailedPrecondition)
	list, err := e.rubrics.ListRubrics(e.admin, &qav1.ListRubricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetRubrics()); n != 2 || list.GetRubrics()[0].GetActive() || !list.GetRubrics()[1].GetActive() {
		t.Fatalf("rubric list: %v", list.GetRubrics())
	}
}
