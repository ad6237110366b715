package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"qa-sampling/store"

	"github.com/jmoiron/sqlx"
)

type disputeRow struct {
	ID           int64         `db:"id"`
	ReviewID     int64         `db:"review_id"`
	PickID       int64         `db:"pick_id"`
	AgentID      string        `db:"agent_id"`
	OpenedBy     string        `db:"opened_by"`
	Reason       string        `db:"reason"`
	AssigneeID   string        `db:"assignee_id"`
	Status       string        `db:"status"`
	ResolutionID sql.NullInt64 `db:"resolution_id"`
	OpenedAt     int64         `db:"opened_at"`
	ResolvedAt   sql.NullInt64 `db:"resolved_at"`
}

const disputeSelect = `SELECT d.id, d.review_id, d.pick_id, d.agent_id, d.opened_by, d.reason, d.assignee_id, d.status,
	d.resolution_id, d.opened_at, d.resolved_at FROM disputes d`

func (r *disputeRow) dispute() store.Dispute {
	d := store.Dispute{ID: r.ID, ReviewID: r.ReviewID, PickID: r.PickID, AgentID: r.AgentID, OpenedBy: r.OpenedBy,
		Reason: r.Reason, AssigneeID: r.AssigneeID, Status: store.DisputeStatus(r.Status),
		ResolutionID: r.ResolutionID.Int64, OpenedAt: fromMillis(r.OpenedAt)}
	if r.ResolvedAt.Valid {
		d.ResolvedAt = fromMillis(r.ResolvedAt.Int64)
	}
	return d
}

func getDispute(ctx context.Context, get getFunc, id int64) (store.Dispute, error) {
	var row disputeRow
	if err := get(ctx, &row, disputeSelect+" WHERE d.id = ?", id); err != nil {
		return store.Dispute{}, notFound(err, fmt.Sprintf("dispute %d", id))
	}
	return row.dispute(), nil
}

// GetDispute returns one dispute.
func (s *Store) GetDispute(ctx context.Context, id int64) (store.Dispute, error) {
	return getDispute(ctx, s.readGet, id)
}

// OpenDispute opens a dispute and hands the pick to the assignee.
func (s *Store) OpenDispute(ctx context.Context, d store.Dispute) (store.Dispute, error) {
	var out store.Dispute
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			// Lock the review first. Resolving an earlier dispute on it
			// retracts it and closes that dispute in one transaction; were
			// that to commit between the status check below and the insert,
			// the insert would no longer meet the open dispute, and a
			// dispute on a retracted review (one that can never be
			// resolved) would be opened. Locked, whichever comes second
			// sees the other's result.
			if _, err := tx.ExecContext(ctx, "SELECT 1 FROM reviews WHERE id = $1 FOR NO KEY UPDATE", d.ReviewID); err != nil {
				return err
			}
		}
		rv, err := getReview(ctx, s.txGetter(tx), d.ReviewID)
		if err != nil {
			return err
		}
		if rv.Status != store.ReviewFinal {
			return fmt.Errorf("review %d is %s, not final: %w", rv.ID, rv.Status, store.ErrConflict)
		}
		now := s.now().UnixMilli()
		var id int64
		err = tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO disputes (review_id, pick_id, agent_id, opened_by, reason,
			assignee_id, status, opened_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?) RETURNING id`),
			rv.ID, rv.PickID, rv.AgentID, d.OpenedBy, d.Reason, d.AssigneeID, now)
		if isUniqueViolation(err) {
			return fmt.Errorf("review %d already has an open dispute: %w", rv.ID, store.ErrConflict)
		}
		if err != nil {
			return pickWriteError(err)
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE picks SET inspector_id = ?, status = 'disputed', updated_at = ?
			WHERE id = ? AND status = 'reviewed'`), d.AssigneeID, now, rv.PickID)
		if err != nil {
			return pickWriteError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("item %d is not reviewed: %w", rv.PickID, store.ErrConflict)
		}
		if err := s.audit(ctx, tx, d.OpenedBy, "dispute.open", "dispute", id,
			map[string]any{"review_id": rv.ID, "reason": d.Reason, "assignee_id": d.AssigneeID}); err != nil {
			return err
		}
		out, err = getDispute(ctx, s.txGetter(tx), id)
		return err
	})
	if err != nil {
		return store.Dispute{}, fmt.Errorf("sqlstore: open dispute: %w", err)
	}
	return out, nil
}

// ListDisputes returns the disputes f selects, newest first.
func (s *Store) ListDisputes(ctx context.Context, f store.DisputeFilter) ([]store.Dispute, error) {
	var fq filterQuery
	if f.SupervisorID != "" {
		fq.add(ofSupervisedAgents("d"), f.SupervisorID)
	}
	if f.AssigneeID != "" {
		fq.add("d.assignee_id = ?", f.AssigneeID)
	}
	if f.PickID != 0 {
		fq.add("d.pick_id = ?", f.PickID)
	}
	if f.Status != "" {
		fq.add("d.status = ?", string(f.Status))
	}
	if f.BeforeID > 0 {
		fq.add("d.id < ?", f.BeforeID)
	}
	q, args := fq.build(disputeSelect, "d.id DESC", f.Limit)
	var rows []disputeRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list disputes: %w", err)
	}
	out := make([]store.Dispute, len(rows))
	for i := range rows {
		out[i] = rows[i].dispute()
	}
	return out, nil
}

// ofSupervisedAgents is the condition "the row of table alias t is about
// an agent the supervisor (the parameter) supervises now". Feedback needs
// none: its supervisor_id follows the agent (UpsertAgents).
func ofSupervisedAgents(t string) string {
	return t + ".agent_id IN (SELECT agent_id FROM agents WHERE supervisor_id = ?)"
}

// ReassignDispute moves an open dispute and its disputed pick to another
// inspector.
func (s *Store) ReassignDispute(ctx context.Context, id int64, from, to string, note store.MoveNote) (store.Dispute, error) {
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
		if err := s.audit(ctx, tx, note.Actor, "dispute.reassign", "dispute", id,
			reassignEvent{From: from, To: to, Reason: note.Reason, Bulk: note.Bulk}); err != nil {
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
