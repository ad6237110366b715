package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
