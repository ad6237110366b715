package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func testFeedbackFilters(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != 0 {
		t.Errorf("LastFeedbackID on an empty store = %d, %v", id, err)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 0 {
		t.Errorf("ListFeedback on an empty store = %d records", len(got))
	}
	w47 := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-1"), pick("e1", "a3", "random", 1, "qa-2"))
	w46 := e.picks("2026-W46", pick("c3", "a1", "random", 1, "qa-1"), pick("d2", "a2", "random", 1, "qa-2"))
	order := []struct {
		p     store.Pick
		insp  string
		grade string
	}{
		{w47["c1"], "qa-1", "A"}, {w47["d1"], "qa-1", "B"}, {w46["c3"], "qa-1", "B"},
		{w47["e1"], "qa-2", "C"}, {w46["d2"], "qa-2", "A"}, {w47["c2"], "qa-1", "B"},
	}
	var recs []store.Feedback
	for i, o := range order {
		_, fb := e.finalize(e.finalOf(o.p, o.insp, float64(90-i), o.grade), store.Feedback{})
		recs = append(recs, fb)
	}
	acked := map[int64]bool{}
	for _, i := range []int{0, 4} {
		if _, err := e.s.AcknowledgeFeedback(ctx, recs[i].ID, recs[i].SupervisorID, ""); err != nil {
			t.Fatal(err)
		}
		acked[recs[i].ID] = true
	}
	filters := []store.FeedbackFilter{
		{},
		{SupervisorID: "sup-1"},
		{SupervisorID: "sup-2"},
		{SupervisorID: "nobody"},
		{AgentID: "a1"},
		{AgentID: "a3"},
		{Week: "2026-W46"},
		{Week: week47},
		{Grade: "B"},
		{Unacknowledged: true},
		{SupervisorID: "sup-1", Week: week47, Grade: "B"},
		{SupervisorID: "sup-1", Unacknowledged: true},
		{Acknowledged: true},
		{SupervisorID: "sup-2", Acknowledged: true},
		{AgentID: "a2", Grade: "A"},
	}
	for _, f := range filters {
		var want []int64
		for _, r := range recs {
			if (f.SupervisorID == "" || r.SupervisorID == f.SupervisorID) && (f.AgentID == "" || r.Review.AgentID == f.AgentID) &&
				(f.Week == "" || r.Review.Week == f.Week) && (f.Grade == "" || r.Review.Grade == f.Grade) &&
				(!f.Unacknowledged || !acked[r.ID]) && (!f.Acknowledged || acked[r.ID]) {
				want = append(want, r.ID)
			}
		}
		got := e.feedback(f)
		if ids := feedbackIDs(got); !slices.Equal(ids, want) {
			t.Errorf("ListFeedback(%+v) = %v, want %v", f, ids, want)
		}
		// Paging through the same filter yields the same, in order.
		for _, limit := range []int{1, 2, 4} {
			var paged []int64
			f2 := f
			f2.Limit = limit
			for range len(recs) + 2 {
				page := e.feedback(f2)
				if len(page) > limit {
					t.Fatalf("ListFeedback(%+v) returned %d records", f2, len(page))
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, feedbackIDs(page)...)
				f2.AfterID = page[len(page)-1].ID
			}
			if !slices.Equal(paged, want) {
				t.Errorf("ListFeedback(%+v) paged by %d = %v, want %v", f, limit, paged, want)
			}
		}
		// Newest first, paged by BeforeID, is the same list reversed.
		newest := slices.Clone(want)
		slices.Reverse(newest)
		for _, limit := range []int{0, 1, 4} {
			var paged []int64
			f2 := f
			f2.NewestFirst, f2.Limit = true, limit
			for range len(recs) + 2 {
				page := e.feedback(f2)
				if len(page) == 0 {
					break
				}
				paged = append(paged, feedbackIDs(page)...)
				if limit == 0 {
					break
				}
				f2.BeforeID = page[len(page)-1].ID
			}
			if !slices.Equal(paged, newest) {
				t.Errorf("ListFeedback(%+v) newest first, paged by %d = %v, want %v", f, limit, paged, newest)
			}
		}
	}
	// Records are whole, with their review, whichever way they are read.
	all := e.feedback(store.FeedbackFilter{})
	for i, f := range all {
		if got, err := e.s.GetFeedback(ctx, f.ID); err != nil || !reflect.DeepEqual(got, f) {
			t.Errorf("GetFeedback(%d) = %+v, %v; want %+v", f.ID, got, err, f)
		}
		if f.Review.PickID != order[i].p.ID || f.Review.Status != store.ReviewFinal || f.Review.Grade != order[i].grade {
			t.Errorf("record %d reports review %+v", f.ID, f.Review)
		}
		if want := strings.ToUpper(f.Review.AgentID); f.AgentName != want {
			t.Errorf("record %d names agent %s %q, want the directory's %q", f.ID, f.Review.AgentID, f.AgentName, want)
		}
	}
	last := recs[len(recs)-1].ID
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != last {
		t.Errorf("LastFeedbackID = %d, %v; want %d", id, err, last)
	}
	if got := e.feedback(store.FeedbackFilter{AfterID: last}); len(got) != 0 {
		t.Errorf("ListFeedback(after the last) = %v", feedbackIDs(got))
	}
	if got := e.feedback(store.FeedbackFilter{AfterID: recs[1].ID, Limit: 2}); !slices.Equal(feedbackIDs(got), []int64{recs[2].ID, recs[3].ID}) {
		t.Errorf("ListFeedback(after %d, limit 2) = %v", recs[1].ID, feedbackIDs(got))
	}
	if _, err := e.s.GetFeedback(ctx, last+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFeedback(unknown) = %v, want ErrNotFound", err)
	}
	lastOf := func(supervisor string) int64 {
		t.Helper()
		id, err := e.s.LastFeedbackID(ctx, supervisor)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Per supervisor, the newest of their own agents' records.
	if got := lastOf("sup-2"); got != recs[4].ID {
		t.Errorf("LastFeedbackID(sup-2) = %d, want %d (d2, its newest)", got, recs[4].ID)
	}
	if got := lastOf("nobody"); got != 0 {
		t.Errorf("LastFeedbackID(nobody) = %d, want 0", got)
	}
	// Records follow the agent's current supervisor, whoever they were
	// addressed to: a1 (c1, c3, c2) moves from sup-1 to sup-2.
	e.agents(store.Agent{AgentID: "a1", Name: "A1", TeamID: "team-2", SupervisorID: "sup-2", Active: true})
	if got, want := feedbackIDs(e.feedback(store.FeedbackFilter{SupervisorID: "sup-2"})),
		[]int64{recs[0].ID, recs[1].ID, recs[2].ID, recs[4].ID, recs[5].ID}; !slices.Equal(got, want) {
		t.Errorf("ListFeedback(sup-2) after a1 moved = %v, want %v", got, want)
	}
	if got, want := feedbackIDs(e.feedback(store.FeedbackFilter{SupervisorID: "sup-1"})), []int64{recs[3].ID}; !slices.Equal(got, want) {
		t.Errorf("ListFeedback(sup-1) after a1 moved = %v, want %v", got, want)
	}
	if got, err := e.s.GetFeedback(ctx, recs[0].ID); err != nil || got.SupervisorID != "sup-2" || got.TeamID != "team-1" {
		t.Errorf("a1's record after the move = %s/%s, %v; want sup-2, team-1 as written", got.SupervisorID, got.TeamID, err)
	}
	if got := lastOf("sup-1"); got != recs[3].ID {
		t.Errorf("LastFeedbackID(sup-1) after a1 moved = %d, want %d", got, recs[3].ID)
	}
	if got := lastOf("sup-2"); got != last {
		t.Errorf("LastFeedbackID(sup-2) after a1 moved = %d, want %d", got, last)
	}
}

func testFeedbackAcknowledge(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("c3", "a1", "random", 3, "qa-1"))
	_, fb := e.finalize(e.finalOf(ps["c1"], "qa-1", 50, "D"), store.Feedback{CoachingRequired: true})
	_, other := e.finalize(e.finalOf(ps["c2"], "qa-1", 90, "A"), store.Feedback{})

	unchanged := func(step string, got store.Feedback) {
		t.Helper()
		g, w := got, fb
		g.AcknowledgedAt, g.AcknowledgedBy, g.CoachingNote = w.AcknowledgedAt, w.AcknowledgedBy, w.CoachingNote
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: acknowledging changed the record:\n got %+v\nwant %+v", step, got, fb)
		}
		if stored, err := e.s.GetFeedback(ctx, got.ID); err != nil || !reflect.DeepEqual(stored, got) {
			t.Errorf("%s: GetFeedback = %+v, %v; want what AcknowledgeFeedback returned %+v", step, stored, err, got)
		}
	}
	w := begin()
	a1, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "")
	w = w.close()
	if err != nil {
		t.Fatal(err)
	}
	w.check(t, "AcknowledgedAt", a1.AcknowledgedAt)
	if a1.AcknowledgedBy != "sup-1" || a1.CoachingNote != "" {
		t.Errorf("first acknowledgement = by %q note %q", a1.AcknowledgedBy, a1.CoachingNote)
	}
	unchanged("first", a1)

	note := "已辅导: talked it through, 'quotes' \"too\""
	a2, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "team-lead", note)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.AcknowledgedAt.Equal(a1.AcknowledgedAt) || a2.AcknowledgedBy != "sup-1" || a2.CoachingNote != note {
		t.Errorf("second acknowledgement = at %s by %q note %q; want the first time and author, the note set",
			a2.AcknowledgedAt, a2.AcknowledgedBy, a2.CoachingNote)
	}
	unchanged("with a note", a2)
	a3, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "")
	if err != nil || a3.CoachingNote != note || !a3.AcknowledgedAt.Equal(a1.AcknowledgedAt) || a3.AcknowledgedBy != "sup-1" {
		t.Errorf("acknowledgement without a note = %+v, %v; want the note kept", a3, err)
	}
	a4, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "second note")
	if err != nil || a4.CoachingNote != "second note" || !a4.AcknowledgedAt.Equal(a1.AcknowledgedAt) {
		t.Errorf("acknowledgement with a new note = %+v, %v; want the note replaced", a4, err)
	}
	unchanged("new note", a4)
	// A note may come with the first acknowledgement too.
	o, err := e.s.AcknowledgeFeedback(ctx, other.ID, "sup-x", "well done")
	if err != nil || o.AcknowledgedBy != "sup-x" || o.CoachingNote != "well done" || o.AcknowledgedAt.IsZero() {
		t.Errorf("first acknowledgement with a note = %+v, %v", o, err)
	}
	if _, err := e.s.AcknowledgeFeedback(ctx, other.ID+1000, "sup-1", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AcknowledgeFeedback(unknown) = %v, want ErrNotFound", err)
	}
	if got := e.feedback(store.FeedbackFilter{Unacknowledged: true}); len(got) != 0 {
		t.Errorf("unacknowledged records: %v", feedbackIDs(got))
	}

	// Supervisors acknowledging one record at once: one of them is first,
	// and everyone is told the same time and author.
	_, third := e.finalize(e.finalOf(ps["c3"], "qa-1", 70, "C"), store.Feedback{})
	const n = 8
	acks := make([]store.Feedback, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range n {
		wg.Go(func() {
			<-start
			f, err := e.s.AcknowledgeFeedback(ctx, third.ID, fmt.Sprintf("sup-%d", i), "")
			if err != nil {
				t.Errorf("AcknowledgeFeedback: %v", err)
			}
			acks[i] = f
		})
	}
	close(start)
	wg.Wait()
	stored, err := e.s.GetFeedback(ctx, third.ID)
	if err != nil || stored.AcknowledgedAt.IsZero() || !strings.HasPrefix(stored.AcknowledgedBy, "sup-") {
		t.Fatalf("record after racing acknowledgements = %+v, %v", stored, err)
	}
	for i, a := range acks {
		if !a.AcknowledgedAt.Equal(stored.AcknowledgedAt) || a.AcknowledgedBy != stored.AcknowledgedBy {
			t.Errorf("racing acknowledgement %d = at %s by %s; stored at %s by %s", i, a.AcknowledgedAt, a.AcknowledgedBy,
				stored.AcknowledgedAt, stored.AcknowledgedBy)
		}
	}
}

// testFeedbackOrderConcurrent finalises many picks at once while a reader
// follows the records by id: every record must be listed, in strictly
// increasing id order, and the reader, resuming after the last id it saw,
// must not skip one committed later with a lower id.
// testFeedbackFollowsMoveConcurrent finalises an agent's picks while the
// agent moves between supervisors: every record must end with the
// supervisor the agent has last, none left with an earlier one by a
// finalise that read the agent before a move and committed after it.
func testFeedbackFollowsMoveConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 24
	var specs []store.Pick
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("m%02d", i), "a1", "random", i+1, []string{"qa-1", "qa-2", "qa-3"}[i%3]))
	}
	ps := e.picks(week47, specs...)
	var wg sync.WaitGroup
	for _, insp := range []string{"qa-1", "qa-2", "qa-3"} {
		wg.Go(func() {
			for _, p := range ps {
				if p.InspectorID != insp {
					continue
				}
				if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(p, insp, 80, "B"), store.Feedback{}); err != nil {
					t.Errorf("FinalizeReview(%d): %v", p.ID, err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 2 * n {
			sup := []string{"sup-1", "sup-2"}[i%2]
			if _, err := s.UpsertAgents(ctx, []store.Agent{{AgentID: "a1", Name: "A1", TeamID: "team-1", SupervisorID: sup, Active: true}}); err != nil {
				t.Errorf("UpsertAgents: %v", err)
			}
		}
	})
	wg.Wait()
	last, err := s.GetAgent(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	recs := e.feedback(store.FeedbackFilter{AgentID: "a1"})
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for _, f := range recs {
		if f.SupervisorID != last.SupervisorID {
			t.Errorf("record %d is %s's, but a1 ended with %s", f.ID, f.SupervisorID, last.SupervisorID)
		}
	}
}

func testFeedbackOrderConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 16
	var specs []store.Pick
	for i := range n {
		agentID := []string{"a1", "a2", "a3"}[i%3]
		specs = append(specs, pick(fmt.Sprintf("x%02d", i), agentID, "random", i+1, []string{"qa-1", "qa-2", "qa-3"}[i%3]))
	}
	ps := e.picks(week47, specs...)

	done := make(chan struct{})
	followed := make(chan []int64, 1)
	go func() {
		var seen []int64
		var after int64
		for {
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			page, err := e.s.ListFeedback(ctx, store.FeedbackFilter{AfterID: after, Limit: 5})
			if err != nil {
				t.Errorf("ListFeedback: %v", err)
				break
			}
			seen = append(seen, feedbackIDs(page)...)
			if len(page) > 0 {
				after = page[len(page)-1].ID
			}
			// After the writers are done, read until a page comes back empty.
			if finished && len(page) == 0 {
				break
			}
		}
		followed <- seen
	}()

	ids := make(chan int64, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for _, sp := range specs {
		p := ps[sp.ExternalID]
		wg.Go(func() {
			<-start
			_, fb, err := e.s.FinalizeReview(ctx, e.finalOf(p, sp.InspectorID, 80, "B"), store.Feedback{})
			if err != nil {
				t.Errorf("FinalizeReview(%s): %v", p.ExternalID, err)
				return
			}
			if fb.Review.PickID != p.ID {
				t.Errorf("FinalizeReview(%s) returned the record of pick %d", p.ExternalID, fb.Review.PickID)
			}
			ids <- fb.ID
		})
	}
	close(start)
	wg.Wait()
	close(done)
	close(ids)
	var want []int64
	for id := range ids {
		want = append(want, id)
	}
	slices.Sort(want)
	if len(want) != n || len(slices.Compact(slices.Clone(want))) != n {
		t.Fatalf("finalisations returned ids %v, want %d distinct", want, n)
	}
	list := e.feedback(store.FeedbackFilter{})
	got := feedbackIDs(list)
	if !slices.Equal(got, want) {
		t.Errorf("ListFeedback ids = %v, want every returned id %v", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Errorf("ListFeedback ids not strictly increasing: %v", got)
			break
		}
	}
	if seen := <-followed; !slices.Equal(seen, want) {
		t.Errorf("a reader following by id saw %v, want %v (a record committed behind the cursor)", seen, want)
	}
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != want[n-1] {
		t.Errorf("LastFeedbackID = %d, %v; want %d", id, err, want[n-1])
	}
	// The racing finalisations share three agents' report rows: none lost.
	rows, err := e.s.ReportRows(ctx, store.ReportFilter{AgentIDs: []string{"a1", "a2", "a3"}, FromWeek: week47, ToWeek: week47})
	if err != nil {
		t.Fatalf("ReportRows: %v", err)
	}
	perAgent := map[string]int{}
	for _, r := range rows {
		perAgent[r.AgentID]++
	}
	if len(rows) != n || perAgent["a1"] != 6 || perAgent["a2"] != 5 || perAgent["a3"] != 5 {
		t.Errorf("ReportRows after racing finalisations: %d rows %v, want %d (a1 6, a2 5, a3 5)", len(rows), perAgent, n)
	}
}
