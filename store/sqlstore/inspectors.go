package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

// GetInspector returns one inspector.
func (s *Store) GetInspector(ctx context.Context, id string) (store.Inspector, error) {
	var r inspectorRow
	if err := s.readGet(ctx, &r, "SELECT id, name, active, created_at, updated_at FROM inspectors WHERE id = ?", id); err != nil {
		return store.Inspector{}, notFound(err, fmt.Sprintf("inspector %q", id))
	}
	return store.Inspector{ID: r.ID, Name: r.Name, Active: r.Active, CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt)}, nil
}

type inspectorRow struct {
	ID        string `db:"id"`
	Name      string `db:"name"`
	Active    bool   `db:"active"`
	CreatedAt int64  `db:"created_at"`
	UpdatedAt int64  `db:"updated_at"`
}

// UpsertInspector creates or updates an inspector and audits it as actor;
// an inspector whose name and active flag match is left alone, updated_at
// too, and no event is written.
func (s *Store) UpsertInspector(ctx context.Context, in store.Inspector, actor string) (store.Outcome, error) {
	if in.ID == "" {
		return 0, errors.New("sqlstore: upsert inspector: empty id")
	}
	now := s.now().UnixMilli()
	var out store.Outcome
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// As in UpsertAgents: each statement's row count says what
		// happened, even under concurrent writers.
		res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO inspectors (id, name, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`), in.ID, in.Name, in.Active, now, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			out = store.Created
			return s.auditEntity(ctx, tx, actor, "inspector.create", "inspector", in.ID, inspectorChange{After: inspectorState{in.Name, in.Active}})
		}
		// The row as it was, for the event's "before"; locked on
		// PostgreSQL so that it is still so when updated.
		var before inspectorRow
		lock := ""
		if s.dialect == dialectPostgres {
			lock = " FOR UPDATE"
		}
		if err := tx.GetContext(ctx, &before, tx.Rebind("SELECT name, active FROM inspectors WHERE id = ?"+lock), in.ID); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE inspectors SET name = ?, active = ?, updated_at = ?
			WHERE id = ? AND (name, active) <> (?, ?)`), in.Name, in.Active, now, in.ID, in.Name, in.Active)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		out = store.Unchanged
		if n == 0 {
			return nil
		}
		out = store.Updated
		action := "inspector.update"
		if before.Active && !in.Active {
			action = "inspector.deactivate"
		}
		return s.auditEntity(ctx, tx, actor, action, "inspector", in.ID,
			inspectorChange{Before: &inspectorState{before.Name, before.Active}, After: inspectorState{in.Name, in.Active}})
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: upsert inspector %q: %w", in.ID, err)
	}
	return out, nil
}

// ListInspectors returns every inspector, by id.
func (s *Store) ListInspectors(ctx context.Context) ([]store.Inspector, error) {
	var rows []inspectorRow
	if err := s.r.SelectContext(ctx, &rows, "SELECT id, name, active, created_at, updated_at FROM inspectors ORDER BY id"); err != nil {
		return nil, fmt.Errorf("sqlstore: list inspectors: %w", err)
	}
	out := make([]store.Inspector, len(rows))
	for i, r := range rows {
		out[i] = store.Inspector{ID: r.ID, Name: r.Name, Active: r.Active, CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt)}
	}
	return out, nil
}
