package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"qa-sampling/store"
)

// runClaims are the runs this process is completing (SQLite). SQLite is
// served by one process, so a claim needs no record in the file: a claim
// made by a process that was killed ends with it, and the next process
// starts with none.
type runClaims struct {
	mu   sync.Mutex
	held map[int64]bool
}

// ClaimRun makes the caller the runner of a run (see store.RunStore).
// On PostgreSQL the claim is a session advisory lock held on a connection
// of its own until release: the server drops it when that connection
// ends, which a killed process's kernel does at once.
func (s *Store) ClaimRun(ctx context.Context, runID int64) (func(), error) {
	if s.dialect == dialectPostgres {
		return s.claimRunPostgres(ctx, runID)
	}
	c := &s.runClaims
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held[runID] {
		return nil, fmt.Errorf("sqlstore: claim run %d: another runner holds it: %w", runID, store.ErrConflict)
	}
	if c.held == nil {
		c.held = make(map[int64]bool)
	}
	c.held[runID] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			delete(c.held, runID)
		})
	}, nil
}

// runClaimKey is the advisory lock of a run, scoped to the schema: run ids
// restart in every schema, and advisory locks are per database.
func runClaimKey(schema string, runID int64) int64 {
	h := fnv.New64a()
	h.Write([]byte("qa-sampling/run/" + schema + "/" + strconv.FormatInt(runID, 10)))
	return int64(h.Sum64() >> 1)
}

// claimKeepalive makes the server notice within about 20 s a runner whose
// host vanished without closing its connection (power loss, partition);
// the kernel default is two hours. A killed process needs none of it: its
// kernel closes the connection.
const claimKeepalive = `SELECT set_config('tcp_keepalives_idle', '5', false),
	set_config('tcp_keepalives_interval', '5', false), set_config('tcp_keepalives_count', '3', false)`

func (s *Store) claimRunPostgres(ctx context.Context, runID int64) (func(), error) {
	conn, err := s.w.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claim run %d: %w", runID, err)
	}
	key := runClaimKey(s.schema, runID)
	var got bool
	if err := conn.GetContext(ctx, &got, "SELECT pg_try_advisory_lock($1)", key); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("sqlstore: claim run %d: %w", runID, err)
	}
	// Unlocking frees the run at once for a caller polling right after;
	// the connection is then dropped rather than pooled (Raw with
	// ErrBadConn closes it), which ends the lock with the session should
	// the unlock have failed, and forgets the keepalive settings.
	discard := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", key)
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		_ = conn.Close()
	}
	if !got {
		_ = conn.Close()
		return nil, fmt.Errorf("sqlstore: claim run %d: another runner holds it: %w", runID, store.ErrConflict)
	}
	if _, err := conn.ExecContext(ctx, claimKeepalive); err != nil {
		discard()
		return nil, fmt.Errorf("sqlstore: claim run %d: %w", runID, err)
	}
	var once sync.Once
	return func() { once.Do(discard) }, nil
}
