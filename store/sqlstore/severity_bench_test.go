package sqlstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"qa-sampling/severity"
	"qa-sampling/store"
)

// BenchmarkSeverityFit120k measures issue 12's figure: the inspector
// severity fit over 2,000 agents × 32 inspectors × 12 weeks (120k final
// reviews, 5 per agent and week, inspectors drawn at random as the
// rotation spreads them): reading the reviews (SeverityRows) and fitting
// (severity.Estimate), as the server does once per range until the next
// finalised review.
//
//	go test ./store/sqlstore/ -run x -bench SeverityFit120k -benchtime 5x
func BenchmarkSeverityFit120k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSeverityFit(b, newSQLite(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Getenv(pgEnv) == "" {
			b.Skipf("set %s", pgEnv)
		}
		benchSeverityFit(b, newPostgres(b))
	})
}

func benchSeverityFit(b *testing.B, s *Store) {
	ctx := context.Background()
	const agents, inspectors, weeks, perWeek = 2000, 32, 12, 5
	// The rows go straight into reviews, without the picks, runs and
	// chats behind them: the foreign keys are off for the load.
	if s.dialect == dialectSQLite { // outside a transaction, on the one writer connection
		if _, err := s.w.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	if s.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lenient := make([]float64, inspectors)
	for i := range lenient {
		lenient[i] = 3 * rng.NormFloat64()
	}
	stmt, err := tx.PreparexContext(ctx, tx.Rebind(`INSERT INTO reviews (pick_id, inspector_id, agent_id, external_id, week,
		rubric_version, status, ratings, details, score, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 'final', '', '', ?, ?, ?)`))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stmt.Close() }()
	now := time.Now().UnixMilli()
	id := 0
	for a := range agents {
		level := 78 + 8*rng.NormFloat64()
		for w := range weeks {
			for range perWeek {
				id++
				i := rng.IntN(inspectors)
				score := min(max(level+lenient[i]+9*rng.NormFloat64(), 0), 100)
				if _, err := stmt.ExecContext(ctx, id, fmt.Sprintf("insp-%02d", i), fmt.Sprintf("agent-%04d", a),
					fmt.Sprintf("chat-%d", id), fmt.Sprintf("2026-W%02d", 30+w), score, now, now); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// As autovacuum leaves a table in steady state: statistics, and the
	// visibility map that lets PostgreSQL answer from the index alone.
	vacuum := "ANALYZE"
	if s.dialect == dialectPostgres {
		vacuum = "VACUUM ANALYZE reviews"
	}
	if _, err := s.w.ExecContext(ctx, vacuum); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var read, fit time.Duration
	for b.Loop() {
		start := time.Now()
		rows, err := s.SeverityRows(ctx, "2026-W30", "2026-W41")
		if err != nil {
			b.Fatal(err)
		}
		read += time.Since(start)
		if len(rows) != agents*weeks*perWeek {
			b.Fatalf("%d rows", len(rows))
		}
		start = time.Now()
		in := make([]severity.Review, 0, len(rows))
		for _, r := range rows {
			if r.Status == store.ReviewFinal && !r.Critical {
				in = append(in, severity.Review{Agent: r.AgentID, Inspector: r.InspectorID, Score: r.Score})
			}
		}
		f := severity.Estimate(in)
		fit += time.Since(start)
		if f.Used != len(rows) {
			b.Fatalf("fit used %d", f.Used)
		}
	}
	b.ReportMetric(float64(read.Milliseconds())/float64(b.N), "read-ms/op")
	b.ReportMetric(float64(fit.Milliseconds())/float64(b.N), "fit-ms/op")
}
