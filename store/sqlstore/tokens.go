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

type tokenRow struct {
	ID         string        `db:"id"`
	SecretHash []byte        `db:"secret_hash"`
	Role       string        `db:"role"`
	Subject    string        `db:"subject"`
	CreatedAt  int64         `db:"created_at"`
	RevokedAt  sql.NullInt64 `db:"revoked_at"`
}

func (r *tokenRow) token() store.Token {
	t := store.Token{
		ID:         r.ID,
		SecretHash: r.SecretHash,
		Role:       store.Role(r.Role),
		Subject:    r.Subject,
		CreatedAt:  fromMillis(r.CreatedAt),
	}
	if r.RevokedAt.Valid {
		t.RevokedAt = fromMillis(r.RevokedAt.Int64)
	}
	return t
}

// nullMillis is t in Unix milliseconds, NULL for the zero time.
func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

const tokenColumns = "id, secret_hash, role, subject, created_at, revoked_at"

// CreateToken stores t and audits it as actor; store.ErrConflict if its
// id is taken.
func (s *Store) CreateToken(ctx context.Context, t store.Token, actor string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO tokens ("+tokenColumns+") VALUES (?, ?, ?, ?, ?, ?)"),
			t.ID, t.SecretHash, string(t.Role), t.Subject, t.CreatedAt.UnixMilli(), nullMillis(t.RevokedAt)); err != nil {
			return err
		}
		// The id is the token's public part; neither the secret nor its
		// hash goes into the trail.
		created := t.CreatedAt.UTC().Truncate(time.Millisecond) // as stored
		return s.auditEntity(ctx, tx, actor, "token.create", "token", t.ID,
			tokenDetail{TokenID: t.ID, Role: t.Role, Subject: t.Subject, CreatedAt: &created})
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlstore: token %q exists: %w", t.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create token %q: %w", t.ID, err)
	}
	return nil
}

// GetToken returns a token, revoked or not, or store.ErrNotFound.
func (s *Store) GetToken(ctx context.Context, id string) (store.Token, error) {
	return getToken(ctx, s.r, id)
}

func getToken(ctx context.Context, q queryer, id string) (store.Token, error) {
	var r tokenRow
	if err := sqlx.GetContext(ctx, q, &r, q.Rebind("SELECT "+tokenColumns+" FROM tokens WHERE id = ?"), id); err != nil {
		return store.Token{}, notFound(err, fmt.Sprintf("token %q", id))
	}
	return r.token(), nil
}

// ListTokens returns every token, oldest first.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	var rows []tokenRow
	if err := s.r.SelectContext(ctx, &rows, "SELECT "+tokenColumns+" FROM tokens ORDER BY created_at, id"); err != nil {
		return nil, fmt.Errorf("sqlstore: list tokens: %w", err)
	}
	out := make([]store.Token, len(rows))
	for i := range rows {
		out[i] = rows[i].token()
	}
	return out, nil
}

// RevokeToken marks a token revoked at the given time and audits it as
// actor, keeping an earlier revocation (and writing no event then), and
// revokes the console sessions of the token's role and subject in the same
// transaction, whether or not the token was revoked before: afterwards the
// person has no live session. It returns how many sessions it revoked;
// store.ErrNotFound for an unknown id.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time, actor string) (int, error) {
	var ended int
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var r tokenRow
		err := tx.GetContext(ctx, &r, tx.Rebind("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING "+tokenColumns),
			at.UnixMilli(), id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			tok, err := getToken(ctx, tx, id)
			if err != nil {
				return err
			}
			r.Role, r.Subject = string(tok.Role), tok.Subject // revoked before
		case err != nil:
			return err
		default:
			if err := s.auditEntity(ctx, tx, actor, "token.revoke", "token", id,
				tokenDetail{TokenID: id, Role: store.Role(r.Role), Subject: r.Subject, RevokedAt: asStored(at)}); err != nil {
				return err
			}
		}
		ended, err = s.revokePersonSessions(ctx, tx, store.Role(r.Role), r.Subject, at, actor, id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke token %q: %w", id, err)
	}
	return ended, nil
}
