package sqlstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// benchWeek is the week BenchmarkScanWeek scans: ISO 2026-W47 in UTC.
var benchWeek = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

// envInt reads a benchmark size from the environment.
func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q: want a count", name, v)
	}
	return n
}

// fillYear writes perWeek conversations into the benchmark week and
// otherWeeks conversations into each of the 51 weeks around it, in time
// order (so ids grow with ended_at, as with a live feed), from 2,000
// agents, every twentieth a transfer with a second author; it returns the
// number of authors in the benchmark week. Bodies are
// compressed with a dictionary, as qad's are once it has trained one, so
// that rows have their production size.
func fillYear(tb testing.TB, s *Store, perWeek, otherWeeks int) (authors int) {
	tb.Helper()
	ctx := context.Background()
	const agents = 2000
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = synth.AgentID(i)
	}
	if err := s.EnsureAgents(ctx, ids); err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var samples [][]byte
	plain := transcript.NewCodec()
	for i := range 2000 {
		p, err := plain.Payload(plain.Prepare(synth.Transcript(rng, i, ids[0], benchWeek)).Body)
		if err != nil {
			tb.Fatal(err)
		}
		samples = append(samples, p)
	}
	d, err := transcript.TrainDictionary(1, samples)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.AddDictionary(ctx, d); err != nil {
		tb.Fatal(err)
	}
	if err := s.Codec().Install([]transcript.Dictionary{d}, d.ID); err != nil {
		tb.Fatal(err)
	}
	pool := make([]*transcript.Prepared, 10_000)
	for i := range pool {
		t := synth.Transcript(rng, i, ids[i%agents], benchWeek)
		if i%20 == 0 {
			t.AgentID = ids[(i+1)%agents]
			synth.Transfer(&t, ids[i%agents])
		}
		pool[i] = s.Codec().Prepare(t)
	}

	week := 7 * 24 * time.Hour
	row := 0
	batch := make([]*transcript.Prepared, 0, 500)
	write := func(n int, start time.Time, count bool) {
		step := week / time.Duration(max(n, 1))
		for i := range n {
			p := synth.Restamp(pool[row%len(pool)], synth.ExternalID(row), ids[row%agents], start.Add(time.Duration(i)*step))
			if count {
				authors += len(p.AgentIDs)
			}
			batch = append(batch, p)
			row++
			if len(batch) == cap(batch) || i == n-1 {
				if _, err := s.UpsertTranscripts(ctx, batch); err != nil {
					tb.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	for w := -26; w <= 25; w++ {
		n := otherWeeks
		if w == 0 {
			n = perWeek
		}
		write(n, benchWeek.Add(time.Duration(w)*week), w == 0)
	}
	return authors
}

// BenchmarkScanWeek scans a week of 1,000,000 conversations (set
// QA_BENCH_WEEK_ROWS to change it) among a year of data
// (QA_BENCH_OTHER_ROWS per other week, default 20,000) with ScanWeek, and
// with the bare index scan `SELECT agent_id ... WHERE ended_at in the week`
// beside it. It reports both rates, their ratio (ScanWeek's time over the
// bare scan's), the same ratio for the week read in two halves at once as
// the sampling job reads it (halves-x-bare) and the heap in use during
// ScanWeek, which must not grow with the week. Setup writes the data first, which takes a while.
func BenchmarkScanWeek(b *testing.B) {
	perWeek := envInt(b, "QA_BENCH_WEEK_ROWS", 1_000_000)
	others := envInt(b, "QA_BENCH_OTHER_ROWS", 20_000)
	b.Run("sqlite", func(b *testing.B) { benchScanWeek(b, newSQLite(b), perWeek, others) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgEnv) == "" {
			b.Skipf("set %s to benchmark PostgreSQL", pgEnv)
		}
		benchScanWeek(b, newPostgres(b), perWeek, others)
	})
}

func benchScanWeek(b *testing.B, s *Store, perWeek, others int) {
	ctx := b.Context()
	start := time.Now()
	wantAuthors := fillYear(b, s, perWeek, others)
	if s.dialect == dialectPostgres {
		if _, err := s.w.ExecContext(ctx, "VACUUM ANALYZE transcripts"); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("wrote %d + 51 × %d rows in %s", perWeek, others, time.Since(start).Round(time.Second))
	from, to := benchWeek, benchWeek.Add(7*24*time.Hour)

	var scanTime, bareTime, halvesTime time.Duration
	var peakHeap uint64
	loops := 0
	for b.Loop() {
		loops++
		t := time.Now()
		n, err := s.BareScanWeek(ctx, from, to)
		bareTime += time.Since(t)
		if err != nil || n != perWeek {
			b.Fatalf("bare scan: %d rows, %v; want %d", n, err, perWeek)
		}

		runtime.GC()
		var ms runtime.MemStats
		rows, agents := 0, 0
		t = time.Now()
		err = s.ScanWeek(ctx, from, to, store.ScanOptions{}, func(r store.SampleRow) error {
			rows++
			agents += len(r.AgentIDs)
			if rows%(perWeek/10+1) == 0 {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
			return nil
		})
		scanTime += time.Since(t)
		if err != nil || rows != perWeek {
			b.Fatalf("ScanWeek: %d rows, %v; want %d", rows, err, perWeek)
		}
		if agents != wantAuthors {
			b.Fatalf("ScanWeek: %d authors, want %d", agents, wantAuthors)
		}

		t = time.Now()
		n, err = scanHalves(ctx, s, from, to)
		halvesTime += time.Since(t)
		if err != nil || n != perWeek {
			b.Fatalf("ScanWeek in halves: %d rows, %v; want %d", n, err, perWeek)
		}
	}
	rows := float64(perWeek * loops)
	b.ReportMetric(rows/scanTime.Seconds(), "rows/s")
	b.ReportMetric(rows/bareTime.Seconds(), "bare-rows/s")
	b.ReportMetric(float64(scanTime)/float64(bareTime), "x-bare")
	b.ReportMetric(float64(halvesTime)/float64(bareTime), "halves-x-bare")
	b.ReportMetric(float64(peakHeap)/(1<<20), "heap-MiB")
}

// scanHalves reads the week as the sampling job does (server.scanInParts):
// its two halves at once, each with ScanWeek on its own connection.
func scanHalves(ctx context.Context, s *Store, from, to time.Time) (int, error) {
	mid := from.Add(to.Sub(from) / 2)
	var rows [2]int
	var errs [2]error
	var wg sync.WaitGroup
	for i, r := range [2][2]time.Time{{from, mid}, {mid, to}} {
		wg.Go(func() {
			errs[i] = s.ScanWeek(ctx, r[0], r[1], store.ScanOptions{}, func(store.SampleRow) error {
				rows[i]++
				return nil
			})
		})
	}
	wg.Wait()
	return rows[0] + rows[1], errors.Join(errs[:]...)
}
