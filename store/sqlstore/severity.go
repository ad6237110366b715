package sqlstore

import (
	"context"
	"fmt"

	"qa-sampling/store"
)

// SeverityRows reads the final and retracted reviews of the week range,
// each retracted one with the score of the review that replaced it.
func (s *Store) SeverityRows(ctx context.Context, fromWeek, toWeek string) ([]store.SeverityRow, error) {
	var rows []struct {
		ID          int64   `db:"id"`
		AgentID     string  `db:"agent_id"`
		InspectorID string  `db:"inspector_id"`
		Week        string  `db:"week"`
		Score       float64 `db:"score"`
		Critical    bool    `db:"critical"`
		Status      string  `db:"status"`
		Rescore     float64 `db:"rescore"`
	}
	err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT r.id, r.agent_id, r.inspector_id, r.week, r.score, r.critical,
		r.status, COALESCE(n.score, 0) AS rescore
		FROM reviews r LEFT JOIN reviews n ON n.id = r.superseded_by_id
		WHERE r.status IN ('final', 'retracted') AND r.week >= ? AND r.week <= ? ORDER BY r.id`), fromWeek, toWeek)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: severity rows: %w", err)
	}
	out := make([]store.SeverityRow, len(rows))
	for i, r := range rows {
		out[i] = store.SeverityRow{ReviewID: r.ID, AgentID: r.AgentID, InspectorID: r.InspectorID, Week: r.Week,
			Score: r.Score, Critical: r.Critical, Status: store.ReviewStatus(r.Status), RescoreScore: r.Rescore}
	}
	return out, nil
}
