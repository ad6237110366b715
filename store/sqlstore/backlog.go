package sqlstore

import (
	"context"
	"fmt"

	"qa-sampling/store"
)

// backlogQuery counts the open work in one round trip. Each part reads a
// partial index holding only open rows (picks_open, feedback_unacked,
// disputes_one_open), so a scrape costs the size of the backlog, not of
// the years of history beside it.
const backlogQuery = `
SELECT 'pick' AS kind, status AS status, COUNT(*) AS n, 0 AS oldest
  FROM picks WHERE status IN ('assigned', 'pool', 'disputed') GROUP BY status
UNION ALL
SELECT 'feedback', '', COUNT(*), COALESCE(MIN(created_at), 0)
  FROM feedback WHERE acknowledged_at IS NULL
UNION ALL
SELECT 'dispute', '', COUNT(*), 0
  FROM disputes WHERE status = 'open'`

// Backlog implements store.BacklogStore.
func (s *Store) Backlog(ctx context.Context) (store.Backlog, error) {
	var rows []struct {
		Kind   string `db:"kind"`
		Status string `db:"status"`
		N      int64  `db:"n"`
		Oldest int64  `db:"oldest"`
	}
	if err := s.readSelect(ctx, &rows, backlogQuery); err != nil {
		return store.Backlog{}, fmt.Errorf("sqlstore: backlog: %w", err)
	}
	b := store.Backlog{OpenPicks: map[store.PickStatus]int64{}}
	for _, r := range rows {
		switch r.Kind {
		case "pick":
			b.OpenPicks[store.PickStatus(r.Status)] = r.N
		case "feedback":
			b.UnackedFeedback = r.N
			if r.N > 0 {
				b.OldestUnacked = fromMillis(r.Oldest)
			}
		case "dispute":
			b.OpenDisputes = r.N
		}
	}
	return b, nil
}
