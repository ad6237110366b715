package e2e

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// ownershipOrg: sup-a has a1 and a2 (team-a), sup-b has b1 and b2 (team-b).
var ownershipOrg = []orgAgent{
	{"a1", "team-a", "sup-a"},
	{"a2", "team-a", "sup-a"},
	{"b1", "team-b", "sup-b"},
	{"b2", "team-b", "sup-b"},
}

const ownershipWeek = "2026-W44"

// ownershipWorld is a world whose week is sampled, with at least two
// assigned picks per agent.
func ownershipWorld(t *testing.T, dsn string) (*world, []*qav1.Pick) {
	t.Helper()
	w := newWorld(t, dsn, slices.Clone(ownershipOrg))
	w.setupGRPC()
	w.pushWeek(ownershipWeek, 3)
	picks := w.runWeek(ownershipWeek)
	for _, a := range ownershipOrg {
		if n := len(picksOf(t, picks, a.id)); n < 2 {
			t.Fatalf("%s has %d assigned picks, want 2", a.id, n)
		}
	}
	return w, picks
}

// watchHeaderAndRecords opens a WatchFeedback stream as ctx and returns
// its x-feedback-after-id header and the first n records it sends.
func watchHeaderAndRecords(t *testing.T, ctx context.Context, c qav1.FeedbackServiceClient, req *qav1.WatchFeedbackRequest, n int) (int64, []int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stream, err := c.WatchFeedback(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	md, err := stream.Header()
	if err != nil {
		t.Fatalf("WatchFeedback header: %v", err)
	}
	var after int64
	if v := md.Get("x-feedback-after-id"); len(v) == 1 {
		if after, err = strconv.ParseInt(v[0], 10, 64); err != nil {
			t.Fatalf("x-feedback-after-id %q: %v", v[0], err)
		}
	} else {
		t.Fatalf("x-feedback-after-id header: %v", v)
	}
	var ids []int64
	for range n {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("WatchFeedback after %d records: %v", len(ids), err)
		}
		ids = append(ids, resp.GetRecord().GetId())
	}
	return after, ids
}

// TestAgentMoveOneOwnershipRule: after `qactl agents import` moves b1 from
// sup-b to sup-a, everything about b1 (earlier feedback records, reviews,
// the dispute sup-b opened, reports) belongs to sup-a, through every
// supervisor call, and sup-b sees and acts on none of it (issue 8, defect
// 5). Before, feedback stayed with sup-b while reviews, disputes and
// reports followed sup-a.
func TestAgentMoveOneOwnershipRule(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { agentMove(t, b.dsn) })
	}
}

func agentMove(t *testing.T, dsn string) {
	w, picks := ownershipWorld(t, dsn)
	spec := "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4"
	b1 := picksOf(t, picks, "b1")
	recB1a := w.finalize(b1[0], spec).GetFeedback()
	recB1b := w.finalize(b1[1], spec).GetFeedback()
	recB2 := w.finalize(picksOf(t, picks, "b2")[0], spec).GetFeedback()
	recA1 := w.finalize(picksOf(t, picks, "a1")[0], spec).GetFeedback()
	supA, supB := w.as("sup-a"), w.as("sup-b")
	const reason = "sup-b's reason: the refund was approved"
	dispute, err := w.c.feedback.OpenDispute(supB, &qav1.OpenDisputeRequest{ReviewId: recB1a.GetReview().GetId(), Reason: reason})
	if err != nil {
		t.Fatalf("sup-b's dispute before the move: %v", err)
	}

	// The directory moves b1 to sup-a (its team stays team-b).
	w.agents[slices.IndexFunc(w.agents, func(a orgAgent) bool { return a.id == "b1" })].supervisor = "sup-a"
	agentsFile, _ := w.writeImportFiles(nil)
	w.qactlOK("bridge", "agents", "import", "--file", agentsFile)

	// sup-b, the previous supervisor, loses everything about b1.
	list, err := w.c.feedback.ListFeedback(supB, &qav1.ListFeedbackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := feedbackRecordIDs(list.GetRecords()); !slices.Equal(got, []int64{recB2.GetId()}) {
		t.Errorf("sup-b ListFeedback after the move: %v, want only b2's %d", got, recB2.GetId())
	}
	if list, err := w.c.feedback.ListFeedback(supB, &qav1.ListFeedbackRequest{AgentId: "b1"}); err != nil || len(list.GetRecords()) > 0 {
		t.Errorf("sup-b ListFeedback of b1 after the move: %v %v, want none", feedbackRecordIDs(list.GetRecords()), err)
	}
	// Records come in id order and b1's are older than b2's: sup-b's
	// stream starting with b2's proves b1's were not sent.
	if _, got := watchHeaderAndRecords(t, supB, w.c.feedback, &qav1.WatchFeedbackRequest{}, 1); got[0] != recB2.GetId() {
		t.Errorf("sup-b's stream after the move starts with %d, want b2's %d", got[0], recB2.GetId())
	}
	if _, err := w.c.feedback.AcknowledgeFeedback(supB, &qav1.AcknowledgeFeedbackRequest{Id: recB1a.GetId()}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b acknowledging b1's record after the move: %v, want NOT_FOUND", err)
	}
	if _, err := w.c.feedback.OpenDispute(supB, &qav1.OpenDisputeRequest{ReviewId: recB1b.GetReview().GetId(), Reason: "late"}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b disputing b1's review after the move: %v, want NOT_FOUND", err)
	}
	if ds, err := w.c.feedback.ListDisputes(supB, &qav1.ListDisputesRequest{}); err != nil || len(ds.GetDisputes()) > 0 {
		t.Errorf("sup-b ListDisputes after the move: %v %v, want none", ds.GetDisputes(), err)
	}
	if _, err := w.c.review.GetReview(supB, &qav1.GetReviewRequest{Id: recB1a.GetReview().GetId()}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b reading b1's review after the move: %v, want NOT_FOUND", err)
	}
	if _, err := w.c.report.GetAgentReport(supB, &qav1.GetAgentReportRequest{AgentId: "b1", LastWeek: ownershipWeek, Weeks: 1}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b's report of b1 after the move: %v, want NOT_FOUND", err)
	}
	checkTeamAgents(t, w, "sup-b", "team-b", []string{"b2"})

	// sup-a, the current supervisor, has all of b1's: records written
	// before the move, the review, sup-b's dispute, the reports.
	list, err = w.c.feedback.ListFeedback(supA, &qav1.ListFeedbackRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantA := []int64{recB1a.GetId(), recB1b.GetId(), recA1.GetId()}
	if got := feedbackRecordIDs(list.GetRecords()); !slices.Equal(got, wantA) {
		t.Errorf("sup-a ListFeedback after the move: %v, want %v", got, wantA)
	}
	for _, r := range list.GetRecords() {
		if r.GetSupervisorId() != "sup-a" {
			t.Errorf("record %d of %s shows supervisor %q, want sup-a, its owner now", r.GetId(), r.GetAgentId(), r.GetSupervisorId())
		}
	}
	if _, got := watchHeaderAndRecords(t, supA, w.c.feedback, &qav1.WatchFeedbackRequest{}, len(wantA)); !slices.Equal(got, wantA) {
		t.Errorf("sup-a's stream after the move: %v, want %v", got, wantA)
	}
	if rv, err := w.c.review.GetReview(supA, &qav1.GetReviewRequest{Id: recB1a.GetReview().GetId()}); err != nil || rv.GetReview().GetAgentId() != "b1" {
		t.Errorf("sup-a reading b1's review after the move: %v %v", rv, err)
	}
	ds, err := w.c.feedback.ListDisputes(supA, &qav1.ListDisputesRequest{})
	if err != nil || len(ds.GetDisputes()) != 1 || ds.GetDisputes()[0].GetId() != dispute.GetDispute().GetId() || ds.GetDisputes()[0].GetReason() != reason {
		t.Errorf("sup-a ListDisputes after the move: %v %v, want sup-b's dispute %d on b1", ds.GetDisputes(), err, dispute.GetDispute().GetId())
	}
	if ack, err := w.c.feedback.AcknowledgeFeedback(supA, &qav1.AcknowledgeFeedbackRequest{Id: recB1b.GetId(), Note: "talked it through"}); err != nil || ack.GetRecord().GetAcknowledgedBy() != "sup-a" {
		t.Errorf("sup-a acknowledging b1's earlier record: %v %v", ack, err)
	}
	if _, err := w.c.feedback.OpenDispute(supA, &qav1.OpenDisputeRequest{ReviewId: recB1b.GetReview().GetId(), Reason: "check the order"}); err != nil {
		t.Errorf("sup-a disputing b1's earlier review: %v", err)
	}
	rep, err := w.c.report.GetAgentReport(supA, &qav1.GetAgentReportRequest{AgentId: "b1", LastWeek: ownershipWeek, Weeks: 1})
	if err != nil || rep.GetReport().GetSummary().GetReviews() != 2 {
		t.Errorf("sup-a's report of b1 after the move: %v %v, want 2 reviews", rep.GetReport().GetSummary(), err)
	}
	checkTeamAgents(t, w, "sup-a", "team-b", []string{"b1"})
}

func feedbackRecordIDs(rs []*qav1.FeedbackRecord) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.GetId()
	}
	return out
}

// checkTeamAgents checks which agents supervisor's report of team covers.
func checkTeamAgents(t *testing.T, w *world, supervisor, team string, want []string) {
	t.Helper()
	resp, err := w.c.report.GetTeamReport(w.as(supervisor), &qav1.GetTeamReportRequest{TeamId: team, LastWeek: ownershipWeek, Weeks: 1})
	if err != nil {
		t.Errorf("%s's report of %s: %v", supervisor, team, err)
		return
	}
	var got []string
	for _, a := range resp.GetReport().GetAgents() {
		got = append(got, a.GetAgentId())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s's report of %s covers %v, want %v", supervisor, team, got, want)
	}
}

// TestWatchFromNowRevealsOnlyOwnRecords: a supervisor's from-now stream
// starts after their own newest record, not the newest of all, so the
// header says nothing of other supervisors' activity (issue 8, defect 12);
// resuming from it still delivers every later record of theirs.
func TestWatchFromNowRevealsOnlyOwnRecords(t *testing.T) {
	w, picks := ownershipWorld(t, backends(t)[0].dsn)
	spec := "attitude=3,knowledge=3,efficiency=3,communication=3,compliance=3"
	b2 := picksOf(t, picks, "b2")
	recB := w.finalize(b2[0], spec).GetFeedback()
	// sup-a's records are the newest of all.
	w.finalize(picksOf(t, picks, "a1")[0], spec)
	newest := w.finalize(picksOf(t, picks, "a2")[0], spec).GetFeedback()
	supB := w.as("sup-b")

	ctx, cancel := context.WithTimeout(supB, 30*time.Second)
	defer cancel()
	stream, err := w.c.feedback.WatchFeedback(ctx, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	md, err := stream.Header()
	if err != nil {
		t.Fatal(err)
	}
	if got := md.Get("x-feedback-after-id"); len(got) != 1 || got[0] != strconv.FormatInt(recB.GetId(), 10) {
		t.Fatalf("sup-b's from-now header %v, want its own newest record %d, not sup-a's %d", got, recB.GetId(), newest.GetId())
	}
	w.tokens["sup-c"] = w.srv.token("supervisor", "sup-c")
	if after, _ := watchHeaderAndRecords(t, w.as("sup-c"), w.c.feedback, &qav1.WatchFeedbackRequest{FromNow: true}, 0); after != 0 {
		t.Errorf("a supervisor without agents gets from-now header %d, want 0", after)
	}

	// Resume correctness: sup-b's next record reaches the open stream and
	// a stream resumed from the header.
	next := w.finalize(b2[1], spec).GetFeedback()
	got, err := stream.Recv()
	if err != nil || got.GetRecord().GetId() != next.GetId() {
		t.Fatalf("sup-b's from-now stream sent %v, %v; want record %d", got.GetRecord().GetId(), err, next.GetId())
	}
	if _, ids := watchHeaderAndRecords(t, supB, w.c.feedback, &qav1.WatchFeedbackRequest{AfterId: recB.GetId()}, 1); ids[0] != next.GetId() {
		t.Errorf("resumed from the header, sup-b got %v, want %d", ids, next.GetId())
	}
}
