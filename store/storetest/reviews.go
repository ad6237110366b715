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

func testReviewDrafts(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, ""))
	c1 := ps["c1"]
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf before any draft = %v, want ErrNotFound", err)
	}
	for _, tc := range []struct {
		what string
		r    store.Review
	}{
		{"another inspector's pick", e.draftOf(c1, "qa-2")},
		{"a pick in the pool", e.draftOf(ps["c2"], "qa-1")},
		{"an unknown pick", e.draftOf(store.Pick{ID: c1.ID + 1000}, "qa-1")},
	} {
		if _, err := e.s.SaveDraft(ctx, tc.r); !errors.Is(err, store.ErrConflict) {
			t.Errorf("SaveDraft of %s = %v, want ErrConflict", tc.what, err)
		}
		if _, err := e.s.DraftOf(ctx, tc.r.PickID, tc.r.InspectorID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DraftOf after a refused SaveDraft of %s = %v, want ErrNotFound", tc.what, err)
		}
	}
	bad := e.draftOf(c1, "qa-1")
	bad.RubricVersion = 99
	if _, err := e.s.SaveDraft(ctx, bad); err == nil {
		t.Error("SaveDraft with an unknown rubric version succeeded")
	}
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf after SaveDraft with an unknown rubric = %v, want ErrNotFound", err)
	}

	in := e.draftOf(c1, "qa-1")
	// What the store fills or the server computes on finalising is ignored.
	in.ExternalID, in.AgentID, in.Week = "forged", "forged", "1999-W01"
	in.Score, in.Grade, in.Critical = 88, "B", true
	w := begin()
	d1 := e.saveDraft(in)
	w = w.close()
	if d1.ID == 0 {
		t.Fatal("SaveDraft returned id 0")
	}
	want := e.expect(e.draftOf(c1, "qa-1"), c1, store.ReviewDraft)
	checkReview(t, "first draft", d1, want)
	w.check(t, "draft CreatedAt", d1.CreatedAt)
	if !d1.UpdatedAt.Equal(d1.CreatedAt) || !d1.FinalizedAt.IsZero() {
		t.Errorf("new draft UpdatedAt %s CreatedAt %s FinalizedAt %s", d1.UpdatedAt, d1.CreatedAt, d1.FinalizedAt)
	}
	if got, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); err != nil || !reflect.DeepEqual(got, d1) {
		t.Errorf("DraftOf = %+v, %v; want %+v", got, err, d1)
	}
	if got, err := e.s.GetReview(ctx, d1.ID); err != nil || !reflect.DeepEqual(got, d1) {
		t.Errorf("GetReview(draft) = %+v, %v; want %+v", got, err, d1)
	}
	e.checkPick("after SaveDraft", c1.ID, store.PickAssigned, "qa-1")

	// A second save replaces ratings, flags and comments in the same row.
	in2 := store.Review{PickID: c1.ID, InspectorID: "qa-1", RubricVersion: e.rubric,
		Ratings: []store.Rating{{Key: "greeting", Value: 5, Max: 5, Comment: "better"}, {Key: "closing", NA: true, Max: 2}},
		Flags:   []string{"leak"}, Comment: "revised"}
	w = begin()
	d2 := e.saveDraft(in2)
	w = w.close()
	if d2.ID != d1.ID {
		t.Errorf("second SaveDraft made review %d, want the same row %d", d2.ID, d1.ID)
	}
	checkReview(t, "replaced draft", d2, e.expect(in2, c1, store.ReviewDraft))
	if !d2.CreatedAt.Equal(d1.CreatedAt) {
		t.Errorf("replaced draft CreatedAt %s, want %s", d2.CreatedAt, d1.CreatedAt)
	}
	w.check(t, "replaced draft UpdatedAt", d2.UpdatedAt)
	if got, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); err != nil || !reflect.DeepEqual(got, d2) {
		t.Errorf("DraftOf after a second save = %+v, %v; want the latest %+v", got, err, d2)
	}
	// Everything can be cleared.
	in3 := store.Review{PickID: c1.ID, InspectorID: "qa-1", RubricVersion: e.rubric}
	d3 := e.saveDraft(in3)
	checkReview(t, "emptied draft", d3, e.expect(in3, c1, store.ReviewDraft))
	if d3.ID != d1.ID {
		t.Errorf("third SaveDraft made review %d, want %d", d3.ID, d1.ID)
	}

	if _, err := e.s.GetReview(ctx, d1.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetReview(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf(another inspector) = %v, want ErrNotFound", err)
	}
	// Drafts send nothing.
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 0 {
		t.Errorf("drafts produced %d feedback records", len(got))
	}
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != 0 {
		t.Errorf("LastFeedbackID with drafts only = %d, %v; want 0", id, err)
	}
}

// testReviewDraftReassigned: a pick moved to another inspector is theirs
// to score; the first inspector's draft stays but cannot be saved again.
func testReviewDraftReassigned(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	c1 := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"))["c1"]
	old := e.saveDraft(e.draftOf(c1, "qa-1"))
	if _, err := e.s.UpdatePick(ctx, c1.ID, store.PickAssigned, store.Pick{InspectorID: "qa-2", Status: store.PickAssigned}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft by the former inspector = %v, want ErrConflict", err)
	}
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-1", 90, "A"), store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview by the former inspector = %v, want ErrConflict", err)
	}
	if got, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); err != nil || !reflect.DeepEqual(got, old) {
		t.Errorf("former inspector's draft = %+v, %v; want it unchanged", got, err)
	}
	mine := e.saveDraft(e.draftOf(c1, "qa-2"))
	if mine.ID == old.ID {
		t.Errorf("the new inspector's draft reused review %d", old.ID)
	}
	final, _ := e.finalize(e.finalOf(c1, "qa-2", 75, "C"), store.Feedback{})
	if final.ID != mine.ID || final.InspectorID != "qa-2" {
		t.Errorf("final review = %d by %s, want the draft %d of qa-2", final.ID, final.InspectorID, mine.ID)
	}
	if got, err := e.s.GetReview(ctx, old.ID); err != nil || got.Status != store.ReviewDraft {
		t.Errorf("former inspector's draft after the final = %+v, %v", got, err)
	}
}

func testReviewFinalize(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-2"))
	c1 := ps["c1"]
	d := e.saveDraft(e.draftOf(c1, "qa-1"))

	in := e.finalOf(c1, "qa-1", 63.5, "D")
	in.Ratings = in.Ratings[:2]
	in.Flags = []string{"rude"}
	in.Comment = "final comment"
	in.ExternalID, in.AgentID, in.Week = "forged", "forged", "forged"
	w := begin()
	r, fb, err := e.s.FinalizeReview(ctx, in, store.Feedback{CoachingRequired: true, SupervisorID: "forged", TeamID: "forged",
		Review: store.Review{ID: 12345, Grade: "forged"}})
	w = w.close()
	if err != nil {
		t.Fatalf("FinalizeReview: %v", err)
	}
	if r.ID != d.ID {
		t.Errorf("final review id %d, want the draft's %d", r.ID, d.ID)
	}
	in.ExternalID, in.AgentID, in.Week = "", "", ""
	checkReview(t, "final review", r, e.expect(in, c1, store.ReviewFinal))
	w.check(t, "FinalizedAt", r.FinalizedAt)
	w.check(t, "UpdatedAt", r.UpdatedAt)
	if !r.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("final CreatedAt %s, want the draft's %s", r.CreatedAt, d.CreatedAt)
	}
	if got := e.review(r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("GetReview = %+v, want %+v", got, r)
	}
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf after finalising = %v, want ErrNotFound (the draft became final)", err)
	}
	e.checkPick("after FinalizeReview", c1.ID, store.PickReviewed, "qa-1")

	if fb.ID == 0 || !reflect.DeepEqual(fb.Review, r) || fb.SupervisorID != "sup-1" || fb.TeamID != "team-1" ||
		!fb.CoachingRequired || fb.ShareAsExample || fb.SupersedesID != 0 ||
		!fb.AcknowledgedAt.IsZero() || fb.AcknowledgedBy != "" || fb.CoachingNote != "" {
		t.Errorf("feedback record = %+v; want a1's supervisor and team and the final review %+v", fb, r)
	}
	w.check(t, "feedback CreatedAt", fb.CreatedAt)
	all := e.feedback(store.FeedbackFilter{})
	if len(all) != 1 || !reflect.DeepEqual(all[0], fb) {
		t.Fatalf("ListFeedback = %+v, want only %+v", all, fb)
	}
	if got, err := e.s.GetFeedback(ctx, fb.ID); err != nil || !reflect.DeepEqual(got, fb) {
		t.Errorf("GetFeedback = %+v, %v; want %+v", got, err, fb)
	}
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != fb.ID {
		t.Errorf("LastFeedbackID = %d, %v; want %d", id, err, fb.ID)
	}

	// A second finalisation of the pick is refused and changes nothing.
	for _, insp := range []string{"qa-1", "qa-2"} {
		if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, insp, 99, "A"), store.Feedback{ShareAsExample: true}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second FinalizeReview by %s = %v, want ErrConflict", insp, err)
		}
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft of a reviewed pick = %v, want ErrConflict", err)
	}
	if got := e.review(r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("review after a refused finalisation = %+v, want %+v", got, r)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 || !reflect.DeepEqual(got[0], fb) {
		t.Errorf("feedback after a refused finalisation = %+v, want only %+v", got, fb)
	}

	// Without a draft the final review is a new row; the record goes to
	// the supervisor the agent has at the time.
	e.agents(store.Agent{AgentID: "a1", Name: "A1", TeamID: "team-9", SupervisorID: "sup-9", Active: true})
	in2 := e.finalOf(ps["c2"], "qa-1", 95, "A")
	in2.Flags, in2.Strengths, in2.Suggestions = nil, nil, nil
	r2, fb2 := e.finalize(in2, store.Feedback{ShareAsExample: true})
	checkReview(t, "final review without a draft", r2, e.expect(in2, ps["c2"], store.ReviewFinal))
	if r2.ID == r.ID || !r2.CreatedAt.Equal(r2.FinalizedAt) {
		t.Errorf("final without a draft: id %d (first %d), created %s finalised %s", r2.ID, r.ID, r2.CreatedAt, r2.FinalizedAt)
	}
	if fb2.ID <= fb.ID || fb2.SupervisorID != "sup-9" || fb2.TeamID != "team-9" || fb2.CoachingRequired || !fb2.ShareAsExample {
		t.Errorf("second record = %+v; want a later id for sup-9/team-9", fb2)
	}
	// The earlier record follows the agent to its new supervisor, and
	// keeps the team it was written for.
	if got, _ := e.s.GetFeedback(ctx, fb.ID); got.SupervisorID != "sup-9" || got.TeamID != "team-1" {
		t.Errorf("first record after the agent moved: %s/%s, want sup-9/team-1", got.SupervisorID, got.TeamID)
	}
	_, fb3 := e.finalize(e.finalOf(ps["d1"], "qa-2", 80, "B"), store.Feedback{})
	if fb3.SupervisorID != "sup-2" || fb3.TeamID != "team-2" || fb3.Review.AgentID != "a2" {
		t.Errorf("a2's record = %+v, want sup-2/team-2", fb3)
	}
	if got := feedbackIDs(e.feedback(store.FeedbackFilter{})); !slices.Equal(got, []int64{fb.ID, fb2.ID, fb3.ID}) {
		t.Errorf("ListFeedback ids = %v, want %v", got, []int64{fb.ID, fb2.ID, fb3.ID})
	}
}

// testReviewFinalizeRefused: refused finalisations write nothing, not even
// what they would have written before finding the conflict.
func testReviewFinalizeRefused(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	c1, c2 := ps["c1"], ps["c2"]
	first, fb := e.finalize(e.finalOf(c1, "qa-1", 70, "C"), store.Feedback{})
	v2, err := e.s.AddRubric(ctx, rubricDoc(2), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	events := len(e.audit(store.AuditFilter{}))

	// An admin hands the reviewed pick to another inspector: the pick is
	// in qa-2's queue, but it has a final review.
	if _, err := e.s.UpdatePick(ctx, c1.ID, store.PickReviewed, store.Pick{InspectorID: "qa-2", Status: store.PickAssigned}); err != nil {
		t.Fatal(err)
	}
	again := e.finalOf(c1, "qa-2", 99, "A")
	again.RubricVersion = v2.Version
	if _, _, err := e.s.FinalizeReview(ctx, again, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview of a pick with a final review = %v, want ErrConflict", err)
	}
	// It got as far as locking version 2 before the conflict; that is undone.
	if got, err := e.s.GetRubric(ctx, v2.Version); err != nil || got.Locked {
		t.Errorf("version 2 after a refused FinalizeReview = %+v, %v; want unlocked", got, err)
	}
	// With a draft first, the draft stays a draft.
	dr := e.draftOf(c1, "qa-2")
	dr.RubricVersion = v2.Version
	d := e.saveDraft(dr)
	if _, _, err := e.s.FinalizeReview(ctx, again, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview of a draft of a pick with a final review = %v, want ErrConflict", err)
	}
	if got := e.review(d.ID); !reflect.DeepEqual(got, d) {
		t.Errorf("draft after a refused finalisation = %+v, want %+v", got, d)
	}
	if got := e.review(first.ID); !reflect.DeepEqual(got, first) {
		t.Errorf("first final review after a refused finalisation = %+v, want %+v", got, first)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 || got[0].ID != fb.ID {
		t.Errorf("feedback after refused finalisations = %v, want only %d", feedbackIDs(got), fb.ID)
	}
	// Only the draft's events were written.
	evs := e.audit(store.AuditFilter{})
	if got := evs[events:]; len(got) != 1 || got[0].Action != "review.create" {
		t.Errorf("events after refused finalisations: %+v; want only the draft's review.create", got)
	}
	e.checkPick("after refused finalisations", c1.ID, store.PickAssigned, "qa-2")

	// A dispute id on a pick that is not disputed is refused too.
	bogus := e.finalOf(c2, "qa-1", 50, "F")
	bogus.DisputeID = 1
	if _, _, err := e.s.FinalizeReview(ctx, bogus, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview with a dispute id of an undisputed pick = %v, want ErrConflict", err)
	}
	e.checkPick("after a refused dispute finalisation", c2.ID, store.PickAssigned, "qa-1")
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 {
		t.Errorf("%d feedback records, want 1", len(got))
	}
}

// testReviewFinalizeConcurrent finalises one pick from several goroutines
// at once: exactly one wins and its review and record are what is stored.
func testReviewFinalizeConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	for _, tc := range []struct {
		pick store.Pick
		n    int
	}{{ps["c1"], 2}, {ps["c2"], 8}} {
		type result struct {
			r  store.Review
			fb store.Feedback
		}
		wins := make(chan result, tc.n)
		var conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{}) // released at once, to make them race
		for i := range tc.n {
			wg.Go(func() {
				<-start
				r, fb, err := e.s.FinalizeReview(ctx, e.finalOf(tc.pick, "qa-1", float64(60+i), "C"), store.Feedback{})
				switch {
				case err == nil:
					wins <- result{r, fb}
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("FinalizeReview: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(wins)
		var won []result
		for w := range wins {
			won = append(won, w)
		}
		if len(won) != 1 || int(conflicts.Load()) != tc.n-1 {
			t.Fatalf("%d racing finalisations of %s: %d succeeded, %d conflicts; want 1 and %d", tc.n, tc.pick.ExternalID, len(won), conflicts.Load(), tc.n-1)
		}
		if got := e.review(won[0].r.ID); !reflect.DeepEqual(got, won[0].r) {
			t.Errorf("stored review %+v, want the winner's %+v", got, won[0].r)
		}
		recs := e.feedback(store.FeedbackFilter{AgentID: "a1", Week: week47})
		var mine []store.Feedback
		for _, f := range recs {
			if f.Review.PickID == tc.pick.ID {
				mine = append(mine, f)
			}
		}
		if len(mine) != 1 || !reflect.DeepEqual(mine[0], won[0].fb) {
			t.Errorf("records of %s = %+v, want only the winner's %+v", tc.pick.ExternalID, mine, won[0].fb)
		}
	}
}

// testFinalizeVersusReassign races finalising picks against an admin
// handing them to another inspector: for each pick exactly one of the two
// wins, and a reviewed pick's final review is by its inspector.
func testFinalizeVersusReassign(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 40
	var specs []store.Pick
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("r%02d", i), "a1", "random", i+1, "qa-1"))
	}
	ps := e.picks(week47, specs...)
	type outcome struct{ finalized, reassigned bool }
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i, sp := range specs {
		p := ps[sp.ExternalID]
		wg.Go(func() {
			<-start
			_, _, err := e.s.FinalizeReview(ctx, e.finalOf(p, "qa-1", 80, "B"), store.Feedback{})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("FinalizeReview: %v", err)
			}
			outcomes[i].finalized = err == nil
		})
		wg.Go(func() {
			<-start
			_, err := e.s.UpdatePick(ctx, p.ID, store.PickAssigned, store.Pick{InspectorID: "qa-2", Status: store.PickAssigned})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("UpdatePick: %v", err)
			}
			outcomes[i].reassigned = err == nil
		})
	}
	close(start)
	wg.Wait()
	finals := map[int64]store.Review{}
	for _, f := range e.feedback(store.FeedbackFilter{}) {
		finals[f.Review.PickID] = f.Review
	}
	for i, sp := range specs {
		p := e.pickNow(ps[sp.ExternalID].ID)
		o := outcomes[i]
		if o.finalized == o.reassigned {
			t.Errorf("%s: finalised %v and reassigned %v; want exactly one", p.ExternalID, o.finalized, o.reassigned)
		}
		r, reviewed := finals[p.ID]
		switch {
		case reviewed && (p.Status != store.PickReviewed || p.InspectorID != r.InspectorID):
			t.Errorf("%s is %s for %s but has a final review by %s", p.ExternalID, p.Status, p.InspectorID, r.InspectorID)
		case !reviewed && (p.Status != store.PickAssigned || p.InspectorID != "qa-2"):
			t.Errorf("%s is %s for %s without a final review", p.ExternalID, p.Status, p.InspectorID)
		}
	}
}

// testDraftRaces saves one draft from several goroutines at once (all
// succeed, into one row), then races saves against finalisations: a save
// either lands before the finalisation (whose review replaces it) or is
// refused; it never leaves a draft behind on a reviewed pick.
func testDraftRaces(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 20
	specs := []store.Pick{pick("c0", "a1", "random", 1, "qa-1")}
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("r%02d", i), "a1", "random", i+2, "qa-1"))
	}
	ps := e.picks(week47, specs...)

	// Lock the rubric version first, so that it does not serialise the saves.
	e.saveDraft(e.draftOf(ps["r00"], "qa-1"))
	c0 := ps["c0"]
	ids := make(chan int64, 8)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range 8 {
		wg.Go(func() {
			<-start
			r := e.draftOf(c0, "qa-1")
			r.Comment = strconv.Itoa(i)
			d, err := e.s.SaveDraft(ctx, r)
			if err != nil {
				t.Errorf("racing SaveDraft: %v", err)
				return
			}
			ids <- d.ID
		})
	}
	close(start)
	wg.Wait()
	close(ids)
	var got []int64
	for id := range ids {
		got = append(got, id)
	}
	if len(got) != 8 || len(slices.Compact(got)) != 1 {
		t.Errorf("racing SaveDraft returned review ids %v; want 8 saves of one draft", got)
	}
	if len(got) == 0 {
		t.FailNow()
	}
	if d, err := e.s.DraftOf(ctx, c0.ID, "qa-1"); err != nil || d.ID != got[0] {
		t.Errorf("DraftOf after racing saves = %+v, %v", d, err)
	}
	if evs := e.audit(store.AuditFilter{Entity: "review", EntityID: idStr(got[0])}); len(actions(evs, "review.create")) != 1 || len(actions(evs, "review.update")) != 7 {
		t.Errorf("racing saves wrote %d review.create and %d review.update events, want 1 and 7",
			len(actions(evs, "review.create")), len(actions(evs, "review.update")))
	}

	for i := range n {
		e.saveDraft(e.draftOf(ps[fmt.Sprintf("r%02d", i)], "qa-1"))
	}
	start = make(chan struct{})
	for i := range n {
		p := ps[fmt.Sprintf("r%02d", i)]
		wg.Go(func() {
			<-start
			if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(p, "qa-1", 80, "B"), store.Feedback{}); err != nil {
				t.Errorf("FinalizeReview(%s): %v", p.ExternalID, err)
			}
		})
		wg.Go(func() {
			<-start
			if _, err := e.s.SaveDraft(ctx, e.draftOf(p, "qa-1")); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("SaveDraft(%s): %v", p.ExternalID, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		p := ps[fmt.Sprintf("r%02d", i)]
		if d, err := e.s.DraftOf(ctx, p.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s is reviewed but has a draft: %+v, %v", p.ExternalID, d, err)
		}
		e.checkPick("after racing save and finalise", p.ID, store.PickReviewed, "qa-1")
	}
}

// testListReviews: an inspector's finalised reviews, newest first and
// paged by id, without drafts or another inspector's; FinalReviewOf reads
// a pick's final review.
func testListReviews(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("c3", "a1", "random", 3, "qa-1"), pick("d1", "a2", "random", 1, "qa-2"))
	r1, _ := e.finalize(e.finalOf(ps["c1"], "qa-1", 70, "C"), store.Feedback{})
	r2, _ := e.finalize(e.finalOf(ps["c2"], "qa-1", 90, "A"), store.Feedback{})
	e.saveDraft(e.draftOf(ps["c3"], "qa-1"))
	other, _ := e.finalize(e.finalOf(ps["d1"], "qa-2", 50, "F"), store.Feedback{})

	list := func(f store.ReviewFilter) []int64 {
		t.Helper()
		rs, err := e.s.ListReviews(ctx, f)
		if err != nil {
			t.Fatalf("ListReviews(%+v): %v", f, err)
		}
		ids := make([]int64, len(rs))
		for i, r := range rs {
			ids[i] = r.ID
		}
		return ids
	}
	if got, want := list(store.ReviewFilter{InspectorID: "qa-1", Finalised: true}), []int64{r2.ID, r1.ID}; !slices.Equal(got, want) {
		t.Errorf("qa-1's finalised reviews = %v, want %v (newest first, no draft)", got, want)
	}
	if got, want := list(store.ReviewFilter{InspectorID: "qa-1", Finalised: true, Limit: 1}), []int64{r2.ID}; !slices.Equal(got, want) {
		t.Errorf("first page = %v, want %v", got, want)
	}
	if got, want := list(store.ReviewFilter{InspectorID: "qa-1", Finalised: true, BeforeID: r2.ID}), []int64{r1.ID}; !slices.Equal(got, want) {
		t.Errorf("page before %d = %v, want %v", r2.ID, got, want)
	}
	if got := list(store.ReviewFilter{Finalised: true}); len(got) != 3 || got[0] < got[1] || !slices.Contains(got, other.ID) {
		t.Errorf("everyone's finalised reviews = %v, want 3 newest first including %d", got, other.ID)
	}
	rs, err := e.s.ListReviews(ctx, store.ReviewFilter{InspectorID: "qa-1", Finalised: true, Limit: 1})
	if err != nil || len(rs) != 1 || !reflect.DeepEqual(rs[0], r2) {
		t.Errorf("listed review = %+v, %v; want %+v", rs, err, r2)
	}
	if got, err := e.s.FinalReviewOf(ctx, ps["c1"].ID); err != nil || !reflect.DeepEqual(got, r1) {
		t.Errorf("FinalReviewOf(c1) = %+v, %v; want %+v", got, err, r1)
	}
	if _, err := e.s.FinalReviewOf(ctx, ps["c3"].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FinalReviewOf a pick with only a draft = %v, want ErrNotFound", err)
	}
}
