package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func testCreateRunIdempotent(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed := []byte{0, 1, 2, 0xfe, 0xff}
	created := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	first, ok, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: seed, Trigger: "schedule", CreatedAt: created})
	if err != nil || !ok {
		t.Fatalf("CreateRun = %+v, %v, %v; want created", first, ok, err)
	}
	want := store.Run{ID: first.ID, Week: "2026-W47", PolicyVersion: 1, Seed: seed, Trigger: "schedule", CreatedAt: created}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("CreateRun = %+v, want %+v", first, want)
	}
	again, ok, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("other"), Trigger: "manual:admin"})
	if err != nil || ok {
		t.Fatalf("CreateRun again = %v, %v; want the existing run", ok, err)
	}
	if !reflect.DeepEqual(again, first) {
		t.Errorf("CreateRun again = %+v, want the first run %+v (its seed and trigger)", again, first)
	}
	w := begin()
	v2, ok, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 2, Trigger: "manual:admin"})
	w = w.close()
	if err != nil || !ok || v2.ID == first.ID {
		t.Fatalf("CreateRun(policy 2) = %+v, %v, %v; want a new run", v2, ok, err)
	}
	w.check(t, "CreatedAt (not given)", v2.CreatedAt)
	if len(v2.Seed) != 0 {
		t.Errorf("nil seed read back as %v", v2.Seed)
	}
	w48 := mustRun(t, s, "2026-W48", 1)

	got, err := s.GetRun(ctx, first.ID)
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("GetRun = %+v, %v; want %+v", got, err, first)
	}
	if _, err := s.GetRun(ctx, w48.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun(unknown) = %v, want ErrNotFound", err)
	}
	runIDs := func(week string) []int64 {
		rs, err := s.ListRuns(ctx, week)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if got, want := runIDs("2026-W47"), []int64{v2.ID, first.ID}; !slices.Equal(got, want) {
		t.Errorf("ListRuns(W47) = %v, want newest first %v", got, want)
	}
	if got, want := runIDs(""), []int64{w48.ID, v2.ID, first.ID}; !slices.Equal(got, want) {
		t.Errorf("ListRuns(all) = %v, want %v", got, want)
	}
	if got := runIDs("2020-W01"); len(got) != 0 {
		t.Errorf("ListRuns(other week) = %v", got)
	}
	if _, _, err := s.CreateRun(ctx, store.Run{PolicyVersion: 1}); err == nil {
		t.Error("CreateRun without a week succeeded")
	}
}

// testRunDisagreement: the rule order and weights check_disagreement gave
// a run are stored with it when it is created, read back exactly by
// GetRun, ListRuns and CompleteRun (weights are floats such as 1 − 0.7
// and 2/3), kept when the run is asked for again with others, and absent
// for a run without them.
func testRunDisagreement(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "c1")
	d := &store.RunDisagreement{
		Rules:    []string{"complaint", "check:no_greeting", "low_csat", "check:forbidden_phrase"},
		FromWeek: "2026-W43", ToWeek: "2026-W46", ReviewsBefore: time.Date(2026, 11, 23, 2, 0, 0, 123e6, time.UTC),
		CheckSetVersion: 3, Reviews: 17,
		Weights: []store.CheckWeight{
			{Check: "no_greeting", Dimension: "attitude", TP: 1, FP: 2, Weight: 1 - 1.0/3},
			{Check: "forbidden_phrase", Dimension: "attitude", TP: 7, FP: 3, Weight: 1 - 0.7},
			{Check: "slow_reply", Dimension: "efficiency", Weight: 1},
		},
	}
	run, created, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("s"), Trigger: "schedule",
		CreatedAt: d.ReviewsBefore, Disagreement: d})
	if err != nil || !created {
		t.Fatalf("CreateRun = %+v, %v, %v", run, created, err)
	}
	if !reflect.DeepEqual(run.Disagreement, d) {
		t.Errorf("CreateRun Disagreement = %+v\nwant %+v", run.Disagreement, d)
	}
	other := *d
	other.Rules = []string{"complaint", "check:forbidden_phrase", "low_csat", "check:no_greeting"}
	again, created, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Disagreement: &other})
	if err != nil || created || !reflect.DeepEqual(again.Disagreement, d) {
		t.Errorf("CreateRun again = %+v, %v, %v; want the first run's order %v", again.Disagreement, created, err, d.Rules)
	}
	if got, err := s.GetRun(ctx, run.ID); err != nil || !reflect.DeepEqual(got.Disagreement, d) {
		t.Errorf("GetRun Disagreement = %+v, %v", got.Disagreement, err)
	}
	plain := mustRun(t, s, "2026-W47", 2)
	if plain.Disagreement != nil {
		t.Errorf("a run without an order read back %+v", plain.Disagreement)
	}
	runs, err := s.ListRuns(ctx, "2026-W47")
	if err != nil || len(runs) != 2 || runs[0].Disagreement != nil || !reflect.DeepEqual(runs[1].Disagreement, d) {
		t.Errorf("ListRuns = %+v, %v", runs, err)
	}
	done, err := s.CompleteRun(ctx, run.ID, []store.Pick{pick("c1", "a1", "check:no_greeting", 1, "")}, 0)
	if err != nil || !reflect.DeepEqual(done.Disagreement, d) {
		t.Errorf("CompleteRun Disagreement = %+v, %v", done.Disagreement, err)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{Entity: "run", EntityID: strconv.FormatInt(run.ID, 10)})
	if err != nil || len(events) == 0 || !strings.Contains(events[len(events)-1].Detail, `"rule_order":["complaint","check:no_greeting","low_csat","check:forbidden_phrase"]`) {
		t.Errorf("the run's audit events do not name its rule order: %+v, %v", events, err)
	}
}

func testCreateRunConcurrent(t *testing.T, s store.Store) {
	const n = 8
	type result struct {
		run     store.Run
		created bool
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, created, err := s.CreateRun(t.Context(), store.Run{Week: "2026-W47", PolicyVersion: 3, Seed: fmt.Appendf(nil, "seed-%d", i), Trigger: "schedule"})
			if err != nil {
				t.Errorf("CreateRun: %v", err)
				return
			}
			results <- result{r, created}
		})
	}
	wg.Wait()
	close(results)
	var first store.Run
	creators := 0
	for r := range results {
		if r.created {
			creators++
		}
		if first.ID == 0 {
			first = r.run
		} else if !reflect.DeepEqual(r.run, first) {
			t.Errorf("racing CreateRun returned %+v and %+v", r.run, first)
		}
	}
	if creators != 1 {
		t.Errorf("%d callers created the run, want exactly 1", creators)
	}
	if rs, err := s.ListRuns(t.Context(), "2026-W47"); err != nil || len(rs) != 1 {
		t.Errorf("ListRuns = %d runs, %v; want 1", len(rs), err)
	}
}

func testCompleteRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1", "qa-2")
	items := append(inWeek(t, s, "a1", "c1", "c2", "c3"), inWeek(t, s, "a2", "c4")...)
	run := mustRun(t, s, "2026-W47", 1)
	picks := []store.Pick{
		pick("c3", "a1", "random", 1, "qa-1"),
		pick("c1", "a1", "complaint", 2, "qa-2"),
		pick("c4", "a2", "random", 1, ""),
	}
	picks[0].Key = 1<<63 | 12345 // the top bit survives the signed column
	picks[1].Key = ^uint64(0)
	picks[2].RunID = run.ID // may be given; must match
	w := begin()
	done, err := s.CompleteRun(ctx, run.ID, picks, 4)
	w = w.close()
	if err != nil {
		t.Fatalf("CompleteRun: %v", err)
	}
	w.check(t, "CompletedAt", done.CompletedAt)
	if done.ID != run.ID || done.Picks != 3 || done.Shortfalls != 4 || done.Week != run.Week || !done.CreatedAt.Equal(run.CreatedAt) {
		t.Errorf("CompleteRun = %+v", done)
	}
	if got, _ := s.GetRun(ctx, run.ID); !reflect.DeepEqual(got, done) {
		t.Errorf("GetRun after CompleteRun = %+v, want %+v", got, done)
	}
	if n, err := s.RunAgents(ctx, run.ID); err != nil || n != 2 {
		t.Errorf("RunAgents = %d, %v; want 2 (a1 twice, a2 once)", n, err)
	}
	if n, err := s.RunAgents(ctx, run.ID+100); err != nil || n != 0 {
		t.Errorf("RunAgents(unknown run) = %d, %v; want 0", n, err)
	}

	got := listPicks(t, s, store.PickFilter{RunID: run.ID})
	if !slices.Equal(identities(got), identities(picks)) {
		t.Errorf("ListPicks = %q\nwant (the caller's order) %q", identities(got), identities(picks))
	}
	for i, p := range got {
		if p.RunID != run.ID || p.ID == 0 || (i > 0 && p.ID <= got[i-1].ID) {
			t.Errorf("pick %d: RunID %d ID %d", i, p.RunID, p.ID)
		}
		w.check(t, "pick CreatedAt", p.CreatedAt)
		if !p.UpdatedAt.Equal(p.CreatedAt) {
			t.Errorf("pick %d UpdatedAt %s != CreatedAt %s", i, p.UpdatedAt, p.CreatedAt)
		}
	}

	// Picked transcripts are frozen: a changed push keeps the sampled one.
	for _, p := range items {
		st := get(t, s, p.ExternalID)
		if want := p.ExternalID != "c2"; st.Sampled != want {
			t.Errorf("%s Sampled = %v, want %v", p.ExternalID, st.Sampled, want)
		}
	}
	changed := ending("c1", "a1", weekFrom.Add(time.Hour))
	changed.Messages[4].Text = "edited after sampling"
	if out := upsert(t, s, prepare(changed)); out[0] != store.KeptSampled {
		t.Errorf("push of a picked transcript: %v, want kept_sampled", out[0])
	}
	checkStored(t, get(t, s, "c1"), items[0])
	free := ending("c2", "a1", weekFrom.Add(2*time.Hour))
	free.Messages[4].Text = "edited, not picked"
	if out := upsert(t, s, prepare(free)); out[0] != store.Updated {
		t.Errorf("push of an unpicked transcript: %v, want updated", out[0])
	}

	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{pick("c2", "a1", "random", 3, "")}, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second CompleteRun = %v, want ErrConflict", err)
	}
	if got := listPicks(t, s, store.PickFilter{RunID: run.ID}); len(got) != 3 {
		t.Errorf("a refused CompleteRun changed the picks: %d", len(got))
	}
	if _, err := s.CompleteRun(ctx, run.ID+1000, nil, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CompleteRun(unknown run) = %v, want ErrNotFound", err)
	}
	// A run with nothing to pick completes too.
	empty := mustRun(t, s, "2026-W48", 1)
	if r, err := s.CompleteRun(ctx, empty.ID, nil, 2); err != nil || r.CompletedAt.IsZero() || r.Picks != 0 || r.Shortfalls != 2 {
		t.Errorf("CompleteRun(no picks) = %+v, %v", r, err)
	}
}

func testCompleteRunAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	run := mustRun(t, s, "2026-W47", 1)
	good := []store.Pick{pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1")}
	cases := []struct {
		name  string
		picks []store.Pick
		want  error
	}{
		{"unknown transcript last", append(slices.Clone(good), pick("ghost", "a1", "random", 3, "")), store.ErrNotFound},
		{"same transcript and agent twice", append(slices.Clone(good), pick("c1", "a1", "complaint", 3, "")), store.ErrConflict},
		{"unknown inspector", append(slices.Clone(good), pick("c3", "a1", "random", 3, "qa-ghost")), store.ErrNotFound},
		{"unknown agent", append(slices.Clone(good), pick("c3", "nobody", "random", 1, "")), store.ErrNotFound},
	}
	for _, tc := range cases {
		_, err := s.CompleteRun(ctx, run.ID, tc.picks, 1)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: CompleteRun = %v, want %v", tc.name, err, tc.want)
		}
		if got := listPicks(t, s, store.PickFilter{}); len(got) != 0 {
			t.Errorf("%s: %d picks written by a failed CompleteRun", tc.name, len(got))
		}
		if r, err := s.GetRun(ctx, run.ID); err != nil || !r.CompletedAt.IsZero() || r.Picks != 0 || r.Shortfalls != 0 {
			t.Errorf("%s: run after a failed CompleteRun = %+v, %v; want incomplete", tc.name, r, err)
		}
		for _, id := range []string{"c1", "c2", "c3"} {
			if get(t, s, id).Sampled {
				t.Errorf("%s: %s marked sampled by a failed CompleteRun", tc.name, id)
			}
		}
	}
	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{{ExternalID: "c1", AgentID: "a1", Reason: "random", Status: store.PickAssigned}}, 0); err == nil {
		t.Error("an assigned pick without an inspector was accepted")
	}
	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{{RunID: run.ID + 1, ExternalID: "c1", AgentID: "a1", Reason: "random"}}, 0); err == nil {
		t.Error("a pick of another run was accepted")
	}
	// The same run still completes afterwards.
	if r := mustComplete(t, s, run.ID, good...); r.Picks != 2 {
		t.Errorf("Picks = %d after the retry", r.Picks)
	}
}

// testCompleteRunConcurrent has several callers complete one run with
// the same picks (replicas finishing a stale run): one wins, the others
// get ErrConflict, and the picks are written once.
func testCompleteRunConcurrent(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "c1", "c2", "c3", "c4")
	run := mustRun(t, s, "2026-W47", 1)
	picks := []store.Pick{pick("c4", "a1", "random", 1, ""), pick("c2", "a1", "random", 2, ""), pick("c1", "a1", "csat", 3, "")}
	const n = 4
	var wins sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wins.Go(func() {
			_, err := s.CompleteRun(t.Context(), run.ID, picks, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("CompleteRun: %v, want nil or ErrConflict", err)
			}
		})
	}
	wins.Wait()
	if won != 1 {
		t.Errorf("%d callers completed the run, want 1", won)
	}
	if got := listPicks(t, s, store.PickFilter{}); len(got) != len(picks) {
		t.Errorf("%d picks stored, want %d", len(got), len(picks))
	}
}

func mustClaim(t *testing.T, s store.Store, runID int64) func() {
	t.Helper()
	release, err := s.ClaimRun(t.Context(), runID)
	if err != nil {
		t.Fatalf("ClaimRun(%d): %v", runID, err)
	}
	return release
}

func testClaimRun(t *testing.T, s store.Store) {
	a, b := mustRun(t, s, "2026-W47", 1), mustRun(t, s, "2026-W48", 1)
	releaseA := mustClaim(t, s, a.ID)
	if _, err := s.ClaimRun(t.Context(), a.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claiming a held run = %v, want ErrConflict", err)
	}
	releaseB := mustClaim(t, s, b.ID) // claims are per run
	releaseA()
	releaseA() // a second release is harmless
	again := mustClaim(t, s, a.ID)
	if _, err := s.ClaimRun(t.Context(), b.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("releasing run %d freed run %d: %v", a.ID, b.ID, err)
	}
	again()
	releaseB()
	mustClaim(t, s, b.ID)()
}

func testClaimRunConcurrent(t *testing.T, s store.Store) {
	run := mustRun(t, s, "2026-W47", 1)
	const n = 6
	releases := make([]func(), n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			release, err := s.ClaimRun(t.Context(), run.ID)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("ClaimRun: %v, want nil or ErrConflict", err)
			}
			releases[i] = release
		})
	}
	wg.Wait()
	won := 0
	for _, r := range releases {
		if r != nil {
			won++
			defer r()
		}
	}
	if won != 1 {
		t.Errorf("%d callers claimed the run at once, want 1", won)
	}
}

func testPickedOncePerAgent(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	inWeek(t, s, "a1", "c1", "c2")
	v1 := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, v1.ID, pick("c1", "a1", "random", 1, ""))
	// A later policy version of the same week cannot pick c1 for a1 again,
	// but may pick it for another author.
	v2 := mustRun(t, s, "2026-W47", 2)
	if _, err := s.CompleteRun(ctx, v2.ID, []store.Pick{pick("c2", "a1", "random", 1, ""), pick("c1", "a1", "complaint", 2, "")}, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("picking (c1, a1) in a second run = %v, want ErrConflict", err)
	}
	if got := listPicks(t, s, store.PickFilter{RunID: v2.ID}); len(got) != 0 {
		t.Errorf("the refused run wrote %d picks", len(got))
	}
	mustComplete(t, s, v2.ID, pick("c2", "a1", "random", 1, ""), pick("c1", "a2", "random", 1, ""))
}

// testWeekSeed: the first seed stored for a week is every caller's,
// concurrent first callers included, and weeks do not share one.
func testWeekSeed(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	const callers = 8
	got := make([][]byte, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			got[i], errs[i] = s.WeekSeed(ctx, "2026-W47", []byte{byte(i), 0, 0xff}, at)
		})
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("WeekSeed caller %d: %v", i, errs[i])
		}
		if !slices.Equal(got[i], got[0]) {
			t.Errorf("concurrent first callers got seeds %x and %x; want one", got[0], got[i])
		}
	}
	if len(got[0]) != 3 || got[0][1] != 0 || got[0][2] != 0xff {
		t.Errorf("WeekSeed = %x, want one of the candidates", got[0])
	}
	later, err := s.WeekSeed(ctx, "2026-W47", []byte("another"), at.Add(time.Hour))
	if err != nil || !slices.Equal(later, got[0]) {
		t.Errorf("WeekSeed later = %x, %v; want the stored %x", later, err, got[0])
	}
	other, err := s.WeekSeed(ctx, "2026-W48", []byte("w48"), at)
	if err != nil || string(other) != "w48" {
		t.Errorf("WeekSeed(2026-W48) = %q, %v; want its own candidate", other, err)
	}
}
