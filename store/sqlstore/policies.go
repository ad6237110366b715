package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"qa-sampling/store"

	"github.com/jmoiron/sqlx"
)

type policyRow struct {
	Version   int64  `db:"version"`
	Document  string `db:"document"`
	CreatedBy string `db:"created_by"`
	CreatedAt int64  `db:"created_at"`
}

func (r *policyRow) policy() store.PolicyVersion {
	return store.PolicyVersion{Version: r.Version, Document: []byte(r.Document), CreatedBy: r.CreatedBy, CreatedAt: fromMillis(r.CreatedAt)}
}

const policyColumns = "version, document, created_by, created_at"

// AddPolicyVersion stores document as version max+1, unless the latest
// version holds the same bytes: then that version is returned and nothing
// is written, so that replicas storing the same default on first use, or
// an admin saving twice, end up with one version.
func (s *Store) AddPolicyVersion(ctx context.Context, document []byte, createdBy string) (store.PolicyVersion, error) {
	var out store.PolicyVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			// Two writers at once would both read the same latest version;
			// the lock (a mode that conflicts with itself, not with
			// readers) makes the second wait and read the first's. SQLite's
			// write transactions are serial anyway.
			if _, err := tx.ExecContext(ctx, "LOCK TABLE sampling_policies IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		var latest policyRow
		err := tx.GetContext(ctx, &latest, "SELECT "+policyColumns+" FROM sampling_policies ORDER BY version DESC LIMIT 1")
		switch {
		case err == nil && latest.Document == string(document):
			out = latest.policy()
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := s.now().UnixMilli()
		out = store.PolicyVersion{Version: latest.Version + 1, Document: bytes.Clone(document), CreatedBy: createdBy, CreatedAt: fromMillis(now)}
		if _, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO sampling_policies ("+policyColumns+") VALUES (?, ?, ?, ?)"),
			out.Version, string(document), createdBy, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, createdBy, "policy.create", "policy", out.Version,
			policyDetail{Version: out.Version, Policy: jsonDocument(document)})
	})
	if err != nil {
		return store.PolicyVersion{}, fmt.Errorf("sqlstore: add policy version: %w", err)
	}
	return out, nil
}

// LatestPolicy returns the newest policy version, or store.ErrNotFound.
func (s *Store) LatestPolicy(ctx context.Context) (store.PolicyVersion, error) {
	var r policyRow
	if err := s.r.GetContext(ctx, &r, "SELECT "+policyColumns+" FROM sampling_policies ORDER BY version DESC LIMIT 1"); err != nil {
		return store.PolicyVersion{}, notFound(err, "latest policy")
	}
	return r.policy(), nil
}

// GetPolicy returns one policy version, or store.ErrNotFound.
func (s *Store) GetPolicy(ctx context.Context, version int64) (store.PolicyVersion, error) {
	var r policyRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind("SELECT "+policyColumns+" FROM sampling_policies WHERE version = ?"), version); err != nil {
		return store.PolicyVersion{}, notFound(err, fmt.Sprintf("policy version %d", version))
	}
	return r.policy(), nil
}
