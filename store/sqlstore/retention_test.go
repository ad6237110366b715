package sqlstore

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

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
	old := benchWeek.Add(time.Hour)
	storeOldChat(t, s, "moved", old, transcript.Checks{Version: 1, Flags: 0b10})
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
	// Retention read the chat as a candidate and its DELETE waits for the
	// push's row lock.
	r, err := retentionBehind(t, s, push, func() (store.RetentionBatch, error) {
		return s.DeleteUnsampledTranscripts(ctx, store.RetentionCursor{}, cutoff, 10)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed != 0 {
		t.Errorf("retention removed %d chats; the only one ends after the cut-off now", r.Removed)
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

// TestPostgresRetentionSparesAChatDisputedMeanwhile: a dispute opened on
// a reviewed chat while retention's purge batch is between finding it due
// and emptying it keeps the chat whole: the batch waits for the dispute's
// pick and judges it as the dispute left it. (SQLite has one writer.)
func TestPostgresRetentionSparesAChatDisputedMeanwhile(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s", pgEnv)
	}
	s := newPostgres(t)
	ctx := t.Context()
	old := benchWeek.Add(time.Hour)
	storeOldChat(t, s, "disputed", old, transcript.Checks{})
	// Reviewed long before the cut-off: due.
	var runID int64
	if err := s.w.GetContext(ctx, &runID, `INSERT INTO sampling_runs (week, policy_version, seed, "trigger", created_at)
		VALUES ('2026-W47', 1, 'seed', 'manual', $1) RETURNING id`, old.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO picks (run_id, transcript_id, ended_at, hash_key, created_at, updated_at,
		rank, agent_id, reason, status) SELECT $1, id, ended_at, 1, $2, $2, 1, 'a1', 'random', 'reviewed'
		FROM transcripts WHERE external_id = 'disputed'`, runID, old.Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	cutoff := benchWeek.AddDate(0, 0, 7)

	// The dispute: its transaction has reopened the pick and not committed yet.
	dispute, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = dispute.Rollback() }()
	if _, err := dispute.ExecContext(ctx, "UPDATE picks SET status = 'disputed', updated_at = $1 WHERE agent_id = 'a1'",
		cutoff.Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	// Retention found the chat's pick and waits for the dispute's lock.
	r, err := retentionBehind(t, s, dispute, func() (store.RetentionBatch, error) {
		return s.PurgeReviewedTranscripts(ctx, store.RetentionCursor{}, cutoff, 10)
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed != 0 || r.Waiting.IsZero() {
		t.Errorf("retention batch %+v; want nothing emptied and the disputed chat waiting", r)
	}
	got, err := s.GetTranscript(ctx, "disputed")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || !got.PurgedAt.IsZero() {
		t.Errorf("the disputed chat was emptied: %d messages, purged at %v", len(got.Messages), got.PurgedAt)
	}
	if evs, err := s.ListAudit(ctx, store.AuditFilter{Actor: retentionActor, Action: "retention.purge_reviewed"}); err != nil || len(evs) != 0 {
		t.Errorf("purge audit events %+v, %v; want none", evs, err)
	}
}

// retentionBehind runs a retention batch while holder, a transaction that
// has written and not committed, holds its row locks; once the batch is
// seen waiting for holder's transaction, holder commits, and the batch's
// result is returned. It fails the test if the batch ends without waiting.
func retentionBehind(t *testing.T, s *Store, holder *sqlx.Tx, batch func() (store.RetentionBatch, error)) (store.RetentionBatch, error) {
	t.Helper()
	ctx := t.Context()
	var xid string
	if err := holder.GetContext(ctx, &xid, `SELECT transactionid::text FROM pg_locks
		WHERE pid = pg_backend_pid() AND locktype = 'transactionid' AND granted`); err != nil {
		t.Fatal(err)
	}
	type result struct {
		batch store.RetentionBatch
		err   error
	}
	done := make(chan result, 1)
	go func() {
		b, err := batch()
		done <- result{b, err}
	}()
	for waiting := 0; waiting == 0; {
		select {
		case r := <-done:
			t.Fatalf("retention ended without waiting for the other transaction: %+v, %v", r.batch, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if err := s.r.GetContext(ctx, &waiting, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted`, xid); err != nil {
			t.Fatal(err)
		}
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	return r.batch, r.err
}

// storeOldChat stores a two-message chat of agent a1 that started at
// started, with checks, for the retention races above.
func storeOldChat(t *testing.T, s *Store, id string, started time.Time, checks transcript.Checks) {
	t.Helper()
	ctx := t.Context()
	if err := s.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	p := transcript.Prepare(transcript.Transcript{ExternalID: id, AgentID: "a1", Channel: "web",
		StartedAt: started, EndedAt: started.Add(time.Minute), Messages: []transcript.Message{
			{Role: transcript.RoleCustomer, Text: "在吗", SentAt: started},
			{Role: transcript.RoleAgent, Text: "您好", SentAt: started.Add(time.Minute)}}})
	p.Checks = checks
	if _, err := s.UpsertTranscripts(ctx, []*transcript.Prepared{p}); err != nil {
		t.Fatal(err)
	}
}
