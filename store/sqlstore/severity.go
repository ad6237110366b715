package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"qa-sampling/store"
)

// SeverityRows reads the final and retracted reviews of the week range,
// each retracted one with the score of the review that replaced it.
func (s *Store) SeverityRows(ctx context.Context, fromWeek, toWeek string) ([]store.SeverityRow, error) {
	// Scanned by hand rather than into structs by reflection: a range holds
	// a hundred thousand reviews. Agent ids, inspector ids and weeks repeat
	// and are interned.
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(`SELECT r.id, r.agent_id, r.inspector_id, r.week, r.score, r.critical,
		r.status, COALESCE(n.score, 0)
		FROM reviews r LEFT JOIN reviews n ON n.id = r.superseded_by_id
		WHERE r.week >= ? AND r.week <= ? AND r.status IN ('final', 'retracted') ORDER BY r.id`), fromWeek, toWeek)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: severity rows: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var (
		out                        []store.SeverityRow
		dec                        reportDecoder
		agent, inspector, week, st sql.RawBytes
	)
	for rows.Next() {
		var r store.SeverityRow
		if err := rows.Scan(&r.ReviewID, &agent, &inspector, &week, &r.Score, &r.Critical, &st, &r.RescoreScore); err != nil {
			return nil, fmt.Errorf("sqlstore: severity rows: %w", err)
		}
		r.AgentID, r.InspectorID, r.Week = dec.intern(agent), dec.intern(inspector), dec.intern(week)
		r.Status = store.ReviewStatus(dec.intern(st))
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: severity rows: %w", err)
	}
	return out, nil
}
