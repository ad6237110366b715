package e2e

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

func disputeLines(t *testing.T, out string) []*qav1.Dispute {
	t.Helper()
	return jsonLines(t, out, func() *qav1.Dispute { return &qav1.Dispute{} })
}

// TestDisputeFlow: a supervisor contests a final review through qactl;
// another inspector re-scores it; the old review is kept as retracted, a
// new feedback record supersedes the old one, the dispute is resolved and
// reports count only the new review.
func TestDisputeFlow(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { disputeFlow(t, b.dsn) })
	}
}

func disputeFlow(t *testing.T, dsn string) {
	const week = "2026-W44"
	w := newWorld(t, dsn, defaultOrg)
	w.setupGRPC()
	w.pushWeek(week, 1)
	p := picksOf(t, w.runWeek(week), "a1")[0]
	origSpec := "attitude=2,knowledge=3,efficiency=3,communication=3,compliance=3"
	orig := w.finalize(p, origSpec)
	origReview, origRec := orig.GetReview(), orig.GetFeedback()
	checkReview(t, "contested review", origReview, expect(t, origSpec))
	if origReview.GetGrade() != "needs_improvement" || !origRec.GetCoachingRequired() || origRec.GetShareAsExample() {
		t.Errorf("a needs_improvement review's record: %v; want coaching required", origRec)
	}
	rid, itemID := strconv.FormatInt(origReview.GetId(), 10), strconv.FormatInt(p.GetId(), 10)
	watch := w.srv.watch("sup-a", w.tokens["sup-a"], "--after", strconv.FormatInt(origRec.GetId(), 10))

	reason := "the customer had already been verified by phone"
	d := &qav1.Dispute{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "dispute", "open", rid, "--reason", reason), d)
	assignee := d.GetAssigneeId()
	if d.GetStatus() != "open" || d.GetReviewId() != origReview.GetId() || d.GetItemId() != p.GetId() || d.GetAgentId() != "a1" ||
		d.GetOpenedBy() != "sup-a" || d.GetReason() != reason || d.GetOpenedAt() == nil {
		t.Errorf("opened dispute %v", d)
	}
	if assignee == origReview.GetInspectorId() || !slices.Contains(orgInspectors, assignee) {
		t.Fatalf("dispute assigned to %q; want an inspector other than the reviewer %s", assignee, origReview.GetInspectorId())
	}
	// One open dispute per review; nobody else's supervisor may open one.
	w.qactlFails("sup-a", []string{"ALREADY_EXISTS", "FAILED_PRECONDITION"}, "dispute", "open", rid, "--reason", "and again")
	w.qactlFails("sup-b", []string{"NOT_FOUND"}, "dispute", "open", rid, "--reason", "not mine")
	if open := disputeLines(t, w.qactlOK("sup-a", "--json", "dispute", "list", "--status", "open")); len(open) != 1 || open[0].GetId() != d.GetId() {
		t.Errorf("open disputes: %v", open)
	}
	if _, err := w.c.review.OpenItem(w.as(origReview.GetInspectorId()), &qav1.OpenItemRequest{Id: p.GetId()}); codeOf(err) != codes.NotFound {
		t.Errorf("the original reviewer opening the disputed item: %v, want NOT_FOUND", err)
	}

	// The assignee has it in their queue and sees the dispute.
	var queued *qav1.Pick
	for _, q := range pickLines(t, w.qactlOK(assignee, "--json", "review", "queue")) {
		if q.GetId() == p.GetId() {
			queued = q
		}
	}
	if queued == nil || queued.GetStatus() != "disputed" || queued.GetInspectorId() != assignee {
		t.Fatalf("disputed item in %s's queue: %v", assignee, queued)
	}
	show := w.qactlOK(assignee, "review", "show", itemID)
	for _, want := range []string{"dispute " + strconv.FormatInt(d.GetId(), 10), reason, "contested review " + rid} {
		if !strings.Contains(show, want) {
			t.Errorf("review show of the disputed item lacks %q:\n%s", want, show)
		}
	}
	opened := &qav1.OpenItemResponse{}
	unmarshalJSON(t, w.qactlOK(assignee, "--json", "review", "show", itemID), opened)
	if opened.GetDispute().GetId() != d.GetId() || opened.GetDisputedReview().GetId() != origReview.GetId() ||
		!near(opened.GetDisputedReview().GetScore(), origReview.GetScore()) {
		t.Errorf("opened disputed item: dispute %v, contested review %v", opened.GetDispute(), opened.GetDisputedReview())
	}

	// The re-score supersedes the contested review.
	newSpec := "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4"
	rescored := &qav1.Review{}
	unmarshalJSON(t, w.qactlOK(assignee, "--json", "review", "submit", itemID, "--rating", newSpec, "--final"), rescored)
	checkReview(t, "re-score", rescored, expect(t, newSpec))
	if rescored.GetSupersedesId() != origReview.GetId() || rescored.GetDisputeId() != d.GetId() || rescored.GetInspectorId() != assignee ||
		rescored.GetId() == origReview.GetId() || rescored.GetAgentId() != "a1" || rescored.GetWeek() != week {
		t.Errorf("re-score %v", rescored)
	}
	old, err := w.c.review.GetReview(w.admin(), &qav1.GetReviewRequest{Id: origReview.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if o := old.GetReview(); o.GetStatus() != "retracted" || o.GetSupersededById() != rescored.GetId() || !near(o.GetScore(), origReview.GetScore()) {
		t.Errorf("contested review after the re-score: %v; want retracted, superseded by %d, score kept", o, rescored.GetId())
	}
	rec := watch.waitFor("the re-score's record", func(r *qav1.FeedbackRecord) bool { return r.GetReview().GetId() == rescored.GetId() })
	if rec.GetSupersedesId() != origRec.GetId() || rec.GetAgentId() != "a1" || !near(rec.GetScore(), rescored.GetScore()) || rec.GetGrade() != rescored.GetGrade() ||
		rec.GetCoachingRequired() {
		t.Errorf("new record %v; want it to supersede %d", rec, origRec.GetId())
	}
	// The supervisor reads both records with the chat; the old one says it
	// was replaced and by which, and sup-b sees neither.
	origID, recID := strconv.FormatInt(origRec.GetId(), 10), strconv.FormatInt(rec.GetId(), 10)
	oldShow := w.qactlOK("sup-a", "feedback", "show", origID)
	for _, want := range []string{"SUPERSEDED", "feedback " + recID, "score " + origReview.GetScoreText(), "* [", p.GetExternalId()} {
		if !strings.Contains(oldShow, want) {
			t.Errorf("feedback show of the replaced record lacks %q:\n%s", want, oldShow)
		}
	}
	shown := &qav1.GetFeedbackResponse{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "feedback", "show", origID), shown)
	if shown.GetSupersededById() != rec.GetId() || shown.GetTranscript().GetExternalId() != p.GetExternalId() {
		t.Errorf("feedback show --json of the replaced record: superseded by %d, transcript %q", shown.GetSupersededById(), shown.GetTranscript().GetExternalId())
	}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "feedback", "show", recID), shown)
	if shown.GetSupersededById() != 0 || shown.GetRecord().GetSupersedesId() != origRec.GetId() {
		t.Errorf("feedback show --json of the successor: %v", shown)
	}
	w.qactlFails("sup-b", []string{"NOT_FOUND"}, "feedback", "show", origID)

	resolved := disputeLines(t, w.qactlOK("sup-a", "--json", "dispute", "list", "--status", "resolved"))
	if len(resolved) != 1 || resolved[0].GetId() != d.GetId() || resolved[0].GetStatus() != "resolved" ||
		resolved[0].GetResolutionReviewId() != rescored.GetId() || resolved[0].GetResolvedAt() == nil {
		t.Errorf("resolved disputes: %v", resolved)
	}
	if open := disputeLines(t, w.qactlOK("sup-a", "--json", "dispute", "list", "--status", "open")); len(open) != 0 {
		t.Errorf("open disputes after the re-score: %v", open)
	}
	// The retracted review cannot be disputed again; the item is done.
	if _, err := w.c.feedback.OpenDispute(w.as("sup-a"), &qav1.OpenDisputeRequest{ReviewId: origReview.GetId(), Reason: "again"}); codeOf(err) != codes.FailedPrecondition {
		t.Errorf("disputing the retracted review: %v, want FAILED_PRECONDITION", err)
	}
	w.qactlFails(assignee, []string{"FAILED_PRECONDITION", "NOT_FOUND"}, "review", "submit", itemID, "--rating", "attitude=0", "--final")

	// Both records stay on record; reports count only the new review.
	var ids []int64
	for _, r := range feedbackLines(t, w.qactlOK("sup-a", "--json", "feedback", "list", "--agent", "a1")) {
		ids = append(ids, r.GetId())
	}
	if !slices.Equal(ids, []int64{origRec.GetId(), rec.GetId()}) {
		t.Errorf("a1's records %v, want %d and %d", ids, origRec.GetId(), rec.GetId())
	}
	report := &qav1.GetAgentReportResponse{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", "a1", "--weeks", "1", "--last-week", week), report)
	if s := report.GetReport().GetSummary(); s.GetReviews() != 1 || !near(s.GetMean(), rescored.GetScore()) {
		t.Errorf("a1's report counts %d reviews, mean %v; want only the re-score (%v)", s.GetReviews(), s.GetMean(), rescored.GetScore())
	}

	// Two disputes of one review at once: one opens, the other is refused.
	other := w.finalize(picksOf(t, w.picks(week), "a2")[0], origSpec).GetReview()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		ctx := w.as("sup-a")
		wg.Go(func() {
			_, errs[i] = w.c.feedback.OpenDispute(ctx, &qav1.OpenDisputeRequest{ReviewId: other.GetId(), Reason: fmt.Sprintf("race %d", i)})
		})
	}
	wg.Wait()
	opened0, opened1 := errs[0] == nil, errs[1] == nil
	for _, err := range errs {
		if c := codeOf(err); c != codes.OK && c != codes.AlreadyExists && c != codes.FailedPrecondition {
			t.Errorf("racing disputes: %v", err)
		}
	}
	if opened0 == opened1 {
		t.Errorf("racing disputes: %v; want exactly one opened", errs)
	}
	if open := disputeLines(t, w.qactlOK("sup-a", "--json", "dispute", "list", "--status", "open")); len(open) != 1 || open[0].GetReviewId() != other.GetId() {
		t.Errorf("open disputes after the race: %v", open)
	}

	events := w.auditEvents()
	for _, e := range []struct {
		action, entity string
		id             int64
		actor          string
	}{
		{"dispute.open", "dispute", d.GetId(), "sup-a"},
		{"review.retract", "review", origReview.GetId(), assignee},
		{"review.finalize", "review", rescored.GetId(), assignee},
		{"dispute.resolve", "dispute", d.GetId(), assignee},
		{"feedback.create", "feedback", rec.GetId(), assignee},
	} {
		if !hasAudit(events, e.action, e.entity, e.id, e.actor) {
			t.Errorf("audit trail lacks %s of %s %d by %s", e.action, e.entity, e.id, e.actor)
		}
	}
}

// TestDisputeWindowCloses: after the window a dispute is refused.
func TestDisputeWindowCloses(t *testing.T) {
	const week = "2026-W44"
	w := newWorld(t, backends(t)[0].dsn, defaultOrg, "--dispute-window", "1ms")
	w.setupGRPC()
	w.pushWeek(week, 1)
	rv := w.finalize(picksOf(t, w.runWeek(week), "a1")[0], "attitude=3,knowledge=3,efficiency=3,communication=3,compliance=3").GetReview()
	// Starting qactl alone takes longer than the 1 ms window.
	w.qactlFails("sup-a", []string{"FAILED_PRECONDITION"}, "dispute", "open", strconv.FormatInt(rv.GetId(), 10), "--reason", "too late")
	if _, err := w.c.feedback.OpenDispute(w.as("sup-a"), &qav1.OpenDisputeRequest{ReviewId: rv.GetId(), Reason: "too late"}); codeOf(err) != codes.FailedPrecondition {
		t.Errorf("dispute after the window: %v, want FAILED_PRECONDITION", err)
	}
	resp, err := w.c.feedback.ListDisputes(w.admin(), &qav1.ListDisputesRequest{})
	if err != nil || len(resp.GetDisputes()) != 0 {
		t.Errorf("disputes after refusals: %v %v", resp.GetDisputes(), err)
	}
}
