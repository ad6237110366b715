package sqlstore

import (
	"errors"
	"testing"
	"time"

	"qa-sampling/store"
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
