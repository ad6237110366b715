package sqlstore

import (
	"errors"
	"os"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// TestPostgresRetentionOneReplicaAtATime: while another replica holds the
// retention lock (here, a session holding the same advisory lock), a
// retention call refuses with ErrConflict instead of deleting alongside;
// once it is free the call goes through.
func TestPostgresRetentionOneReplicaAtATime(t *testing.T) {
	t.Parallel()
	dsn := pgSchemaDSN(t)
	a, err := Open(t.Context(), dsn, Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	b, err := Open(t.Context(), dsn, Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	ctx := t.Context()
	conn, err := a.w.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", retentionLockKey(a.schema)); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Now()
	if _, err := b.DeleteUnsampledTranscripts(ctx, store.RetentionCursor{}, cutoff, 10); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DeleteUnsampledTranscripts while another holds the lock = %v, want ErrConflict", err)
	}
	if _, err := b.PurgeReviewedTranscripts(ctx, store.RetentionCursor{}, cutoff, 10); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PurgeReviewedTranscripts while another holds the lock = %v, want ErrConflict", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", retentionLockKey(a.schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteUnsampledTranscripts(ctx, store.RetentionCursor{}, cutoff, 10); err != nil {
		t.Errorf("DeleteUnsampledTranscripts once the lock is free: %v", err)
	}
}

// TestPostgresRetentionSparesAChatMovedMeanwhile: a chat pushed again with
// a recent end time while retention's batch is between reading its
// candidates and deleting them is not deleted: under READ COMMITTED the
// DELETE waits for the push and then re-reads the row, so it must
// re-check the end time, not only the id. (SQLite has one writer: the
// batch reads and deletes with no push between.)
func TestPostgresRetentionSparesAChatMovedMeanwhile(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s", pgEnv)
	}
	s := newPostgres(t)
	ctx := t.Context()
	if err := s.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	old := benchWeek.Add(time.Hour)
	p := transcript.Prepare(transcript.Transcript{ExternalID: "moved", AgentID: "a1", Channel: "web",
		StartedAt: old, EndedAt: old.Add(time.Minute), Messages: []transcript.Message{
			{Role: transcript.RoleCustomer, Text: "在吗", SentAt: old},
			{Role: transcript.RoleAgent, Text: "您好", SentAt: old.Add(time.Minute)}}})
	p.Checks = transcript.Checks{Version: 1, Flags: 0b10}
	if _, err := s.UpsertTranscripts(ctx, []*transcript.Prepared{p}); err != nil {
		t.Fatal(err)
	}
	cutoff := benchWeek.AddDate(0, 0, 7)
	recent := cutoff.Add(24 * time.Hour)

	// The push: its transaction has moved the chat and not committed yet.
	push, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = push.Rollback() }()
	if _, err := push.ExecContext(ctx, "UPDATE transcripts SET ended_at = $1, revision = revision + 1 WHERE external_id = 'moved'",
		recent.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	var xid string
	if err := push.GetContext(ctx, &xid, `SELECT transactionid::text FROM pg_locks
		WHERE pid = pg_backend_pid() AND locktype = 'transactionid' AND granted`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		batch store.RetentionBatch
		err   error
	}
	done := make(chan result, 1)
	go func() {
		b, err := s.DeleteUnsampledTranscripts(ctx, store.RetentionCursor{}, cutoff, 10)
		done <- result{b, err}
	}()
	// Retention read the chat as a candidate and its DELETE waits for the
	// push's row lock.
	for waiting := 0; waiting == 0; {
		select {
		case r := <-done:
			t.Fatalf("retention ended without waiting for the push: %+v, %v", r.batch, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if err := s.r.GetContext(ctx, &waiting, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted`, xid); err != nil {
			t.Fatal(err)
		}
	}
	if err := push.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.batch.Removed != 0 {
		t.Errorf("retention removed %d chats; the only one ends after the cut-off now", r.batch.Removed)
	}
	if _, err := s.GetTranscript(ctx, "moved"); err != nil {
		t.Fatalf("the chat pushed with a recent end time: %v", err)
	}
	counts, err := s.CountCheckFlags(ctx, recent.Add(-time.Hour), recent.Add(time.Hour))
	if err != nil || len(counts) != 1 || counts[0].Chats != 1 {
		t.Errorf("check counts at its new end: %+v, %v; want it once", counts, err)
	}
	if kept, err := s.CountCheckFlags(ctx, benchWeek, cutoff); err != nil || len(kept) != 0 {
		t.Errorf("check counts of its old week: %+v, %v; want none (not kept as deleted)", kept, err)
	}
}
