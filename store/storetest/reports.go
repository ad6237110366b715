package storetest

import (
	"cmp"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"sync"
	"testing"
)

func reportRows(t *testing.T, s store.Store, f store.ReportFilter) []store.ReportRow {
	t.Helper()
	got, err := s.ReportRows(t.Context(), f)
	if err != nil {
		t.Fatalf("ReportRows: %v", err)
	}
	slices.SortFunc(got, compareRows)
	for i := range got {
		got[i].Flags = nilIfEmpty(got[i].Flags)
		got[i].Ratings = nilIfEmpty(got[i].Ratings)
	}
	return got
}

// reportRow is what a report should read of final review r.
func reportRow(r store.Review) store.ReportRow {
	ratings := expectRatings(r.Ratings)
	for i := range ratings {
		ratings[i].Comment = ""
	}
	return store.ReportRow{AgentID: r.AgentID, Week: r.Week, Score: r.Score, Critical: r.Critical,
		Flags: nilIfEmpty(r.Flags), Ratings: nilIfEmpty(ratings)}
}

func testReportRows(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	w45 := e.picks("2026-W45", pick("p45a1", "a1", "random", 1, "qa-1"))
	w46 := e.picks("2026-W46", pick("p46a1", "a1", "random", 1, "qa-1"), pick("p46a3", "a3", "random", 1, "qa-1"),
		pick("p46a2", "a2", "random", 1, "qa-2"))
	w47 := e.picks(week47, pick("p47a1", "a1", "random", 1, "qa-1"), pick("p47a1x", "a1", "complaint", 2, "qa-1"),
		pick("p47a1d", "a1", "random", 3, "qa-1"), pick("p47a2", "a2", "random", 1, "qa-2"), pick("p47a2p", "a2", "random", 2, ""))
	w48 := e.picks("2026-W48", pick("p48a2", "a2", "random", 1, "qa-2"))

	final := func(p store.Pick, insp string, score float64, grade string) store.Review {
		t.Helper()
		r, _ := e.finalize(e.finalOf(p, insp, score, grade), store.Feedback{})
		return r
	}
	final(w45["p45a1"], "qa-1", 91, "A")
	in46 := final(w46["p46a1"], "qa-1", 81, "B")
	final(w46["p46a3"], "qa-1", 61, "D")
	a2in46 := final(w46["p46a2"], "qa-2", 71.25, "C")
	// A final review with no ratings or flags at all.
	bare := e.finalOf(w47["p47a1"], "qa-1", 100, "A")
	bare.Ratings, bare.Flags = nil, nil
	in47, _ := e.finalize(bare, store.Feedback{})
	// Disputed and re-scored: only the re-scoring counts.
	disputed := final(w47["p47a1x"], "qa-1", 0, "F")
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: disputed.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"})
	if err != nil {
		t.Fatal(err)
	}
	rescored := e.finalOf(w47["p47a1x"], "qa-3", 55.5, "D")
	rescored.DisputeID = d.ID
	rescoredReview, _ := e.finalize(rescored, store.Feedback{})
	// Disputed and not yet re-scored: the disputed review counts still.
	openly := final(w47["p47a1d"], "qa-1", 33, "F")
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: openly.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"}); err != nil {
		t.Fatal(err)
	}
	// Drafts never count.
	e.saveDraft(e.draftOf(w47["p47a2"], "qa-2"))
	final(w48["p48a2"], "qa-2", 77, "C")

	got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1", "a2"}, FromWeek: "2026-W46", ToWeek: week47})
	want := []store.ReportRow{reportRow(in46), reportRow(openly), reportRow(rescoredReview), reportRow(in47), reportRow(a2in46)}
	slices.SortFunc(want, compareRows)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReportRows(a1, a2, W46–W47):\n got %+v\nwant %+v", got, want)
	}
	// Bounds are inclusive.
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1", "a2", "a3"}, FromWeek: "2026-W46", ToWeek: "2026-W46"}); len(got) != 3 {
		t.Errorf("ReportRows(W46 only) = %+v, want the three W46 reviews", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a2"}, FromWeek: "2026-W48", ToWeek: "2026-W48"}); len(got) != 1 || got[0].Score != 77 {
		t.Errorf("ReportRows(a2, W48) = %+v", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1"}, FromWeek: "2026-W40", ToWeek: "2026-W52"}); len(got) != 5 {
		t.Errorf("ReportRows(a1, all weeks) = %d rows, want 5", len(got))
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"nobody"}, FromWeek: "2026-W40", ToWeek: "2026-W52"}); len(got) != 0 {
		t.Errorf("ReportRows(unknown agent) = %+v", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{FromWeek: "2026-W40", ToWeek: "2026-W52"}); len(got) != 0 {
		t.Errorf("ReportRows(no agents) = %+v", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1", "a2"}, FromWeek: week47, ToWeek: "2026-W46"}); len(got) != 0 {
		t.Errorf("ReportRows(empty range) = %+v", got)
	}
}

func compareRows(a, b store.ReportRow) int {
	return cmp.Or(cmp.Compare(a.AgentID, b.AgentID), cmp.Compare(a.Week, b.Week), cmp.Compare(a.Score, b.Score))
}

// testReportRowsManyAgents asks for more agents than one query binds,
// with reviewed agents on both sides of every chunk boundary.
func testReportRowsManyAgents(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	const n = 1203
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%04d", i)
	}
	reviewed := []int{0, 1, 499, 500, 501, 999, 1000, 1001, 1202}
	var specs []store.Pick
	var agents []store.Agent
	for _, i := range reviewed {
		agents = append(agents, store.Agent{AgentID: ids[i], Name: ids[i], TeamID: "team-1", SupervisorID: "sup-1", Active: true})
		specs = append(specs, pick("t-"+ids[i], ids[i], "random", 1, "qa-1"))
	}
	e.agents(agents...)
	ps := e.picks(week47, specs...)
	var want []store.ReportRow
	for k, i := range reviewed {
		r, _ := e.finalize(e.finalOf(ps["t-"+ids[i]], "qa-1", float64(k), "C"), store.Feedback{})
		want = append(want, reportRow(r))
	}
	slices.SortFunc(want, compareRows)
	got := reportRows(t, e.s, store.ReportFilter{AgentIDs: ids, FromWeek: week47, ToWeek: week47})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReportRows(%d agents) = %d rows, want %d:\n got %+v\nwant %+v", n, len(got), len(want), got, want)
	}
}

// testReportRowsDisputeRace resolves a dispute while other reviews of the
// same agent and week are finalised at the same moment: the re-scoring
// rewrites the week's report row from the reviews, and must neither drop a
// review finalised alongside it nor keep the retracted one.
func testReportRowsDisputeRace(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const others = 5
	for round := range 6 {
		week := fmt.Sprintf("2026-W%02d", 40+round)
		specs := []store.Pick{pick(fmt.Sprintf("r%d-orig", round), "a1", "random", 1, "qa-1")}
		for i := range others {
			specs = append(specs, pick(fmt.Sprintf("r%d-x%d", round, i), "a1", "random", i+2, []string{"qa-1", "qa-3"}[i%2]))
		}
		ps := e.picks(week, specs...)
		orig, _ := e.finalize(e.finalOf(ps[specs[0].ExternalID], "qa-1", 10, "F"), store.Feedback{})
		d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "race", AssigneeID: "qa-2"})
		if err != nil {
			t.Fatalf("OpenDispute: %v", err)
		}
		rescore := e.finalOf(ps[specs[0].ExternalID], "qa-2", 99, "A")
		rescore.DisputeID = d.ID
		jobs := []store.Review{rescore}
		want := []float64{99}
		for i, sp := range specs[1:] {
			jobs = append(jobs, e.finalOf(ps[sp.ExternalID], sp.InspectorID, float64(50+i), "C"))
			want = append(want, float64(50+i))
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, j := range jobs {
			wg.Go(func() {
				<-start
				if _, _, err := e.s.FinalizeReview(ctx, j, store.Feedback{}); err != nil {
					t.Errorf("FinalizeReview(pick %d): %v", j.PickID, err)
				}
			})
		}
		close(start)
		wg.Wait()
		rows, err := e.s.ReportRows(ctx, store.ReportFilter{AgentIDs: []string{"a1"}, FromWeek: week, ToWeek: week})
		if err != nil {
			t.Fatalf("ReportRows: %v", err)
		}
		var got []float64
		for _, r := range rows {
			got = append(got, r.Score)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: report scores %v, want %v (the re-score and every review finalised beside it, not the retracted 10)", round, got, want)
		}
	}
}
