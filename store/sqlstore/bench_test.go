package sqlstore

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// BenchmarkUpsertTranscripts writes batches of 500 realistic transcripts
// (about 20 messages and 2.7 KB of text each) into a fresh store. One op is
// one batch; transcripts/s and bytes/transcript (on disk, SQLite after a WAL
// checkpoint) are reported. cmd/storebench does the same at 1M-row scale.
func BenchmarkUpsertTranscripts(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchUpsert(b, newSQLite(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgEnv) == "" {
			b.Skipf("set %s to benchmark PostgreSQL", pgEnv)
		}
		benchUpsert(b, newPostgres(b))
	})
}

func benchUpsert(b *testing.B, s *Store) {
	const (
		batchSize = 500
		agents    = 200
		poolSize  = 2000
	)
	ctx := b.Context()
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = synth.AgentID(i)
	}
	if err := s.EnsureAgents(ctx, ids); err != nil {
		b.Fatal(err)
	}
	// Preparing (metrics, zstd, hash) happens before the store in the
	// server too, so it is kept out of the timed loop: a pool is prepared
	// once and restamped with fresh ids.
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	pool := make([]*transcript.Prepared, poolSize)
	for i := range pool {
		t := synth.Transcript(rng, i, synth.AgentID(i%agents), t0)
		if i%20 == 0 { // one in twenty was transferred
			t.AgentID = synth.AgentID((i + 1) % agents)
			synth.Transfer(&t, synth.AgentID(i%agents))
		}
		pool[i] = transcript.Prepare(t)
	}

	batch := make([]*transcript.Prepared, batchSize)
	rows := 0
	start := time.Now()
	for b.Loop() {
		for k := range batch {
			batch[k] = synth.Restamp(pool[rows%poolSize], synth.ExternalID(rows), synth.AgentID(rows%agents), t0.Add(time.Duration(rows)*time.Second))
			rows++
		}
		out, err := s.UpsertTranscripts(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if out[0] != store.Created {
			b.Fatalf("outcome %v, want created", out[0])
		}
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "transcripts/s")
	size, err := s.SizeOnDisk(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(size)/float64(rows), "bytes/transcript")
}
