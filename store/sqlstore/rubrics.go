package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

type rubricRow struct {
	Version   int64  `db:"version"`
	Document  string `db:"document"`
	CreatedBy string `db:"created_by"`
	CreatedAt int64  `db:"created_at"`
	UpdatedAt int64  `db:"updated_at"`
	Locked    bool   `db:"locked"`
	Active    bool   `db:"active"`
}

func (r *rubricRow) rubric() store.RubricVersion {
	return store.RubricVersion{
		Version: r.Version, Document: []byte(r.Document), CreatedBy: r.CreatedBy,
		CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt),
		Locked: r.Locked, Active: r.Active,
	}
}

const rubricSelect = `SELECT r.version, r.document, r.created_by, r.created_at, r.updated_at, r.locked,
	(a.version IS NOT NULL) AS active
	FROM rubrics r LEFT JOIN rubric_active a ON a.version = r.version`

// getRubric reads one version, or the active one for version 0.
func getRubric(ctx context.Context, get getFunc, version int64) (store.RubricVersion, error) {
	var r rubricRow
	var err error
	if version == 0 {
		err = get(ctx, &r, rubricSelect+" WHERE a.version IS NOT NULL")
	} else {
		err = get(ctx, &r, rubricSelect+" WHERE r.version = ?", version)
	}
	if err != nil {
		return store.RubricVersion{}, notFound(err, fmt.Sprintf("rubric version %d", version))
	}
	return r.rubric(), nil
}

// lockRubrics serialises rubric writers on PostgreSQL, where two would
// otherwise read the same latest version; SQLite's writes are serial.
func (s *Store) lockRubrics(ctx context.Context, tx *sqlx.Tx) error {
	if s.dialect != dialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "LOCK TABLE rubrics IN SHARE ROW EXCLUSIVE MODE")
	return err
}

func (s *Store) insertRubric(ctx context.Context, tx *sqlx.Tx, document []byte, activate bool, actor string) (int64, error) {
	var latest int64
	if err := tx.GetContext(ctx, &latest, "SELECT COALESCE(MAX(version), 0) FROM rubrics"); err != nil {
		return 0, err
	}
	now := s.now().UnixMilli()
	version := latest + 1
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO rubrics (version, document, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?)`), version, string(document), actor, now, now); err != nil {
		return 0, err
	}
	if err := s.audit(ctx, tx, actor, "rubric.create", "rubric", version, map[string]any{"activate": activate, "rubric": jsonDocument(document)}); err != nil {
		return 0, err
	}
	if activate {
		if err := s.setActiveRubric(ctx, tx, version, actor); err != nil {
			return 0, err
		}
	}
	return version, nil
}

func (s *Store) setActiveRubric(ctx context.Context, tx *sqlx.Tx, version int64, actor string) error {
	var previous int64 // 0: none was active
	if err := tx.GetContext(ctx, &previous, "SELECT COALESCE(MAX(version), 0) FROM rubric_active"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO rubric_active (id, version) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`), version); err != nil {
		return err
	}
	return s.audit(ctx, tx, actor, "rubric.activate", "rubric", version, map[string]any{"previous_active": previous})
}

// EnsureRubric stores document as the first, active version unless a
// rubric exists; replicas racing on first start agree on one.
func (s *Store) EnsureRubric(ctx context.Context, document []byte, actor string) (store.RubricVersion, error) {
	var out store.RubricVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockRubrics(ctx, tx); err != nil {
			return err
		}
		active, err := getRubric(ctx, s.txGetter(tx), 0)
		if err == nil {
			out = active
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var newest int64
		if err := tx.GetContext(ctx, &newest, "SELECT COALESCE(MAX(version), 0) FROM rubrics"); err != nil {
			return err
		}
		if newest > 0 {
			// Versions exist but none is active: an admin added one without
			// activating it before any default was seeded. Activate the
			// newest rather than invent another.
			if err := s.setActiveRubric(ctx, tx, newest, actor); err != nil {
				return err
			}
		} else if _, err := s.insertRubric(ctx, tx, document, true, actor); err != nil {
			return err
		}
		out, err = getRubric(ctx, s.txGetter(tx), 0)
		return err
	})
	if err != nil {
		return store.RubricVersion{}, fmt.Errorf("sqlstore: ensure rubric: %w", err)
	}
	return out, nil
}

// AddRubric stores document as version max+1.
func (s *Store) AddRubric(ctx context.Context, document []byte, activate bool, actor string) (store.RubricVersion, error) {
	var out store.RubricVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockRubrics(ctx, tx); err != nil {
			return err
		}
		version, err := s.insertRubric(ctx, tx, document, activate, actor)
		if err != nil {
			return err
		}
		out, err = getRubric(ctx, s.txGetter(tx), version)
		return err
	})
	if err != nil {
		return store.RubricVersion{}, fmt.Errorf("sqlstore: add rubric: %w", err)
	}
	return out, nil
}

// UpdateRubric replaces an unlocked version's document. The locked check
// is in the UPDATE itself, so it cannot race a review locking the version.
func (s *Store) UpdateRubric(ctx context.Context, version int64, document []byte, actor string) (store.RubricVersion, error) {
	var out store.RubricVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE rubrics SET document = ?, updated_at = ? WHERE version = ? AND NOT locked"),
			string(document), s.now().UnixMilli(), version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := getRubric(ctx, s.txGetter(tx), version); err != nil {
				return err
			}
			return fmt.Errorf("version %d is used by a review: %w", version, store.ErrConflict)
		}
		if err := s.audit(ctx, tx, actor, "rubric.update", "rubric", version, map[string]any{"rubric": jsonDocument(document)}); err != nil {
			return err
		}
		out, err = getRubric(ctx, s.txGetter(tx), version)
		return err
	})
	if err != nil {
		return store.RubricVersion{}, fmt.Errorf("sqlstore: update rubric: %w", err)
	}
	return out, nil
}

// ActivateRubric makes version the active one.
func (s *Store) ActivateRubric(ctx context.Context, version int64, actor string) (store.RubricVersion, error) {
	var out store.RubricVersion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := getRubric(ctx, s.txGetter(tx), version); err != nil {
			return err
		}
		if err := s.setActiveRubric(ctx, tx, version, actor); err != nil {
			return err
		}
		var err error
		out, err = getRubric(ctx, s.txGetter(tx), version)
		return err
	})
	if err != nil {
		return store.RubricVersion{}, fmt.Errorf("sqlstore: activate rubric: %w", err)
	}
	return out, nil
}

// GetRubric returns a version, or the active one for 0.
func (s *Store) GetRubric(ctx context.Context, version int64) (store.RubricVersion, error) {
	return getRubric(ctx, s.readGet, version)
}

// ListRubrics returns every version, oldest first.
func (s *Store) ListRubrics(ctx context.Context) ([]store.RubricVersion, error) {
	var rows []rubricRow
	if err := s.r.SelectContext(ctx, &rows, rubricSelect+" ORDER BY r.version"); err != nil {
		return nil, fmt.Errorf("sqlstore: list rubrics: %w", err)
	}
	out := make([]store.RubricVersion, len(rows))
	for i := range rows {
		out[i] = rows[i].rubric()
	}
	return out, nil
}

// lockRubricVersion marks version used; from now on it never changes.
// Only the first use writes: the rest read one row.
func (s *Store) lockRubricVersion(ctx context.Context, tx *sqlx.Tx, version int64) error {
	var locked bool
	if err := s.txGet(ctx, tx, &locked, "SELECT locked FROM rubrics WHERE version = ?", version); err != nil {
		return notFound(err, fmt.Sprintf("rubric version %d", version))
	}
	if locked {
		return nil
	}
	_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE rubrics SET locked = ? WHERE version = ?"), true, version)
	return err
}
