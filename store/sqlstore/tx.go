package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"qa-sampling/store"
)

// PostgreSQL SQLSTATEs this package reacts to.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

// retryable reports whether err is a transient lock conflict after which
// the whole transaction can simply run again: SQLITE_BUSY once busy_timeout
// has run out (another process held the file), or a PostgreSQL deadlock or
// serialization failure.
func retryable(d dialect, err error) bool {
	if d == dialectSQLite {
		var se *sqlite.Error
		if errors.As(err, &se) {
			// Extended result codes are on; the primary code is the low byte.
			code := se.Code() & 0xff
			return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
		}
		return false
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected)
}

// isUniqueViolation reports a duplicate key.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}

// maxAttempts bounds withRetry: busy_timeout has already waited 10 s
// inside SQLite, so a handful of attempts is plenty.
const maxAttempts = 5

// withRetry runs fn until it succeeds, fails for good, or maxAttempts
// transient lock conflicts have happened, backing off 20, 40, 80, ... ms.
// fn must be a whole transaction so that running it again is safe.
func withRetry(ctx context.Context, d dialect, fn func() error) error {
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !retryable(d, err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// inTx runs fn in a write transaction, retried as a whole on transient
// lock conflicts. fn's error is returned as is (after rollback).
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return withRetry(ctx, s.dialect, func() (err error) {
		tx, err := s.w.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() {
			if err != nil {
				_ = tx.Rollback()
			}
		}()
		if err = fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// inReadTx runs fn in a read-only transaction so that its queries see one
// snapshot (a SQLite read transaction always does; PostgreSQL needs
// REPEATABLE READ for that).
func (s *Store) inReadTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == dialectPostgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.r.BeginTxx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// notFound wraps sql.ErrNoRows as store.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

// stmtCache holds statements prepared once per database handle. The
// SQLite driver compiles every statement it is given from scratch, which
// was a quarter of the CPU of finalising a review; a prepared statement is
// compiled once per connection and reused. PostgreSQL needs none of this:
// pgx caches prepared statements per connection itself.
//
// The SQLite writer pool has one connection, which a transaction holds, so
// a statement cannot be prepared on it from inside one: a statement a
// transaction misses runs unprepared and is noted, and prepareMissed
// prepares it once the transaction has released the connection.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[stmtKey]*sqlx.Stmt
	missed map[string]bool // writer statements to prepare
}

type stmtKey struct {
	db    *sqlx.DB
	query string
}

// cached returns query's statement on db, if prepared.
func (c *stmtCache) cached(db *sqlx.DB, query string) *sqlx.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[stmtKey{db, query}]
}

// prepared returns query (with ? placeholders) prepared on db, preparing
// it now if needed; db must have a free connection.
func (s *Store) prepared(ctx context.Context, db *sqlx.DB, query string) (*sqlx.Stmt, error) {
	if st := s.stmts.cached(db, query); st != nil {
		return st, nil
	}
	st, err := db.PreparexContext(ctx, db.Rebind(query))
	if err != nil {
		return nil, err
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if prev, ok := s.stmts.stmts[stmtKey{db, query}]; ok {
		_ = st.Close() //nolint:sqlclosecheck // prepared twice at once; the first one stays cached
		return prev, nil
	}
	if s.stmts.stmts == nil {
		s.stmts.stmts = make(map[stmtKey]*sqlx.Stmt)
	}
	s.stmts.stmts[stmtKey{db, query}] = st
	return st, nil
}

// closeStatements closes every cached statement; the store's Close calls
// it before closing the pools.
func (s *Store) closeStatements() error {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	var errs []error
	for k, st := range s.stmts.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts.stmts, k)
	}
	return errors.Join(errs...)
}

// txStmt returns query's writer statement bound to tx, or nil (after
// noting the miss) when it is not prepared yet or not on SQLite.
func (s *Store) txStmt(ctx context.Context, tx *sqlx.Tx, query string) *sqlx.Stmt {
	if s.dialect != dialectSQLite {
		return nil
	}
	if st := s.stmts.cached(s.w, query); st != nil {
		return tx.StmtxContext(ctx, st)
	}
	s.stmts.mu.Lock()
	if s.stmts.missed == nil {
		s.stmts.missed = make(map[string]bool)
	}
	s.stmts.missed[query] = true
	s.stmts.mu.Unlock()
	return nil
}

// prepareMissed prepares the writer statements transactions missed. Call
// it outside any write transaction.
func (s *Store) prepareMissed(ctx context.Context) {
	s.stmts.mu.Lock()
	missed := s.stmts.missed
	s.stmts.missed = nil
	s.stmts.mu.Unlock()
	for q := range missed {
		// A failure only means the statement stays unprepared.
		_, _ = s.prepared(ctx, s.w, q) //nolint:sqlclosecheck // cached; closeStatements closes it
	}
}

// txGet is tx.GetContext, through a prepared statement where there is one.
func (s *Store) txGet(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	if st := s.txStmt(ctx, tx, query); st != nil { //nolint:sqlclosecheck // bound to tx, closed when it ends
		return st.GetContext(ctx, dest, args...)
	}
	return tx.GetContext(ctx, dest, tx.Rebind(query), args...)
}

// getFunc runs a one-row query written with ? placeholders: s.readGet,
// or s.txGet bound to a transaction by txGetter. The get helpers
// (getReview, getRubric, ...) take one so that the public readers and the
// writers' read-backs share one query.
type getFunc func(ctx context.Context, dest any, query string, args ...any) error

// txGetter is s.txGet bound to tx.
func (s *Store) txGetter(tx *sqlx.Tx) getFunc {
	return func(ctx context.Context, dest any, query string, args ...any) error {
		return s.txGet(ctx, tx, dest, query, args...)
	}
}

// txExec is tx.ExecContext, through a prepared statement where there is one.
func (s *Store) txExec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.txStmt(ctx, tx, query); st != nil { //nolint:sqlclosecheck // bound to tx, closed when it ends
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, tx.Rebind(query), args...)
}

// readGet is a GetContext on the read pool through a prepared statement.
func (s *Store) readGet(ctx context.Context, dest any, query string, args ...any) error {
	if s.dialect != dialectSQLite {
		return s.r.GetContext(ctx, dest, s.r.Rebind(query), args...)
	}
	st, err := s.prepared(ctx, s.r, query) //nolint:sqlclosecheck // cached; closeStatements closes it
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

// readSelect is a SelectContext on the read pool through a prepared
// statement.
func (s *Store) readSelect(ctx context.Context, dest any, query string, args ...any) error {
	if s.dialect != dialectSQLite {
		return s.r.SelectContext(ctx, dest, s.r.Rebind(query), args...)
	}
	st, err := s.prepared(ctx, s.r, query) //nolint:sqlclosecheck // cached; closeStatements closes it
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}
