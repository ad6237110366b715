package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"qa-sampling/checks"
	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkCheckRerun re-runs the checks over one week of
// QA_BENCH_RERUN_ROWS conversations (default 1,000,000) from 2,000 agents,
// bodies compressed with a trained dictionary as qad stores them, through
// checkRerunner.run: ids by the end-time index, batches read and decoded,
// checked on every core, written back with the job's cursor. Setup writes
// the week first (a few minutes at 1M). QA_BENCH_RERUN_PG=1 runs it on
// PostgreSQL (QA_TEST_POSTGRES_DSN) instead of SQLite.
func BenchmarkCheckRerun(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("QA_BENCH_RERUN_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "qa.db")
	if os.Getenv("QA_BENCH_RERUN_PG") != "" {
		dsn = os.Getenv("QA_TEST_POSTGRES_DSN")
	}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	week := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	v1 := checks.Default()
	doc, _ := json.Marshal(v1)
	stored, err := st.AddCheckSetVersion(ctx, doc, "bench")
	if err != nil {
		b.Fatal(err)
	}
	v1.Version = stored.Version
	checker, err := checks.Compile(v1)
	if err != nil {
		b.Fatal(err)
	}

	const agents = 2000
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = synth.AgentID(i)
	}
	if err := st.EnsureAgents(ctx, ids); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	plain := transcript.NewCodec()
	var samples [][]byte
	for i := range 2000 {
		p, err := plain.Payload(plain.Prepare(synth.Transcript(rng, i, ids[0], week)).Body)
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, p)
	}
	d, err := transcript.TrainDictionary(1, samples)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.AddDictionary(ctx, d); err != nil {
		b.Fatal(err)
	}
	if err := st.Codec().Install([]transcript.Dictionary{d}, d.ID); err != nil {
		b.Fatal(err)
	}
	pool := make([]*transcript.Prepared, 10_000)
	for i := range pool {
		t := synth.Transcript(rng, i, ids[i%agents], week)
		pool[i] = st.Codec().Prepare(t)
		pool[i].Checks = checker.Run(&t)
	}
	fill := time.Now()
	batch := make([]*transcript.Prepared, 0, 1000)
	step := 7 * 24 * time.Hour / time.Duration(rows)
	for i := range rows {
		batch = append(batch, synth.Restamp(pool[i%len(pool)], synth.ExternalID(i), ids[i%agents], week.Add(time.Duration(i)*step)))
		if len(batch) == cap(batch) || i == rows-1 {
			if _, err := st.UpsertTranscripts(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("wrote %d conversations in %s", rows, time.Since(fill).Round(time.Second))

	// The new set: one more greeting, so some flags change.
	v2 := checks.Default()
	v2.GreetingPhrases = append(v2.GreetingPhrases, "在的")
	doc, _ = json.Marshal(v2)
	latest, err := st.AddCheckSetVersion(ctx, doc, "bench")
	if err != nil {
		b.Fatal(err)
	}
	r := &checkRerunner{store: st, book: &checkBook{store: st, now: time.Now}, stats: &checkStats{}, log: slog.New(slog.DiscardHandler),
		owner: "bench", now: time.Now}
	b.ResetTimer()
	for range b.N {
		lease := r.leaseFrom()
		job, err := st.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: week, To: week.AddDate(0, 0, 7), CheckVersion: latest.Version, CreatedBy: "bench",
			Owner: lease.Owner, LeaseUntil: lease.Until})
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		if err := r.run(ctx, job); err != nil {
			b.Fatal(err)
		}
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		done, err := st.GetCheckRerun(ctx, job.ID)
		if err != nil || done.Status != store.CheckRerunDone || done.Done != int64(rows) {
			b.Fatalf("re-run ended %+v, %v", done, err)
		}
		b.ReportMetric(elapsed.Seconds(), "s/week")
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "chats/s")
		// CPU seconds of the process (the re-run's goroutines and the
		// database's, in process for SQLite): on a shared, loaded machine
		// the wall time says more about the neighbours.
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.Logf("re-ran %d conversations in %s, %s of CPU (%d changed)", rows, elapsed.Round(10*time.Millisecond), cpu.Round(10*time.Millisecond), done.Changed)
		// The reports' grouped count of the week (one query per week).
		countStart := time.Now()
		counts, err := st.CountCheckFlags(ctx, week, week.AddDate(0, 0, 7))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(countStart).Seconds(), "count-s")
		b.Logf("CountCheckFlags over the week: %d groups in %s", len(counts), time.Since(countStart).Round(time.Millisecond))
	}
}
