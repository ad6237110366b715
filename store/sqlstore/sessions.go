package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

type sessionRow struct {
	ID          string        `db:"id"`
	SecretHash  []byte        `db:"secret_hash"`
	Role        string        `db:"role"`
	Subject     string        `db:"subject"`
	CreatedAt   int64         `db:"created_at"`
	LastSeenAt  int64         `db:"last_seen_at"`
	ExpiresAt   int64         `db:"expires_at"`
	RevokedAt   sql.NullInt64 `db:"revoked_at"`
	StartedBy   string        `db:"started_by"`
	StartedWith string        `db:"started_with"`
	UserAgent   string        `db:"user_agent"`
}

const sessionColumns = "id, secret_hash, role, subject, created_at, last_seen_at, expires_at, revoked_at, started_by, started_with, user_agent"

func (r *sessionRow) session() store.Session {
	s := store.Session{
		ID: r.ID, SecretHash: r.SecretHash, Role: store.Role(r.Role), Subject: r.Subject,
		CreatedAt: fromMillis(r.CreatedAt), LastSeenAt: fromMillis(r.LastSeenAt), ExpiresAt: fromMillis(r.ExpiresAt),
		StartedBy: r.StartedBy, StartedWith: r.StartedWith, UserAgent: r.UserAgent,
	}
	if r.RevokedAt.Valid {
		s.RevokedAt = fromMillis(r.RevokedAt.Int64)
	}
	return s
}

// asStored is t as the store gives it back: UTC, whole milliseconds.
func asStored(t time.Time) *time.Time {
	s := t.UTC().Truncate(time.Millisecond)
	return &s
}

// loginLinkDetail is what a login_link event says: never the code nor its
// digest.
type loginLinkDetail struct {
	LoginLinkID string     `json:"login_link_id"`
	Role        store.Role `json:"role"`
	Subject     string     `json:"subject"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// sessionDetail is what a session event says: never the secret nor its
// digest. TokenID names the token whose revocation ended the session.
type sessionDetail struct {
	SessionID   string     `json:"session_id"`
	Role        store.Role `json:"role"`
	Subject     string     `json:"subject"`
	StartedBy   string     `json:"started_by,omitempty"`
	StartedWith string     `json:"started_with,omitempty"`
	UserAgent   string     `json:"user_agent,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	TokenID     string     `json:"token_id,omitempty"`
}

func sessionStarted(s store.Session) sessionDetail {
	return sessionDetail{SessionID: s.ID, Role: s.Role, Subject: s.Subject, StartedBy: s.StartedBy,
		StartedWith: s.StartedWith, UserAgent: s.UserAgent, ExpiresAt: asStored(s.ExpiresAt)}
}

// CreateLoginLink stores l and audits it; store.ErrConflict if its id or
// code digest is taken.
func (s *Store) CreateLoginLink(ctx context.Context, l store.LoginLink) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO login_links (id, code_hash, role, subject, created_at, expires_at, created_by)
			VALUES (?, ?, ?, ?, ?, ?, ?)`),
			l.ID, l.CodeHash, string(l.Role), l.Subject, l.CreatedAt.UnixMilli(), l.ExpiresAt.UnixMilli(), l.CreatedBy); err != nil {
			return err
		}
		return s.auditEntity(ctx, tx, l.CreatedBy, "login_link.create", "login_link", l.ID,
			loginLinkDetail{LoginLinkID: l.ID, Role: l.Role, Subject: l.Subject, ExpiresAt: asStored(l.ExpiresAt)})
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: login link %q exists: %w", l.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create login link %q: %w", l.ID, err)
	}
	return nil
}

// errLinkRefused carries why ConsumeLoginLink's claim failed out of the
// transaction, which then rolls back having written nothing.
type errLinkRefused struct{ err error }

func (e errLinkRefused) Error() string { return e.err.Error() }
func (e errLinkRefused) Unwrap() error { return e.err }

// ConsumeLoginLink redeems a login link and stores the session it starts,
// in one transaction. The claiming UPDATE is the one-time guard: of two
// redemptions of one code, the second finds used_at set (PostgreSQL
// re-checks the row after the first commits) and fails.
func (s *Store) ConsumeLoginLink(ctx context.Context, codeHash []byte, sess store.Session) (store.Session, error) {
	at := sess.CreatedAt.UnixMilli()
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var link struct {
			ID      string `db:"id"`
			Role    string `db:"role"`
			Subject string `db:"subject"`
		}
		err := tx.GetContext(ctx, &link, tx.Rebind(`UPDATE login_links SET used_at = ?
			WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING id, role, subject`), at, codeHash, at)
		if errors.Is(err, sql.ErrNoRows) {
			return errLinkRefused{err: s.whyLinkRefused(ctx, tx, codeHash)}
		}
		if err != nil {
			return err
		}
		sess.Role, sess.Subject = store.Role(link.Role), link.Subject
		sess.StartedBy, sess.StartedWith = store.StartedByLink, link.ID
		if err := s.insertSession(ctx, tx, sess); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE login_links SET session_id = ? WHERE id = ?"), sess.ID, link.ID)
		return err
	})
	var refused errLinkRefused
	if errors.As(err, &refused) {
		return store.Session{}, fmt.Errorf("sqlstore: redeem login link: %w", refused.err)
	}
	if isUniqueViolation(err) {
		return store.Session{}, fmt.Errorf("sqlstore: session %q exists: %w", sess.ID, store.ErrConflict)
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlstore: redeem login link: %w", err)
	}
	return s.GetSession(ctx, sess.ID)
}

// whyLinkRefused tells an unknown code from a used or expired one.
func (s *Store) whyLinkRefused(ctx context.Context, tx *sqlx.Tx, codeHash []byte) error {
	var link struct {
		UsedAt sql.NullInt64 `db:"used_at"`
	}
	err := tx.GetContext(ctx, &link, tx.Rebind("SELECT used_at FROM login_links WHERE code_hash = ?"), codeHash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case err != nil:
		return err
	case link.UsedAt.Valid:
		return store.ErrLoginLinkUsed
	}
	return store.ErrLoginLinkExpired
}

// CreateSession stores a session started with a token and audits it.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error { return s.insertSession(ctx, tx, sess) })
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: session %q exists: %w", sess.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create session %q: %w", sess.ID, err)
	}
	return nil
}

// insertSession stores sess and audits its start as its subject.
func (s *Store) insertSession(ctx context.Context, tx *sqlx.Tx, sess store.Session) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		sess.ID, sess.SecretHash, string(sess.Role), sess.Subject, sess.CreatedAt.UnixMilli(), sess.LastSeenAt.UnixMilli(),
		sess.ExpiresAt.UnixMilli(), nullMillis(sess.RevokedAt), sess.StartedBy, sess.StartedWith, sess.UserAgent); err != nil {
		return err
	}
	return s.auditEntity(ctx, tx, sess.Subject, "session.start", "session", sess.ID, sessionStarted(sess))
}

// GetSession returns a session, revoked or not, or store.ErrNotFound. The
// authenticator calls it for every uncached session, so it runs prepared.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	var r sessionRow
	if err := s.readGet(ctx, &r, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?", id); err != nil {
		return store.Session{}, notFound(err, fmt.Sprintf("session %q", id))
	}
	return r.session(), nil
}

// TouchSession moves a live session's last_seen_at forward to at.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := s.txExec(ctx, tx, `UPDATE sessions SET last_seen_at = ?
			WHERE id = ? AND last_seen_at < ? AND revoked_at IS NULL`, at.UnixMilli(), id, at.UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var one int
		return tx.GetContext(ctx, &one, tx.Rebind("SELECT 1 FROM sessions WHERE id = ?"), id)
	})
	if err != nil {
		return notFound(err, fmt.Sprintf("touch session %q", id))
	}
	return nil
}

// ListSessions returns the sessions f selects, newest first.
func (s *Store) ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error) {
	var fq filterQuery
	if f.Role != "" {
		fq.add("role = ?", string(f.Role))
	}
	if f.Subject != "" {
		fq.add("subject = ?", f.Subject)
	}
	if !f.ActiveAt.IsZero() {
		at := f.ActiveAt.UnixMilli()
		fq.addBare("revoked_at IS NULL")
		fq.add("expires_at > ?", at)
		if f.IdleTimeout > 0 {
			fq.add("last_seen_at > ?", at-f.IdleTimeout.Milliseconds())
		}
	}
	q, args := fq.build("SELECT "+sessionColumns+" FROM sessions", "created_at DESC, id DESC", f.Limit)
	var rows []sessionRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list sessions: %w", err)
	}
	out := make([]store.Session, len(rows))
	for i := range rows {
		out[i] = rows[i].session()
	}
	return out, nil
}

// RevokeSession revokes a session as actor (session.revoke).
func (s *Store) RevokeSession(ctx context.Context, id string, at time.Time, actor string) (store.Session, error) {
	return s.endSession(ctx, id, at, actor, "session.revoke")
}

// EndSession revokes a session as its holder signing out (session.end).
func (s *Store) EndSession(ctx context.Context, id string, at time.Time) (store.Session, error) {
	return s.endSession(ctx, id, at, "", "session.end")
}

// endSession revokes session id and audits action as actor, or as the
// session's subject when actor is empty; a revoked session is returned
// as it is.
func (s *Store) endSession(ctx context.Context, id string, at time.Time, actor, action string) (store.Session, error) {
	var sess store.Session
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r sessionRow
		err := tx.GetContext(ctx, &r, tx.Rebind("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING "+sessionColumns),
			at.UnixMilli(), id)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.GetContext(ctx, &r, tx.Rebind("SELECT "+sessionColumns+" FROM sessions WHERE id = ?"), id)
			sess = r.session()
			return err // revoked before, or unknown
		}
		if err != nil {
			return err
		}
		sess = r.session()
		if actor == "" {
			actor = sess.Subject
		}
		return s.auditEntity(ctx, tx, actor, action, "session", id,
			sessionDetail{SessionID: id, Role: sess.Role, Subject: sess.Subject, RevokedAt: asStored(at)})
	})
	if err != nil {
		return store.Session{}, notFound(err, fmt.Sprintf("end session %q", id))
	}
	return sess, nil
}

// RevokeSessions revokes every live session of subject (of role, when
// set) as actor.
func (s *Store) RevokeSessions(ctx context.Context, role store.Role, subject string, at time.Time, actor string) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		n, err = s.revokePersonSessions(ctx, tx, role, subject, at, actor, "")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke sessions of %q: %w", subject, err)
	}
	return n, nil
}

// revokePersonSessions revokes in tx the live sessions of subject (of
// role, when set), one session.revoke event each naming tokenID when
// their token's revocation is the cause.
func (s *Store) revokePersonSessions(ctx context.Context, tx *sqlx.Tx, role store.Role, subject string, at time.Time, actor, tokenID string) (int, error) {
	q := "UPDATE sessions SET revoked_at = ? WHERE subject = ? AND revoked_at IS NULL"
	args := []any{at.UnixMilli(), subject}
	if role != "" {
		q += " AND role = ?"
		args = append(args, string(role))
	}
	var rows []sessionRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q+" RETURNING "+sessionColumns), args...); err != nil {
		return 0, err
	}
	for _, r := range rows {
		if err := s.auditEntity(ctx, tx, actor, "session.revoke", "session", r.ID, sessionDetail{
			SessionID: r.ID, Role: store.Role(r.Role), Subject: r.Subject, RevokedAt: asStored(at), TokenID: tokenID,
		}); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}
