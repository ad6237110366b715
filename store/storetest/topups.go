package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"qa-sampling/store"
)

// topUpTests cover TopUpStore; Run adds them to its list.
var topUpTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"TopUpReadsWhatArrivedSince", testTopUpReadsWhatArrivedSince},
	{"TopUpRun", testTopUpRun},
	{"TopUpRunRefuses", testTopUpRunRefuses},
	{"TopUpRunConcurrent", testTopUpRunConcurrent},
	{"RunBasisLeavesReplacedPicksOut", testRunBasisReplaced},
}

func scanAfter(t *testing.T, s store.Store, after int64) []string {
	t.Helper()
	return scanBetween(t, s, after, math.MaxInt64)
}

// scanBetween is the external ids ScanWeekAfter reads in (after, through].
func scanBetween(t *testing.T, s store.Store, after, through int64) []string {
	t.Helper()
	var got []string
	if err := s.ScanWeekAfter(t.Context(), weekFrom, weekTo, after, through, store.ScanOptions{}, func(r store.SampleRow) error {
		got = append(got, r.ExternalID)
		return nil
	}); err != nil {
		t.Fatalf("ScanWeekAfter(%d, %d): %v", after, through, err)
	}
	slices.Sort(got)
	return got
}

func highWater(t *testing.T, s store.Store) int64 {
	t.Helper()
	hw, err := s.TranscriptHighWater(t.Context())
	if err != nil {
		t.Fatalf("TranscriptHighWater: %v", err)
	}
	return hw
}

func testTopUpReadsWhatArrivedSince(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	if hw := highWater(t, s); hw != 0 {
		t.Errorf("TranscriptHighWater of an empty store = %d, want 0", hw)
	}
	inWeek(t, s, "a1", "c1", "c2")
	hw := highWater(t, s)
	if hw == 0 {
		t.Fatal("TranscriptHighWater = 0 after two transcripts")
	}
	if got := scanAfter(t, s, hw); len(got) != 0 {
		t.Errorf("ScanWeekAfter(high water) = %v, want nothing", got)
	}
	if got := scanAfter(t, s, 0); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Errorf("ScanWeekAfter(0) = %v, want the whole week", got)
	}
	late := inWeek(t, s, "a1", "c3", "c4")
	upsert(t, s, prepare(ending("next-week", "a1", weekTo.Add(time.Hour))))
	// A re-push of an earlier transcript keeps its id: it was read.
	changed := ending("c1", "a1", weekFrom.Add(time.Hour))
	changed.Messages[4].Text = "edited later"
	upsert(t, s, prepare(changed))
	if got := scanAfter(t, s, hw); !slices.Equal(got, []string{"c3", "c4"}) {
		t.Errorf("ScanWeekAfter(high water) after late pushes = %v, want [c3 c4]", got)
	}
	// Ranges of ids: each late chat in exactly one of two halves, none
	// above the bound, none in an empty range.
	hw2 := highWater(t, s)
	var halves []string
	for _, r := range [][2]int64{{hw, (hw + hw2) / 2}, {(hw + hw2) / 2, hw2}} {
		halves = append(halves, scanBetween(t, s, r[0], r[1])...)
	}
	if slices.Sort(halves); !slices.Equal(halves, []string{"c3", "c4"}) {
		t.Errorf("ScanWeekAfter in two ranges of ids up to the high water = %v, want [c3 c4] once each", halves)
	}
	if got := scanBetween(t, s, hw, hw); len(got) != 0 {
		t.Errorf("ScanWeekAfter(%d, %d) = %v, want nothing", hw, hw, got)
	}
	var rows []store.SampleRow
	if err := s.ScanWeekAfter(ctx, weekFrom, weekTo, hw, math.MaxInt64, store.ScanOptions{}, func(r store.SampleRow) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatalf("ScanWeekAfter: %v", err)
	}
	if len(rows) != 2 || rows[0].Channel != late[0].Channel || !slices.Equal(rows[0].AgentIDs, []string{"a1"}) {
		t.Errorf("ScanWeekAfter rows = %+v", rows)
	}
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, ""), pick("c3", "a1", "random", 2, ""))
	if got, err := s.PickedInWeekAfter(ctx, weekFrom, weekTo, hw); err != nil || !reflect.DeepEqual(got, map[[2]string]bool{{"c3", "a1"}: true}) {
		t.Errorf("PickedInWeekAfter(high water) = %v, %v; want only c3's pick", got, err)
	}
	for _, tc := range []struct {
		after int64
		want  bool
	}{{hw, true}, {highWater(t, s), false}} {
		if got, err := s.HasTranscriptsAfter(ctx, weekFrom, weekTo, tc.after); err != nil || got != tc.want {
			t.Errorf("HasTranscriptsAfter(%d) = %v, %v; want %v", tc.after, got, err, tc.want)
		}
	}
}

func mustBasis(t *testing.T, s store.Store, runID int64) store.RunBasis {
	t.Helper()
	b, err := s.RunBasis(t.Context(), runID)
	if err != nil {
		t.Fatalf("RunBasis(%d): %v", runID, err)
	}
	return b
}

func testTopUpRun(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1", "a2")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"))
	if b := mustBasis(t, s, run.ID); b.ScannedThrough != 0 || b.HandleThresholds != nil || b.TopUps != 0 {
		t.Errorf("basis before SetRunBasis = %+v, want none", b)
	}
	hw := highWater(t, s)
	thresholds := map[string]time.Duration{"team:team-1": 7*time.Minute + time.Millisecond}
	if err := s.SetRunBasis(ctx, run.ID, hw, thresholds); err != nil {
		t.Fatal(err)
	}
	// Set once: a second runner's basis does not replace it.
	if err := s.SetRunBasis(ctx, run.ID, hw+100, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RunScannedThrough(ctx, run.ID); err != nil || got != hw {
		t.Errorf("RunScannedThrough = %d, %v; want %d", got, err, hw)
	}
	if _, err := s.RunScannedThrough(ctx, run.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RunScannedThrough(unknown run) = %v, want ErrNotFound", err)
	}
	b := mustBasis(t, s, run.ID)
	wantPicks := []store.BasisPick{{ExternalID: "c1", AgentID: "a1", Reason: "random", Rank: 1, Channel: "web"}}
	if b.ScannedThrough != hw || !reflect.DeepEqual(b.HandleThresholds, thresholds) || b.TopUps != 0 || !reflect.DeepEqual(b.Picks, wantPicks) {
		t.Errorf("RunBasis = %+v, want through %d, %v, picks %+v", b, hw, thresholds, wantPicks)
	}

	inWeek(t, s, "a2", "c3", "c4")
	late := highWater(t, s)
	created := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	grown := map[string]time.Duration{"team:team-1": 7*time.Minute + time.Millisecond, "agent:a2": time.Minute}
	up, err := s.TopUpRun(ctx, store.TopUp{RunID: run.ID, Seq: 1, Trigger: "manual:admin", CreatedAt: created,
		Shortfalls: 1, Considered: 2, ScannedThrough: late},
		[]store.Pick{pick("c3", "a2", "random", 1, "qa-1"), pick("c4", "a2", "vip", 2, "")}, grown)
	if err != nil {
		t.Fatalf("TopUpRun: %v", err)
	}
	want := store.TopUp{ID: up.ID, RunID: run.ID, Seq: 1, Trigger: "manual:admin", CreatedAt: created, Picks: 2, Shortfalls: 1, Considered: 2, ScannedThrough: late}
	if up.ID == 0 || !reflect.DeepEqual(up, want) {
		t.Errorf("TopUpRun = %+v, want %+v", up, want)
	}
	if got, err := s.ListTopUps(ctx, run.ID); err != nil || !reflect.DeepEqual(got, []store.TopUp{want}) {
		t.Errorf("ListTopUps = %+v, %v", got, err)
	}
	if got, err := s.ListTopUps(ctx, run.ID+1000); err != nil || len(got) != 0 {
		t.Errorf("ListTopUps(unknown run) = %+v, %v; want none, no error", got, err)
	}
	for _, id := range []string{"c3", "c4"} {
		if !get(t, s, id).Sampled {
			t.Errorf("%s is not marked sampled", id)
		}
	}
	picks := listPicks(t, s, store.PickFilter{RunID: run.ID})
	if got := identities(picks); len(got) != 3 || picks[1].ExternalID != "c3" || picks[2].Status != store.PickPool {
		t.Errorf("run's picks after the top-up = %q", got)
	}
	b = mustBasis(t, s, run.ID)
	if b.ScannedThrough != late || b.TopUps != 1 || len(b.Picks) != 3 || !reflect.DeepEqual(b.HandleThresholds, grown) {
		t.Errorf("RunBasis after the top-up = %+v", b)
	}
	// The run itself is as it was completed.
	if r, err := s.GetRun(ctx, run.ID); err != nil || r.Picks != 1 {
		t.Errorf("run's own picks = %d, %v; want 1", r.Picks, err)
	}

	events, err := s.ListAudit(ctx, store.AuditFilter{Entity: "run", EntityID: fmt.Sprint(run.ID)})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(events, func(e store.AuditEvent) bool { return e.Action == "run.top_up" })
	if i < 0 {
		t.Fatalf("no run.top_up audit event in %+v", events)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(events[i].Detail), &detail); err != nil {
		t.Fatal(err)
	}
	if events[i].Actor != "admin" || detail["trigger"] != "manual:admin" || detail["week"] != "2026-W47" || detail["policy_version"] != 1.0 ||
		detail["picks_added"] != 2.0 || detail["chats_considered"] != 2.0 {
		t.Errorf("audit event %+v, detail %v", events[i], detail)
	}

	// A second top-up with nothing to add is recorded too.
	if up2, err := s.TopUpRun(ctx, store.TopUp{RunID: run.ID, Seq: 2, Trigger: "schedule", ScannedThrough: late}, nil, grown); err != nil || up2.Seq != 2 || up2.Picks != 0 {
		t.Errorf("empty TopUpRun = %+v, %v", up2, err)
	}
}

func testTopUpRunRefuses(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "c1", "c2")
	run := mustRun(t, s, "2026-W47", 1)
	if _, err := s.TopUpRun(ctx, store.TopUp{RunID: run.ID, Seq: 1, Trigger: "schedule"}, nil, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("TopUpRun of an incomplete run = %v, want ErrConflict", err)
	}
	if _, err := s.TopUpRun(ctx, store.TopUp{RunID: run.ID + 1000, Seq: 1, Trigger: "schedule"}, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TopUpRun of an unknown run = %v, want ErrNotFound", err)
	}
	if _, err := s.RunBasis(ctx, run.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RunBasis of an unknown run = %v, want ErrNotFound", err)
	}
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, ""))
	if _, err := s.TopUpRun(ctx, store.TopUp{RunID: run.ID, Seq: 2, Trigger: "schedule"}, nil, nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("TopUpRun computed after a top-up that is not stored = %v, want ErrConflict", err)
	}
	// A pick made already: the whole top-up is refused, nothing is stored.
	_, err := s.TopUpRun(ctx, store.TopUp{RunID: run.ID, Seq: 1, Trigger: "schedule", ScannedThrough: 99},
		[]store.Pick{pick("c2", "a1", "random", 2, ""), pick("c1", "a1", "random", 3, "")}, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("TopUpRun picking c1 again = %v, want ErrConflict", err)
	}
	if ups, _ := s.ListTopUps(ctx, run.ID); len(ups) != 0 {
		t.Errorf("a refused top-up was recorded: %+v", ups)
	}
	if get(t, s, "c2").Sampled || len(listPicks(t, s, store.PickFilter{RunID: run.ID})) != 1 {
		t.Error("a refused top-up left picks or marks")
	}
	if b := mustBasis(t, s, run.ID); b.ScannedThrough != 0 {
		t.Errorf("a refused top-up moved the basis to %d", b.ScannedThrough)
	}
}

// testTopUpRunConcurrent: replicas that computed the same top-up store
// it once; the others get ErrConflict.
func testTopUpRunConcurrent(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "c1", "c2", "c3")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, ""))
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.TopUpRun(t.Context(), store.TopUp{RunID: run.ID, Seq: 1, Trigger: "schedule", ScannedThrough: 10},
				[]store.Pick{pick(fmt.Sprintf("c%d", 2+i%2), "a1", "random", 2, "")}, nil)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("TopUpRun: %v, want nil or ErrConflict", err)
		}
	}
	if ups, _ := s.ListTopUps(t.Context(), run.ID); ok != 1 || len(ups) != 1 {
		t.Errorf("%d top-ups succeeded, %d stored; want 1", ok, len(ups))
	}
	if got := listPicks(t, s, store.PickFilter{RunID: run.ID}); len(got) != 2 {
		t.Errorf("run has %d picks, want 2", len(got))
	}
}

func testRunBasisReplaced(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	mustInspectors(t, s, "qa-1")
	inWeek(t, s, "a1", "c1", "c2")
	run := mustRun(t, s, "2026-W47", 1)
	mustComplete(t, s, run.ID, pick("c1", "a1", "random", 1, "qa-1"))
	skipped := listPicks(t, s, store.PickFilter{})[0]
	skipped.Status, skipped.SkipReason = store.PickSkipped, "spam"
	if _, err := s.UpdatePick(ctx, skipped.ID, store.PickAssigned, skipped); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPick(ctx, store.Pick{RunID: run.ID, ExternalID: "c2", AgentID: "a1", Reason: "random", Rank: 2,
		InspectorID: "qa-1", Status: store.PickAssigned, ReplacesID: skipped.ID}); err != nil {
		t.Fatal(err)
	}
	b := mustBasis(t, s, run.ID)
	if len(b.Picks) != 1 || b.Picks[0].ExternalID != "c2" || b.Picks[0].Rank != 2 {
		t.Errorf("basis picks = %+v, want only the replacement c2", b.Picks)
	}
}
