package sqlstore

import (
	"os"
	"testing"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
)

// BenchmarkReassignAll moves all open items of one inspector to another in
// one ReassignPicks, as `qactl review reassign --from` does: 3,618 items,
// the largest queue issue 9 met (QA_BENCH_QUEUE changes it). It reports
// the time of one whole move.
func BenchmarkReassignAll(b *testing.B) {
	n := envInt(b, "QA_BENCH_QUEUE", 3618)
	b.Run("sqlite", func(b *testing.B) { benchReassignAll(b, newSQLite(b), n) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgEnv) == "" {
			b.Skipf("set %s to benchmark PostgreSQL", pgEnv)
		}
		benchReassignAll(b, newPostgres(b), n)
	})
}

func benchReassignAll(b *testing.B, s *Store, n int) {
	ctx := b.Context()
	fillYear(b, s, n, 0)
	for _, id := range []string{"qa-1", "qa-2"} {
		if _, err := s.UpsertInspector(ctx, store.Inspector{ID: id, Name: id, Active: true}, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	run, _, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("seed"), Trigger: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	picks := make([]store.Pick, n)
	for i := range picks {
		picks[i] = store.Pick{ExternalID: synth.ExternalID(i), AgentID: synth.AgentID(i % 2000), Reason: "random", Rank: 1 + i/2000,
			Key: uint64(i), InspectorID: "qa-1", Status: store.PickAssigned}
	}
	if _, err := s.CompleteRun(ctx, run.ID, picks, 0); err != nil {
		b.Fatal(err)
	}
	held, err := s.ListPicks(ctx, store.PickFilter{RunID: run.ID})
	if err != nil || len(held) != n {
		b.Fatalf("%d picks, %v; want %d", len(held), err, n)
	}
	from, to := "qa-1", "qa-2"
	for b.Loop() {
		r := store.Reassignment{MoveNote: store.MoveNote{Actor: "lead", Bulk: true}, Moves: make([]store.PickMove, n)}
		for i, p := range held {
			r.Moves[i] = store.PickMove{PickID: p.ID, From: from, To: to}
		}
		moved, err := s.ReassignPicks(ctx, r)
		if err != nil || len(moved) != n {
			b.Fatalf("moved %d, %v; want %d", len(moved), err, n)
		}
		from, to = to, from
	}
}
