package storetest

import (
	"errors"
	"fmt"
	"maps"
	"qa-sampling/store"
	"qa-sampling/transcript"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// filterFixture stores two weeks of picks with every filterable field
// varied and returns them in id order.
func filterFixture(t *testing.T, s store.Store) (w47, w48 store.Run, all []store.Pick) {
	t.Helper()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1", "qa-2")
	inWeek(t, s, "a1", "c1", "c2", "c3", "c4")
	inWeek(t, s, "a2", "d1", "d2")
	var next []*transcript.Prepared
	for i, id := range []string{"n1", "n2", "n3"} {
		next = append(next, prepare(ending(id, "a1", weekTo.Add(time.Duration(i+1)*time.Hour))))
	}
	upsert(t, s, next...)
	w47 = mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, w47.ID,
		pick("c1", "a1", "random", 1, "qa-1"),
		pick("c2", "a1", "complaint", 2, "qa-2"),
		pick("d1", "a2", "random", 1, "qa-1"),
		pick("c3", "a1", "random", 3, ""),
		pick("d2", "a2", "vip", 2, "qa-2"),
	)
	w48 = mustRun(t, s, "2026-W48", 1)
	mustComplete(t, s, w48.ID,
		pick("n1", "a1", "random", 1, "qa-1"),
		pick("n2", "a1", "complaint", 2, "qa-1"),
		pick("n3", "a1", "random", 3, ""),
	)
	// One released, one skipped.
	all = listPicks(t, s, store.PickFilter{})
	rel := all[0]
	rel.InspectorID, rel.Status = "", store.PickPool
	if _, err := s.UpdatePick(t.Context(), rel.ID, store.PickAssigned, rel); err != nil {
		t.Fatal(err)
	}
	skip := all[1]
	skip.Status, skip.SkipReason = store.PickSkipped, "spam"
	if _, err := s.UpdatePick(t.Context(), skip.ID, store.PickAssigned, skip); err != nil {
		t.Fatal(err)
	}
	return w47, w48, listPicks(t, s, store.PickFilter{})
}

func testListPicksFilters(t *testing.T, s store.Store) {
	w47, w48, all := filterFixture(t, s)
	if len(all) != 8 {
		t.Fatalf("fixture has %d picks, want 8", len(all))
	}
	for i, p := range all {
		if i > 0 && p.ID <= all[i-1].ID {
			t.Fatalf("ListPicks not in id order: %d after %d", p.ID, all[i-1].ID)
		}
	}
	match := func(f store.PickFilter, p store.Pick) bool {
		week := map[int64]string{w47.ID: w47.Week, w48.ID: w48.Week}[p.RunID]
		return (f.RunID == 0 || p.RunID == f.RunID) && (f.Week == "" || week == f.Week) &&
			(f.AgentID == "" || p.AgentID == f.AgentID) && (f.Reason == "" || p.Reason == f.Reason) &&
			(f.InspectorID == "" || p.InspectorID == f.InspectorID) && (f.Status == "" || p.Status == f.Status)
	}
	filters := []store.PickFilter{
		{RunID: w47.ID},
		{RunID: w48.ID},
		{Week: "2026-W47"},
		{Week: "2026-W48"},
		{Week: "2026-W49"},
		{AgentID: "a2"},
		{Reason: "random"},
		{Reason: "complaint"},
		{InspectorID: "qa-1"},
		{InspectorID: "qa-2"},
		{Status: store.PickAssigned},
		{Status: store.PickPool},
		{Status: store.PickSkipped},
		{InspectorID: "qa-1", Status: store.PickAssigned}, // a queue
		{Week: "2026-W47", AgentID: "a1", Reason: "random"},
		{Week: "2026-W48", InspectorID: "qa-1", Status: store.PickAssigned},
		{RunID: w47.ID, Week: "2026-W48"}, // contradictory: nothing
	}
	for _, f := range filters {
		var want []store.Pick
		for _, p := range all {
			if match(f, p) {
				want = append(want, p)
			}
		}
		got := listPicks(t, s, f)
		if !reflect.DeepEqual(got, want) && (len(got) != 0 || len(want) != 0) {
			t.Errorf("ListPicks(%+v):\n got %q\nwant %q", f, identities(got), identities(want))
		}
	}
	// Sanity of the fixture: the filters above are not all trivial.
	if n := len(listPicks(t, s, store.PickFilter{InspectorID: "qa-1", Status: store.PickAssigned})); n != 3 {
		t.Errorf("qa-1's queue has %d items, want 3", n)
	}
	for _, p := range all {
		if p.ExternalID == "" || p.CreatedAt.IsZero() {
			t.Errorf("pick %d lacks ExternalID or CreatedAt: %+v", p.ID, p)
		}
	}
}

func testListPicksPaging(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	var ids []string
	for i := range 23 {
		ids = append(ids, fmt.Sprintf("p%02d", i))
	}
	inWeek(t, s, "a1", ids...)
	run := mustRun(t, s, "2026-W47", 1)
	var picks []store.Pick
	for i, id := range ids {
		picks = append(picks, pick(id, "a1", "random", i+1, ""))
	}
	slices.Reverse(picks) // ids follow the given order, not external ids
	mustComplete(t, s, run.ID, picks...)
	all := listPicks(t, s, store.PickFilter{RunID: run.ID})
	for _, limit := range []int{1, 5, 23, 100} {
		var got []store.Pick
		after := int64(0)
		for pages := 0; ; pages++ {
			page := listPicks(t, s, store.PickFilter{RunID: run.ID, AfterID: after, Limit: limit})
			if len(page) > limit {
				t.Fatalf("Limit %d returned %d", limit, len(page))
			}
			if len(page) == 0 || pages > 30 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(got, all) {
			t.Errorf("paging by %d: %d picks, want the %d of one call in the same order", limit, len(got), len(all))
		}
	}
	if !slices.Equal(identities(all), identities(picks)) {
		t.Errorf("ListPicks order = %q, want the order given to CompleteRun", identities(all))
	}
	// AfterID filters too, with other filters.
	mid := all[10].ID
	rest := listPicks(t, s, store.PickFilter{AgentID: "a1", AfterID: mid})
	if len(rest) != 12 || rest[0].ID <= mid {
		t.Errorf("AfterID %d returned %d picks starting at %d", mid, len(rest), rest[0].ID)
	}
}

func testInspectorLoads(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.InspectorLoads(ctx); err != nil || len(got) != 0 {
		t.Fatalf("InspectorLoads on an empty store = %v, %v", got, err)
	}
	mustInspectors(t, s, "qa-3") // active, no picks
	_, _, _ = filterFixture(t, s)
	mustInspectors(t, s, "qa-idle")
	if _, err := s.UpsertInspector(ctx, store.Inspector{ID: "qa-off", Name: "gone", Active: false}, "admin"); err != nil {
		t.Fatal(err)
	}
	got, err := s.InspectorLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// qa-1: c1 released, d1 and n1, n2 assigned; qa-2: c2 skipped, d2 assigned.
	want := map[string]int{"qa-1": 3, "qa-2": 1, "qa-3": 0, "qa-idle": 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InspectorLoads = %v, want %v (inactive left out)", got, want)
	}
	// Deactivating drops an inspector from the loads, picks and all.
	if _, err := s.UpsertInspector(ctx, store.Inspector{ID: "qa-2", Name: "Inspector qa-2", Active: false}, "admin"); err != nil {
		t.Fatal(err)
	}
	got, err = s.InspectorLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["qa-2"]; ok || got["qa-1"] != 3 {
		t.Errorf("InspectorLoads after deactivating qa-2 = %v", got)
	}
}

func testRecentInspectorsOf(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-x", "qa-y", "qa-z")
	if got, err := s.RecentInspectorsOf(ctx, "a1", 3); err != nil || len(got) != 0 {
		t.Fatalf("RecentInspectorsOf with no picks = %v, %v", got, err)
	}
	// Three weeks; a1 gets x, then y and x, then z and a pool pick.
	var runs []store.Run
	for w := range 3 {
		var items []*transcript.Prepared
		for i := range 3 {
			items = append(items, prepare(ending(fmt.Sprintf("w%d-%d", w, i), "a1", weekFrom.AddDate(0, 0, 7*w).Add(time.Duration(i+1)*time.Hour))))
		}
		upsert(t, s, items...)
		runs = append(runs, mustRun(t, s, fmt.Sprintf("2026-W%d", 47+w), 1))
	}
	mustComplete(t, s, runs[0].ID, pick("w0-0", "a1", "random", 1, "qa-x"))
	mustComplete(t, s, runs[1].ID, pick("w1-0", "a1", "random", 1, "qa-y"), pick("w1-1", "a1", "random", 2, "qa-x"), pick("w1-2", "a2", "random", 1, "qa-z"))
	mustComplete(t, s, runs[2].ID, pick("w2-0", "a1", "random", 1, "qa-z"), pick("w2-1", "a1", "random", 2, ""))
	cases := []struct {
		agent string
		limit int
		want  []string
	}{
		{"a1", 3, []string{"qa-z", "qa-x", "qa-y"}}, // each once, by their newest pick
		{"a1", 2, []string{"qa-z", "qa-x"}},
		{"a1", 10, []string{"qa-z", "qa-x", "qa-y"}},
		{"a2", 3, []string{"qa-z"}},
		{"nobody", 3, nil},
		{"a1", 0, nil},
	}
	for _, tc := range cases {
		got, err := s.RecentInspectorsOf(ctx, tc.agent, tc.limit)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("RecentInspectorsOf(%s, %d) = %q, %v; want %q", tc.agent, tc.limit, got, err, tc.want)
		}
	}
	// The batched form answers as one call per agent would; an agent named
	// twice is answered once, one without inspectors not at all.
	for _, limit := range []int{0, 1, 2, 3, 10} {
		got, err := s.RecentInspectorsOfAgents(ctx, []string{"a2", "a1", "nobody", "a1"}, limit)
		if err != nil {
			t.Fatalf("RecentInspectorsOfAgents(limit %d): %v", limit, err)
		}
		want := map[string][]string{}
		for _, a := range []string{"a1", "a2", "nobody"} {
			one, err := s.RecentInspectorsOf(ctx, a, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(one) > 0 {
				want[a] = one
			}
		}
		if !maps.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Errorf("RecentInspectorsOfAgents(limit %d) = %q; want %q", limit, got, want)
		}
	}
	if got, err := s.RecentInspectorsOfAgents(ctx, nil, 3); err != nil || len(got) != 0 {
		t.Errorf("RecentInspectorsOfAgents of no agents = %q, %v", got, err)
	}
}

func testUpdatePick(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1", "qa-2")
	inWeek(t, s, "a1", "c1", "c2")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	all := listPicks(t, s, store.PickFilter{})
	orig := all[0]

	time.Sleep(3 * time.Millisecond)
	rel := orig
	rel.InspectorID, rel.Status = "", store.PickPool
	rel.Reason, rel.Rank, rel.Key = "changed?", 99, 1 // not what UpdatePick changes
	w := begin()
	got, err := s.UpdatePick(ctx, orig.ID, store.PickAssigned, rel)
	w = w.close()
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	want := orig
	want.InspectorID, want.Status, want.UpdatedAt = "", store.PickPool, got.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UpdatePick = %+v\nwant %+v", got, want)
	}
	w.check(t, "UpdatedAt", got.UpdatedAt)
	if !got.CreatedAt.Equal(orig.CreatedAt) {
		t.Errorf("CreatedAt moved")
	}
	// The same compare-and-set again fails: it is no longer assigned.
	if _, err := s.UpdatePick(ctx, orig.ID, store.PickAssigned, rel); !errors.Is(err, store.ErrConflict) {
		t.Errorf("release of a released pick = %v, want ErrConflict", err)
	}
	// Taken from the pool by another inspector, then skipped.
	take := got
	take.InspectorID, take.Status = "qa-2", store.PickAssigned
	if got, err = s.UpdatePick(ctx, orig.ID, store.PickPool, take); err != nil || got.InspectorID != "qa-2" || got.Status != store.PickAssigned {
		t.Fatalf("take from pool = %+v, %v", got, err)
	}
	skip := got
	skip.Status, skip.SkipReason = store.PickSkipped, "not reviewable: 乱码"
	if got, err = s.UpdatePick(ctx, orig.ID, store.PickAssigned, skip); err != nil || got.Status != store.PickSkipped || got.SkipReason != skip.SkipReason || got.InspectorID != "qa-2" {
		t.Fatalf("skip = %+v, %v", got, err)
	}
	if _, err := s.UpdatePick(ctx, orig.ID, store.PickAssigned, rel); !errors.Is(err, store.ErrConflict) {
		t.Errorf("release of a skipped pick = %v, want ErrConflict", err)
	}
	if _, err := s.UpdatePick(ctx, orig.ID+1000, store.PickAssigned, rel); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePick(unknown) = %v, want ErrNotFound", err)
	}
	other := all[1]
	other.InspectorID = "qa-ghost"
	if _, err := s.UpdatePick(ctx, other.ID, store.PickAssigned, other); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePick to an unknown inspector = %v, want ErrNotFound", err)
	}
	if got := listPicks(t, s, store.PickFilter{})[1]; !reflect.DeepEqual(got, all[1]) {
		t.Errorf("a refused update changed the pick: %+v", got)
	}
}

func testUpdatePickConcurrent(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"))
	p := listPicks(t, s, store.PickFilter{})[0]
	const n = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range n {
		wg.Go(func() {
			q := p
			if i%2 == 0 {
				q.InspectorID, q.Status = "", store.PickPool
			} else {
				q.Status, q.SkipReason = store.PickSkipped, fmt.Sprintf("skip %d", i)
			}
			got, err := s.UpdatePick(t.Context(), p.ID, store.PickAssigned, q)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners = append(winners, string(got.Status)+" "+got.SkipReason)
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("UpdatePick: %v", err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d concurrent compare-and-sets succeeded (%q), want 1", len(winners), winners)
	}
	final := listPicks(t, s, store.PickFilter{})[0]
	if string(final.Status)+" "+final.SkipReason != winners[0] {
		t.Errorf("stored %s %q, but the winner wrote %q", final.Status, final.SkipReason, winners[0])
	}
}

func testAddPick(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	run := mustRun(t, s, "2026-W47", 1)
	repl := store.Pick{RunID: run.ID, ExternalID: "c2", AgentID: "a1", Reason: "random", Rank: 2, Key: 1 << 63, InspectorID: "qa-1", Status: store.PickAssigned}
	if _, err := s.AddPick(ctx, repl); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddPick to an incomplete run = %v, want ErrConflict", err)
	}
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"))
	skipped := listPicks(t, s, store.PickFilter{})[0]
	skipped.Status, skipped.SkipReason = store.PickSkipped, "spam"
	if _, err := s.UpdatePick(ctx, skipped.ID, store.PickAssigned, skipped); err != nil {
		t.Fatal(err)
	}

	repl.ReplacesID = skipped.ID
	w := begin()
	got, err := s.AddPick(ctx, repl)
	w = w.close()
	if err != nil {
		t.Fatalf("AddPick: %v", err)
	}
	if got.ID <= skipped.ID || got.RunID != run.ID || pickIdentity(got) != pickIdentity(repl) {
		t.Errorf("AddPick = %+v, want %+v with a new id", got, repl)
	}
	w.check(t, "CreatedAt", got.CreatedAt)
	if !get(t, s, "c2").Sampled {
		t.Error("the replacement's transcript is not marked sampled")
	}
	if r, _ := s.GetRun(ctx, run.ID); r.Picks != 2 {
		t.Errorf("run Picks = %d after a replacement, want 2 (the stored picks)", r.Picks)
	}
	if list := listPicks(t, s, store.PickFilter{RunID: run.ID}); len(list) != 2 || !reflect.DeepEqual(list[1], got) {
		t.Errorf("ListPicks after AddPick = %q", identities(list))
	}
	if _, err := s.AddPick(ctx, repl); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddPick of a picked (transcript, agent) = %v, want ErrConflict", err)
	}
	bad := repl
	bad.ExternalID, bad.ReplacesID = "ghost", 0
	if _, err := s.AddPick(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddPick of an unknown transcript = %v, want ErrNotFound", err)
	}
	bad = repl
	bad.ExternalID, bad.RunID = "c3", run.ID+1000
	if _, err := s.AddPick(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddPick to an unknown run = %v, want ErrNotFound", err)
	}
	if r, _ := s.GetRun(ctx, run.ID); r.Picks != 2 || get(t, s, "c3").Sampled {
		t.Errorf("refused AddPicks changed the run (%d picks) or froze c3", r.Picks)
	}
	// A pool replacement, with no inspector.
	pool := repl
	pool.ExternalID, pool.InspectorID, pool.Status, pool.ReplacesID = "c3", "", "", 0
	if got, err := s.AddPick(ctx, pool); err != nil || got.Status != store.PickPool || got.InspectorID != "" {
		t.Errorf("AddPick to the pool = %+v, %v", got, err)
	}
}
