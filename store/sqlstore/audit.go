package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"qa-sampling/store"
	"strconv"

	"github.com/jmoiron/sqlx"
)

// ListAudit returns the audit events f selects, in id order.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error) {
	var fq filterQuery
	if f.Actor != "" {
		fq.add("actor = ?", f.Actor)
	}
	if f.Entity != "" {
		fq.add("entity = ?", f.Entity)
	}
	if f.EntityID != "" {
		fq.add("entity_id = ?", f.EntityID)
	}
	if f.AfterID != 0 {
		fq.add("id > ?", f.AfterID)
	}
	q, args := fq.build("SELECT id, at, actor, action, entity, entity_id, detail FROM audit_events", "id", f.Limit)
	var rows []struct {
		ID       int64  `db:"id"`
		At       int64  `db:"at"`
		Actor    string `db:"actor"`
		Action   string `db:"action"`
		Entity   string `db:"entity"`
		EntityID string `db:"entity_id"`
		Detail   string `db:"detail"`
	}
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list audit: %w", err)
	}
	out := make([]store.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = store.AuditEvent{ID: r.ID, At: fromMillis(r.At), Actor: r.Actor, Action: r.Action, Entity: r.Entity, EntityID: r.EntityID, Detail: r.Detail}
	}
	return out, nil
}

// audit records one event in tx; detail is marshalled to JSON.
func (s *Store) audit(ctx context.Context, tx *sqlx.Tx, actor, action, entity string, entityID int64, detail map[string]any) error {
	doc := "{}"
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		doc = string(b)
	}
	_, err := s.txExec(ctx, tx, `INSERT INTO audit_events (at, actor, action, entity, entity_id, detail)
		VALUES (?, ?, ?, ?, ?, ?)`, s.now().UnixMilli(), actor, action, entity, strconv.FormatInt(entityID, 10), doc)
	return err
}
