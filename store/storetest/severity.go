package storetest

import (
	"reflect"
	"testing"

	"qa-sampling/store"
)

var severityTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"SeverityRows", testSeverityRows},
}

func testSeverityRows(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	w46 := e.picks("2026-W46", pick("p46a1", "a1", "random", 1, "qa-1"), pick("p46a2", "a2", "random", 1, "qa-2"))
	w47 := e.picks(week47, pick("p47a1", "a1", "random", 1, "qa-1"), pick("p47a2", "a2", "random", 1, "qa-2"),
		pick("p47a3", "a3", "random", 1, "qa-2"))
	w48 := e.picks("2026-W48", pick("p48a1", "a1", "random", 1, "qa-1"))
	final := func(p store.Pick, insp string, score float64) store.Review {
		t.Helper()
		r, _ := e.finalize(e.finalOf(p, insp, score, "C"), store.Feedback{})
		return r
	}
	r46a1 := final(w46["p46a1"], "qa-1", 81)
	r46a2 := final(w46["p46a2"], "qa-2", 71)
	disputed := final(w47["p47a1"], "qa-1", 90)
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: disputed.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"})
	if err != nil {
		t.Fatal(err)
	}
	rescored := e.finalOf(w47["p47a1"], "qa-3", 62.5, "D")
	rescored.DisputeID = d.ID
	rescoredReview, _ := e.finalize(rescored, store.Feedback{})
	e.saveDraft(e.draftOf(w47["p47a2"], "qa-2")) // drafts never
	r47a3 := final(w47["p47a3"], "qa-2", 55)
	final(w48["p48a1"], "qa-1", 99) // outside the range

	got, err := s.SeverityRows(ctx, "2026-W46", week47)
	if err != nil {
		t.Fatal(err)
	}
	row := func(r store.Review, status store.ReviewStatus, rescore float64) store.SeverityRow {
		return store.SeverityRow{ReviewID: r.ID, AgentID: r.AgentID, InspectorID: r.InspectorID, Week: r.Week, Score: r.Score,
			Critical: r.Critical, Status: status, RescoreScore: rescore}
	}
	want := []store.SeverityRow{
		row(r46a1, store.ReviewFinal, 0), row(r46a2, store.ReviewFinal, 0), row(disputed, store.ReviewRetracted, 62.5),
		row(rescoredReview, store.ReviewFinal, 0), row(r47a3, store.ReviewFinal, 0),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SeverityRows(W46–W47):\n got %+v\nwant %+v", got, want)
	}
	if got, err := s.SeverityRows(ctx, week47, "2026-W46"); err != nil || len(got) != 0 {
		t.Errorf("SeverityRows(empty range) = %+v, %v", got, err)
	}
}
