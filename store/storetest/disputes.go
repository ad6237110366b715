package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func testDisputes(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	c1 := ps["c1"]
	draft := e.saveDraft(e.draftOf(ps["c2"], "qa-1"))
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: draft.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("OpenDispute on a draft = %v, want ErrConflict", err)
	}
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: draft.ID + 1000, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenDispute on an unknown review = %v, want ErrNotFound", err)
	}
	e.checkPick("after a dispute on a draft", ps["c2"].ID, store.PickAssigned, "qa-1")
	orig, fb1 := e.finalize(e.finalOf(c1, "qa-1", 40, "F"), store.Feedback{CoachingRequired: true})
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-ghost"}); err == nil {
		t.Error("OpenDispute with an unknown assignee succeeded")
	}
	e.checkPick("after a dispute to an unknown inspector", c1.ID, store.PickReviewed, "qa-1")

	w := begin()
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "客户原因, not the agent's", AssigneeID: "qa-2",
		PickID: 999, AgentID: "forged", Status: store.DisputeResolved, ResolutionID: 5})
	w = w.close()
	if err != nil {
		t.Fatalf("OpenDispute: %v", err)
	}
	want := store.Dispute{ID: d.ID, ReviewID: orig.ID, PickID: c1.ID, AgentID: "a1", OpenedBy: "sup-1", Reason: "客户原因, not the agent's",
		AssigneeID: "qa-2", Status: store.DisputeOpen, OpenedAt: d.OpenedAt}
	if d.ID == 0 || !reflect.DeepEqual(d, want) {
		t.Errorf("OpenDispute = %+v, want %+v", d, want)
	}
	w.check(t, "OpenedAt", d.OpenedAt)
	if got, err := e.s.GetDispute(ctx, d.ID); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("GetDispute = %+v, %v; want %+v", got, err, d)
	}
	if _, err := e.s.GetDispute(ctx, d.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDispute(unknown) = %v, want ErrNotFound", err)
	}
	e.checkPick("after OpenDispute", c1.ID, store.PickDisputed, "qa-2")
	if got := e.review(orig.ID); !reflect.DeepEqual(got, orig) {
		t.Errorf("opening a dispute changed the review: %+v", got)
	}

	// One open dispute per review.
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "again", AssigneeID: "qa-3"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second OpenDispute = %v, want ErrConflict", err)
	}
	e.checkPick("after a second OpenDispute", c1.ID, store.PickDisputed, "qa-2")
	if got, err := e.s.ListDisputes(ctx, store.DisputeFilter{PickID: c1.ID}); err != nil || !slices.Equal(disputeIDs(got), []int64{d.ID}) {
		t.Errorf("disputes of the pick = %v, %v; want only %d", disputeIDs(got), err, d.ID)
	}

	// The original inspector can no longer touch the pick; the assignee
	// must name the dispute.
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-1", 99, "A"), store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview by the original inspector = %v, want ErrConflict", err)
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft by the original inspector = %v, want ErrConflict", err)
	}
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-2", 99, "A"), store.Feedback{}); err == nil {
		t.Error("FinalizeReview of a disputed pick without the dispute id succeeded")
	}
	if got := e.review(orig.ID); !reflect.DeepEqual(got, orig) {
		t.Errorf("refused finalisations changed the disputed review: %+v", got)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 {
		t.Errorf("%d feedback records after refused finalisations, want 1", len(got))
	}

	// The assignee drafts and finalises the re-scoring.
	rd := e.draftOf(c1, "qa-2")
	rd.DisputeID = d.ID
	redraft := e.saveDraft(rd)
	if redraft.DisputeID != d.ID || redraft.ID == orig.ID {
		t.Errorf("re-scoring draft = %+v", redraft)
	}
	in := e.finalOf(c1, "qa-2", 85, "B")
	in.DisputeID = d.ID
	w = begin()
	nr, nfb := e.finalize(in, store.Feedback{ShareAsExample: true})
	w = w.close()
	wantNew := e.expect(in, c1, store.ReviewFinal)
	wantNew.SupersedesID = orig.ID
	checkReview(t, "re-scored review", nr, wantNew)
	if nr.ID != redraft.ID {
		t.Errorf("re-scored review id %d, want the assignee's draft %d", nr.ID, redraft.ID)
	}
	if got := e.review(nr.ID); !reflect.DeepEqual(got, nr) {
		t.Errorf("GetReview(re-scored) = %+v, want what FinalizeReview returned %+v", got, nr)
	}
	if got, err := e.s.GetFeedback(ctx, nfb.ID); err != nil || !reflect.DeepEqual(got, nfb) {
		t.Errorf("GetFeedback(re-scoring record) = %+v, %v; want what FinalizeReview returned %+v", got, err, nfb)
	}
	old := e.review(orig.ID)
	wantOld := orig
	wantOld.Status, wantOld.SupersededByID, wantOld.UpdatedAt = store.ReviewRetracted, nr.ID, old.UpdatedAt
	if !reflect.DeepEqual(old, wantOld) {
		t.Errorf("disputed review after re-scoring:\n got %+v\nwant %+v", old, wantOld)
	}
	w.check(t, "retracted UpdatedAt", old.UpdatedAt)
	resolved, err := e.s.GetDispute(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantD := d
	wantD.Status, wantD.ResolutionID, wantD.ResolvedAt = store.DisputeResolved, nr.ID, resolved.ResolvedAt
	if !reflect.DeepEqual(resolved, wantD) {
		t.Errorf("resolved dispute = %+v, want %+v", resolved, wantD)
	}
	w.check(t, "ResolvedAt", resolved.ResolvedAt)
	if nfb.ID <= fb1.ID || nfb.SupersedesID != fb1.ID || !reflect.DeepEqual(nfb.Review, nr) || nfb.SupervisorID != "sup-1" ||
		nfb.TeamID != "team-1" || !nfb.ShareAsExample || nfb.CoachingRequired {
		t.Errorf("re-scoring's record = %+v; want one superseding %d", nfb, fb1.ID)
	}
	if got, err := e.s.GetFeedback(ctx, fb1.ID); err != nil || got.Review.ID != orig.ID || got.SupersedesID != 0 {
		t.Errorf("the first record = %+v, %v; want it kept, reporting review %d", got, err, orig.ID)
	}
	if got := feedbackIDs(e.feedback(store.FeedbackFilter{})); !slices.Equal(got, []int64{fb1.ID, nfb.ID}) {
		t.Errorf("records = %v, want %v", got, []int64{fb1.ID, nfb.ID})
	}
	e.checkPick("after re-scoring", c1.ID, store.PickReviewed, "qa-2")

	// Done: nobody finalises the pick again, the retracted review cannot be
	// disputed, and the new one can.
	for _, insp := range []string{"qa-1", "qa-2"} {
		r := e.finalOf(c1, insp, 10, "F")
		r.DisputeID = d.ID
		if _, _, err := e.s.FinalizeReview(ctx, r, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("FinalizeReview by %s after the dispute = %v, want ErrConflict", insp, err)
		}
	}
	if got := e.review(nr.ID); !reflect.DeepEqual(got, nr) {
		t.Errorf("re-scored review changed: %+v", got)
	}
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("OpenDispute on a retracted review = %v, want ErrConflict", err)
	}
	d2, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: nr.ID, OpenedBy: "sup-1", Reason: "still wrong", AssigneeID: "qa-3"})
	if err != nil || d2.Status != store.DisputeOpen || d2.ID == d.ID {
		t.Fatalf("OpenDispute on the re-scored review = %+v, %v", d2, err)
	}
	e.checkPick("second dispute", c1.ID, store.PickDisputed, "qa-3")
	// A resolved dispute's id does not let its assignee in again.
	stale := e.finalOf(c1, "qa-3", 10, "F")
	stale.DisputeID = d.ID
	if _, _, err := e.s.FinalizeReview(ctx, stale, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview naming a resolved dispute = %v, want ErrConflict", err)
	}
	stale.DisputeID = d2.ID
	third, tfb := e.finalize(stale, store.Feedback{})
	if third.SupersedesID != nr.ID || tfb.SupersedesID != nfb.ID {
		t.Errorf("second re-scoring supersedes review %d record %d, want %d and %d", third.SupersedesID, tfb.SupersedesID, nr.ID, nfb.ID)
	}
	if got := e.review(nr.ID); got.Status != store.ReviewRetracted || got.SupersededByID != third.ID {
		t.Errorf("first re-scoring after the second = %s superseded by %d", got.Status, got.SupersededByID)
	}
}

// testDisputeConcurrent opens disputes on one review at once: one wins.
func testDisputeConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	c1 := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"))["c1"]
	r, _ := e.finalize(e.finalOf(c1, "qa-1", 40, "F"), store.Feedback{})
	const n = 4
	var ok, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range n {
		wg.Go(func() {
			<-start
			assignee := []string{"qa-2", "qa-3"}[i%2]
			_, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: strconv.Itoa(i), AssigneeID: assignee})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("OpenDispute: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("racing OpenDispute: %d opened, %d conflicts; want 1 and %d", ok.Load(), conflicts.Load(), n-1)
	}
	ds, err := e.s.ListDisputes(ctx, store.DisputeFilter{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("ListDisputes = %+v, %v; want one", ds, err)
	}
	e.checkPick("after racing disputes", c1.ID, store.PickDisputed, ds[0].AssigneeID)
}

func testListDisputes(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-1"), pick("e1", "a3", "random", 1, "qa-1"))
	open := func(ext, assignee string) store.Dispute {
		t.Helper()
		r, _ := e.finalize(e.finalOf(ps[ext], "qa-1", 50, "D"), store.Feedback{})
		d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup", Reason: "why " + ext, AssigneeID: assignee})
		if err != nil {
			t.Fatalf("OpenDispute: %v", err)
		}
		return d
	}
	d1 := open("c1", "qa-2")
	d2 := open("d1", "qa-3")
	d3 := open("c2", "qa-2")
	d4 := open("e1", "qa-3")
	res := e.finalOf(ps["c1"], "qa-2", 80, "B")
	res.DisputeID = d1.ID
	e.finalize(res, store.Feedback{})
	if got, _ := e.s.GetDispute(ctx, d1.ID); got.Status != store.DisputeResolved {
		t.Fatalf("dispute %d is %s after re-scoring", d1.ID, got.Status)
	}
	for _, tc := range []struct {
		f    store.DisputeFilter
		want []store.Dispute
	}{
		{store.DisputeFilter{}, []store.Dispute{d4, d3, d2, d1}},
		{store.DisputeFilter{SupervisorID: "sup-1"}, []store.Dispute{d4, d3, d1}},
		{store.DisputeFilter{SupervisorID: "sup-2"}, []store.Dispute{d2}},
		{store.DisputeFilter{SupervisorID: "nobody"}, nil},
		{store.DisputeFilter{AssigneeID: "qa-2"}, []store.Dispute{d3, d1}},
		{store.DisputeFilter{AssigneeID: "qa-1"}, nil},
		{store.DisputeFilter{PickID: ps["d1"].ID}, []store.Dispute{d2}},
		{store.DisputeFilter{Status: store.DisputeOpen}, []store.Dispute{d4, d3, d2}},
		{store.DisputeFilter{Status: store.DisputeResolved}, []store.Dispute{d1}},
		{store.DisputeFilter{SupervisorID: "sup-1", Status: store.DisputeOpen}, []store.Dispute{d4, d3}},
		{store.DisputeFilter{SupervisorID: "sup-1", AssigneeID: "qa-3"}, []store.Dispute{d4}},
		{store.DisputeFilter{AssigneeID: "qa-2", PickID: ps["c1"].ID, Status: store.DisputeResolved}, []store.Dispute{d1}},
		// Pages, newest first.
		{store.DisputeFilter{Limit: 2}, []store.Dispute{d4, d3}},
		{store.DisputeFilter{BeforeID: d3.ID, Limit: 2}, []store.Dispute{d2, d1}},
		{store.DisputeFilter{BeforeID: d1.ID, Limit: 2}, nil},
		{store.DisputeFilter{SupervisorID: "sup-1", BeforeID: d4.ID}, []store.Dispute{d3, d1}},
	} {
		got, err := e.s.ListDisputes(ctx, tc.f)
		if err != nil {
			t.Fatalf("ListDisputes(%+v): %v", tc.f, err)
		}
		if !slices.Equal(disputeIDs(got), disputeIDs(tc.want)) {
			t.Errorf("ListDisputes(%+v) = %v, want %v", tc.f, disputeIDs(got), disputeIDs(tc.want))
		}
		for _, d := range got {
			if g, err := e.s.GetDispute(ctx, d.ID); err != nil || !reflect.DeepEqual(g, d) {
				t.Errorf("ListDisputes row %+v differs from GetDispute %+v (%v)", d, g, err)
			}
		}
	}
	// The supervisor is the agent's current one.
	e.agents(store.Agent{AgentID: "a3", Name: "A3", TeamID: "team-2", SupervisorID: "sup-2", Active: true})
	if got, err := e.s.ListDisputes(ctx, store.DisputeFilter{SupervisorID: "sup-2"}); err != nil || !slices.Equal(disputeIDs(got), []int64{d4.ID, d2.ID}) {
		t.Errorf("ListDisputes(sup-2) after a3 moved = %v, %v; want %v", disputeIDs(got), err, []int64{d4.ID, d2.ID})
	}
}

// testDisputeVersusResolution races re-scoring a disputed review against
// a second dispute on it: the second dispute must be refused whichever
// comes first (the first dispute is open, or the review is retracted).
func testDisputeVersusResolution(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 20
	var specs []store.Pick
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("r%02d", i), "a1", "random", i+1, "qa-1"))
	}
	ps := e.picks(week47, specs...)
	type item struct {
		p       store.Pick
		review  store.Review
		dispute store.Dispute
	}
	items := make([]item, n)
	for i, sp := range specs {
		p := ps[sp.ExternalID]
		r, _ := e.finalize(e.finalOf(p, "qa-1", 40, "F"), store.Feedback{})
		d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: "first", AssigneeID: "qa-2"})
		if err != nil {
			t.Fatal(err)
		}
		items[i] = item{p, r, d}
	}
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for _, it := range items {
		wg.Go(func() {
			<-start
			in := e.finalOf(it.p, "qa-2", 80, "B")
			in.DisputeID = it.dispute.ID
			if _, _, err := e.s.FinalizeReview(ctx, in, store.Feedback{}); err != nil {
				t.Errorf("FinalizeReview(%s): %v", it.p.ExternalID, err)
			}
		})
		wg.Go(func() {
			<-start
			d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: it.review.ID, OpenedBy: "sup-1", Reason: "second", AssigneeID: "qa-3"})
			if err == nil {
				t.Errorf("%s: a second dispute %+v was opened on review %d while its first was being resolved", it.p.ExternalID, d, it.review.ID)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("OpenDispute(%s): %v", it.p.ExternalID, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, it := range items {
		e.checkPick("after racing resolution and dispute", it.p.ID, store.PickReviewed, "qa-2")
	}
}
