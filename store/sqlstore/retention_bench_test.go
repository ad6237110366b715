package sqlstore

import (
	"cmp"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// BenchmarkRetentionKeepsCheckCounts fills one week with checked chats
// (QA_BENCH_RETENTION_ROWS, default 200,000, from 2,000 agents, one in
// twenty transferred), reads the week's check counts, deletes the whole
// week with DeleteUnsampledTranscripts in batches of 500 (each batch also
// moving its chats' counts to kept_check_counts) and reads the counts
// again, which must be the same. It reports the deletion rate and both
// reads' times.
func BenchmarkRetentionKeepsCheckCounts(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchRetentionCounts(b, newSQLite(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgEnv) == "" {
			b.Skipf("set %s to benchmark PostgreSQL", pgEnv)
		}
		benchRetentionCounts(b, newPostgres(b))
	})
}

func benchRetentionCounts(b *testing.B, s *Store) {
	rows := 200_000
	if v := os.Getenv("QA_BENCH_RETENTION_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	const agents = 2000
	ctx := b.Context()
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = synth.AgentID(i)
	}
	if err := s.EnsureAgents(ctx, ids); err != nil {
		b.Fatal(err)
	}
	week := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	pool := make([]*transcript.Prepared, 2000)
	for i := range pool {
		t := synth.Transcript(rng, i, ids[i%agents], week)
		if i%20 == 0 {
			t.AgentID = ids[(i+1)%agents]
			synth.Transfer(&t, ids[i%agents])
		}
		pool[i] = transcript.Prepare(t)
		// Two versions, a few flag combinations, as a re-run leaves them.
		pool[i].Checks = transcript.Checks{Version: int64(1 + i%2), Flags: uint64(i % 5)}
	}
	step := 7 * 24 * time.Hour / time.Duration(rows)
	batch := make([]*transcript.Prepared, 0, 500)
	for i := range rows {
		p := synth.Restamp(pool[i%len(pool)], synth.ExternalID(i), ids[i%agents], week.Add(time.Duration(i)*step))
		p.Checks = pool[i%len(pool)].Checks
		batch = append(batch, p)
		if len(batch) == cap(batch) || i == rows-1 {
			if _, err := s.UpsertTranscripts(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	count := func() ([]store.CheckFlagCount, time.Duration) {
		start := time.Now()
		c, err := s.CountCheckFlags(ctx, week, week.AddDate(0, 0, 7))
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		slices.SortFunc(c, func(x, y store.CheckFlagCount) int {
			return cmp.Or(strings.Compare(x.AgentID, y.AgentID), cmp.Compare(x.Version, y.Version), cmp.Compare(x.Flags, y.Flags))
		})
		return c, took
	}
	before, liveRead := count()
	b.ResetTimer()
	start := time.Now()
	var cur store.RetentionCursor
	removed, batches := 0, 0
	for {
		got, err := s.DeleteUnsampledTranscripts(ctx, cur, week.AddDate(0, 0, 7), 500)
		if err != nil {
			b.Fatal(err)
		}
		if got.Examined == 0 {
			break
		}
		removed += got.Removed
		batches++
		cur = got.Next
	}
	deleting := time.Since(start)
	b.StopTimer()
	after, keptRead := count()
	if removed != rows || !reflect.DeepEqual(after, before) {
		b.Fatalf("removed %d of %d; counts kept the same: %v", removed, rows, reflect.DeepEqual(after, before))
	}
	var kept int64
	if err := s.r.GetContext(ctx, &kept, "SELECT count(*) FROM kept_check_counts"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(rows)/deleting.Seconds(), "deleted/s")
	b.ReportMetric(float64(deleting.Milliseconds())/float64(batches), "ms/batch")
	b.ReportMetric(float64(liveRead.Milliseconds()), "live-count-ms")
	b.ReportMetric(float64(keptRead.Milliseconds()), "kept-count-ms")
	b.ReportMetric(float64(kept), "kept-rows")
	b.ReportMetric(float64(len(before)), "groups")
}
