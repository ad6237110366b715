package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

func (r *policyRow) checkSet() store.CheckSetVersion {
	return store.CheckSetVersion{Version: r.Version, Document: []byte(r.Document), CreatedBy: r.CreatedBy, CreatedAt: fromMillis(r.CreatedAt)}
}

// checkSetDetail is what a checks.create event says.
type checkSetDetail struct {
	Version  int64 `json:"version"`
	CheckSet any   `json:"check_set"` // the document as stored
}

// AddCheckSetVersion stores document as version max+1 unless the latest
// holds the same bytes, as AddPolicyVersion does.
func (s *Store) AddCheckSetVersion(ctx context.Context, document []byte, createdBy string) (store.CheckSetVersion, error) {
	var out store.CheckSetVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			// As for policies: the second of two writers waits and reads
			// the first's version.
			if _, err := tx.ExecContext(ctx, "LOCK TABLE check_sets IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		var latest policyRow
		err := tx.GetContext(ctx, &latest, "SELECT "+policyColumns+" FROM check_sets ORDER BY version DESC LIMIT 1")
		switch {
		case err == nil && latest.Document == string(document):
			out = latest.checkSet()
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		now := s.now().UnixMilli()
		out = store.CheckSetVersion{Version: latest.Version + 1, Document: bytes.Clone(document), CreatedBy: createdBy, CreatedAt: fromMillis(now)}
		if _, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO check_sets ("+policyColumns+") VALUES (?, ?, ?, ?)"),
			out.Version, string(document), createdBy, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, createdBy, "checks.create", "check_set", out.Version,
			checkSetDetail{Version: out.Version, CheckSet: jsonDocument(document)})
	})
	if err != nil {
		return store.CheckSetVersion{}, fmt.Errorf("sqlstore: add check set version: %w", err)
	}
	return out, nil
}

// LatestCheckSet returns the newest check set version, or store.ErrNotFound.
func (s *Store) LatestCheckSet(ctx context.Context) (store.CheckSetVersion, error) {
	var r policyRow
	if err := s.r.GetContext(ctx, &r, "SELECT "+policyColumns+" FROM check_sets ORDER BY version DESC LIMIT 1"); err != nil {
		return store.CheckSetVersion{}, notFound(err, "latest check set")
	}
	return r.checkSet(), nil
}

// GetCheckSet returns one check set version, or store.ErrNotFound.
func (s *Store) GetCheckSet(ctx context.Context, version int64) (store.CheckSetVersion, error) {
	var r policyRow
	if err := s.r.GetContext(ctx, &r, s.r.Rebind("SELECT "+policyColumns+" FROM check_sets WHERE version = ?"), version); err != nil {
		return store.CheckSetVersion{}, notFound(err, fmt.Sprintf("check set version %d", version))
	}
	return r.checkSet(), nil
}
