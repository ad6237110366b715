package sqlstore

import (
	"context"
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

// ReturnInspectorItems moves the inspector's assigned picks to the pool,
// one audit event per pick.
func (s *Store) ReturnInspectorItems(ctx context.Context, inspectorID, actor string) ([]store.Pick, error) {
	var out []store.Pick
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		// The update's own row set, so a pick finalised meanwhile (no
		// longer assigned) is neither moved nor reported.
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(`UPDATE picks SET inspector_id = NULL, status = ?, updated_at = ?
			WHERE inspector_id = ? AND status = ? RETURNING id`),
			string(store.PickPool), s.now().UnixMilli(), inspectorID, string(store.PickAssigned)); err != nil {
			return err
		}
		out = make([]store.Pick, 0, len(ids))
		for _, id := range ids {
			if err := s.audit(ctx, tx, actor, "pick.return", "pick", id, map[string]any{"inspector_id": inspectorID}); err != nil {
				return err
			}
			p, err := getPick(ctx, tx, id)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: return items of inspector %q: %w", inspectorID, err)
	}
	return out, nil
}

// ReassignDispute moves an open dispute and its disputed pick to another
// inspector.
func (s *Store) ReassignDispute(ctx context.Context, id int64, from, to, actor string) (store.Dispute, error) {
	var out store.Dispute
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now().UnixMilli()
		res, err := s.txExec(ctx, tx, "UPDATE disputes SET assignee_id = ? WHERE id = ? AND status = 'open' AND assignee_id = ?", to, id, from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := getDispute(ctx, s.txGetter(tx), id); err != nil {
				return err
			}
			return fmt.Errorf("dispute %d is not open with %q: %w", id, from, store.ErrConflict)
		}
		d, err := getDispute(ctx, s.txGetter(tx), id)
		if err != nil {
			return err
		}
		res, err = s.txExec(ctx, tx, "UPDATE picks SET inspector_id = ?, updated_at = ? WHERE id = ? AND status = ? AND inspector_id = ?",
			to, now, d.PickID, string(store.PickDisputed), from)
		if err != nil {
			return pickWriteError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("item %d of dispute %d is not disputed to %q: %w", d.PickID, id, from, store.ErrConflict)
		}
		if err := s.audit(ctx, tx, actor, "dispute.reassign", "dispute", id, map[string]any{"from": from, "to": to}); err != nil {
			return err
		}
		out = d
		return nil
	})
	if err != nil {
		return store.Dispute{}, fmt.Errorf("sqlstore: reassign dispute %d: %w", id, err)
	}
	return out, nil
}
