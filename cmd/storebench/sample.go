package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/server"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

// sampleWeek is the week storebench writes (its end times start on
// Monday 2026-11-16 00:00 UTC): ISO 2026-W47, sampled in UTC so that every
// row written is in it.
var sampleWeek, _ = isoweek.New(2026, 47)

// runSample times the weekly sampling over a database that storebench
// filled before (--n rows, one week): per repeat a preview (the whole
// Compute; on SQLite the first packs the hour blocks the others read) and
// a run under a new policy version (so that
// each run samples the week afresh, the earlier runs' picks excluded, as
// a second policy's run does in qad), each step of the run timed; then it
// ingests --late × the week's rows as late chats and times the top-up.
// The database is changed: run it on a copy.
func runSample(ctx context.Context, c config, out io.Writer) error {
	if err := checkParts(c); err != nil {
		return err
	}
	st, codec, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	for i := range 8 {
		in := store.Inspector{ID: fmt.Sprintf("inspector-%d", i+1), Name: fmt.Sprintf("Inspector %d", i+1), Active: true}
		if _, err := st.UpsertInspector(ctx, in, "storebench"); err != nil {
			return err
		}
	}
	policy := sampler.DefaultPolicy()
	policy.TimeZone = "UTC"
	doc, err := json.Marshal(policy)
	if err != nil {
		return err
	}
	timed := &timedStore{Storage: st, spans: map[string]time.Duration{}}
	from, end := sampleWeek.Bounds(time.UTC)
	job := &server.SamplingJob{
		Store: timed,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:   func() time.Time { return end.Add(time.Hour) },
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	rows := 0
	for rep := range c.repeat {
		// A new version each time: the same rules, bytes that differ.
		pv, err := st.AddPolicyVersion(ctx, append(slices.Clone(doc), strings.Repeat(" ", rep)...), "storebench")
		if err != nil {
			return err
		}
		policy.Version = pv.Version
		seed, err := job.WeekSeed(ctx, sampleWeek)
		if err != nil {
			return err
		}
		var bare time.Duration
		if c.bare {
			t := time.Now()
			if _, err := st.BareScanWeek(ctx, from, end); err != nil {
				return err
			}
			bare = time.Since(t)
		}
		timed.reset()
		read0, built0, _ := st.BlockStats()
		t, cpu := time.Now(), cpuTime()
		res, _, err := job.Compute(ctx, sampleWeek, policy, seed, 0, 0)
		if err != nil {
			return err
		}
		preview := time.Since(t)
		rows = res.Stats.Conversations
		read1, built1, _ := st.BlockStats()
		printf(out, "repeat %d: preview (Compute) %s (CPU %s) over %d chats (ScanWeek %s, PickedInWeek %s; hour blocks: %d read, %d built), %d picks",
			rep+1, ms3(preview), ms3(cpuTime()-cpu), rows, ms3(timed.get("ScanWeek")), ms3(timed.get("PickedInWeek")), read1-read0, built1-built0, len(res.Picks))
		if c.bare {
			printf(out, "; bare index scan %s, preview %.2f× it", ms3(bare), float64(preview)/float64(bare))
		}
		printf(out, "\n")

		if c.noRuns {
			continue
		}
		timed.reset()
		t, cpu = time.Now(), cpuTime()
		run, _, err := job.RunWeek(ctx, sampleWeek, "storebench")
		if err != nil {
			return err
		}
		total := time.Since(t)
		printf(out, "repeat %d: run %s (CPU %s), %d picks: %s\n", rep+1, ms3(total), ms3(cpuTime()-cpu), run.Picks, timed.summary())
	}

	if c.parts {
		seed, err := job.WeekSeed(ctx, sampleWeek)
		if err != nil {
			return err
		}
		if err := timeParts(ctx, st, policy, seed, c.repeat, out); err != nil {
			return err
		}
	}

	if c.late > 0 && rows > 0 && !c.noRuns {
		n := int(float64(rows) * c.late)
		t := time.Now()
		if err := writeLate(ctx, st, c, codec, n); err != nil {
			return err
		}
		printf(out, "ingested %d late chats in %s (not timed below)\n", n, ms3(time.Since(t)))
		timed.reset()
		t, cpu := time.Now(), cpuTime()
		_, up, err := job.TopUpWeek(ctx, sampleWeek, "storebench")
		if err != nil {
			return err
		}
		printf(out, "top-up: %s (CPU %s), considered %d, %d picks: %s\n", ms3(time.Since(t)), ms3(cpuTime()-cpu), up.Considered, up.Picks, timed.summary())
	}
	return nil
}

// writeLate writes n chats of the week with ids after every row written
// before, as a feed's late arrivals, cycling over the --agents of the run
// and --late-agents more.
func writeLate(ctx context.Context, st *sqlstore.Store, c config, codec *transcript.Codec, n int) error {
	pool := makePool(c, codec)
	if c.lateAgents > 0 {
		ids := make([]string, c.lateAgents)
		for i := range ids {
			ids[i] = synth.AgentID(c.agents + i)
		}
		if err := st.EnsureAgents(ctx, ids); err != nil { // as ingest adds an unknown author
			return err
		}
	}
	start, _ := sampleWeek.Bounds(time.UTC)
	step := 7 * 24 * time.Hour / time.Duration(n)
	batch := make([]*transcript.Prepared, 0, c.batch)
	for lo := 0; lo < n; lo += c.batch {
		batch = batch[:0]
		for i := lo; i < min(lo+c.batch, n); i++ {
			batch = append(batch, synth.Restamp(pool[(i*7)%len(pool)], fmt.Sprintf("late-%010d", i),
				synth.AgentID(i%(c.agents+c.lateAgents)), start.Add(time.Duration(i)*step+time.Second)))
		}
		if _, err := st.UpsertTranscripts(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

func ms3(d time.Duration) string { return d.Round(time.Millisecond).String() }

// timedStore adds up the time spent in the store calls a run makes.
type timedStore struct {
	server.Storage
	mu    sync.Mutex
	spans map[string]time.Duration
	calls map[string]int
}

func (t *timedStore) reset() {
	t.mu.Lock()
	t.spans, t.calls = map[string]time.Duration{}, map[string]int{}
	t.mu.Unlock()
}

func (t *timedStore) add(name string, start time.Time) {
	t.mu.Lock()
	t.spans[name] += time.Since(start)
	t.calls[name]++
	t.mu.Unlock()
}

func (t *timedStore) get(name string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.spans[name]
}

func (t *timedStore) summary() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.spans))
	for n := range t.spans {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(t.spans[b] - t.spans[a]) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %s", n, ms3(t.spans[n]))
		if k := t.calls[n]; k > 1 {
			parts[i] += fmt.Sprintf(" (%d calls)", k)
		}
	}
	return strings.Join(parts, ", ")
}

func (t *timedStore) ScanWeek(ctx context.Context, from, to time.Time, opts store.ScanOptions, fn func(store.SampleRow) error) error {
	defer t.add("ScanWeek", time.Now())
	return t.Storage.ScanWeek(ctx, from, to, opts, fn)
}

func (t *timedStore) ScanWeekAfter(ctx context.Context, from, to time.Time, after, through int64, opts store.ScanOptions, fn func(store.SampleRow) error) error {
	defer t.add("ScanWeekAfter", time.Now())
	return t.Storage.ScanWeekAfter(ctx, from, to, after, through, opts, fn)
}

func (t *timedStore) CompleteRun(ctx context.Context, runID int64, picks []store.Pick, shortfalls int) (store.Run, error) {
	defer t.add("CompleteRun", time.Now())
	return t.Storage.CompleteRun(ctx, runID, picks, shortfalls)
}

func (t *timedStore) TopUpRun(ctx context.Context, u store.TopUp, picks []store.Pick, th map[string]time.Duration) (store.TopUp, error) {
	defer t.add("TopUpRun", time.Now())
	return t.Storage.TopUpRun(ctx, u, picks, th)
}

func (t *timedStore) RecentInspectorsOf(ctx context.Context, agentID string, n int) ([]string, error) {
	defer t.add("RecentInspectorsOf", time.Now())
	return t.Storage.RecentInspectorsOf(ctx, agentID, n)
}

func (t *timedStore) RecentInspectorsOfAgents(ctx context.Context, agentIDs []string, n int) (map[string][]string, error) {
	defer t.add("RecentInspectorsOfAgents", time.Now())
	return t.Storage.RecentInspectorsOfAgents(ctx, agentIDs, n)
}

func (t *timedStore) PickedInWeek(ctx context.Context, from, to time.Time) (map[[2]string]bool, error) {
	defer t.add("PickedInWeek", time.Now())
	return t.Storage.PickedInWeek(ctx, from, to)
}

func (t *timedStore) PickedInWeekAfter(ctx context.Context, from, to time.Time, after int64) (map[[2]string]bool, error) {
	defer t.add("PickedInWeekAfter", time.Now())
	return t.Storage.PickedInWeekAfter(ctx, from, to, after)
}

func (t *timedStore) ListAgents(ctx context.Context) ([]store.Agent, error) {
	defer t.add("ListAgents", time.Now())
	return t.Storage.ListAgents(ctx)
}

func (t *timedStore) InspectorLoads(ctx context.Context) (map[string]int, error) {
	defer t.add("InspectorLoads", time.Now())
	return t.Storage.InspectorLoads(ctx)
}

func (t *timedStore) TranscriptHighWater(ctx context.Context) (int64, error) {
	defer t.add("TranscriptHighWater", time.Now())
	return t.Storage.TranscriptHighWater(ctx)
}

func (t *timedStore) SetRunBasis(ctx context.Context, runID, through int64, th map[string]time.Duration) error {
	defer t.add("SetRunBasis", time.Now())
	return t.Storage.SetRunBasis(ctx, runID, through, th)
}

func (t *timedStore) RunBasis(ctx context.Context, runID int64) (store.RunBasis, error) {
	defer t.add("RunBasis", time.Now())
	return t.Storage.RunBasis(ctx, runID)
}

func (t *timedStore) CreateRun(ctx context.Context, r store.Run) (store.Run, bool, error) {
	defer t.add("CreateRun", time.Now())
	return t.Storage.CreateRun(ctx, r)
}

func (t *timedStore) ClaimRun(ctx context.Context, runID int64) (func(), error) {
	defer t.add("ClaimRun", time.Now())
	return t.Storage.ClaimRun(ctx, runID)
}
