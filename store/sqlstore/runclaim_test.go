package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"qa-sampling/store"
)

func createRun(t *testing.T, s *Store) store.Run {
	t.Helper()
	run, _, err := s.CreateRun(t.Context(), store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("seed"), Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// A SQLite claim lives in the process that made it: a process that was
// killed mid-run leaves none behind, and the next one to open the file
// completes the run at once.
func TestSQLiteClaimEndsWithItsProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qa.db")
	first, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := createRun(t, first)
	if _, err := first.ClaimRun(t.Context(), run.ID); err != nil {
		t.Fatal(err)
	}
	_ = first.Close() // the runner's process ends without releasing
	next, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = next.Close() }()
	release, err := next.ClaimRun(t.Context(), run.ID)
	if err != nil {
		t.Fatalf("claiming the dead runner's run: %v", err)
	}
	release()
}

// On PostgreSQL the claim lives in the runner's session: while it lasts
// other replicas wait; when the session ends (the runner's process or
// host died) the next caller takes the run over.
func TestPostgresClaimEndsWithItsSession(t *testing.T) {
	dsn := pgSchemaDSN(t)
	open := func() *Store {
		s, err := Open(t.Context(), dsn, Options{AutoMigrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	runner, replica := open(), open()
	run := createRun(t, runner)
	release, err := runner.ClaimRun(t.Context(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := replica.ClaimRun(t.Context(), run.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claiming a run a live replica holds = %v, want ErrConflict", err)
	}
	// The runner's session ends as it would when its process is killed.
	key := runClaimKey(runner.schema, run.ID)
	var ended int
	err = replica.w.GetContext(t.Context(), &ended, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 1 AND granted`,
		uint32(uint64(key)>>32), uint32(uint64(key)))
	if err != nil || ended != 1 {
		t.Fatalf("ending the runner's session: %d sessions, %v", ended, err)
	}
	// The server drops the lock as the terminated backend exits, a moment
	// after pg_terminate_backend returns.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		release, err := replica.ClaimRun(ctx, run.ID)
		if err == nil {
			release()
			return
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("claiming after the runner's session ended: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the run stayed claimed after its runner's session ended")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
