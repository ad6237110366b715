package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"qa-sampling/store"

	"github.com/jmoiron/sqlx"
)

// feedbackLockKey is the PostgreSQL advisory lock that finalising takes
// before it inserts a feedback record. Identity values are handed out at
// insert, not at commit, so without it two transactions could commit ids
// 8 and 7 in that order and a subscriber that had read up to 8 would never
// see 7. Holding it to commit makes ids commit in order. SQLite has one
// writer, so its ids already do.
const feedbackLockKey = 0x71615f66656564 // "qa_feed"

type feedbackRow struct {
	reviewRow
	FeedbackID       int64         `db:"f_id"`
	SupervisorID     string        `db:"f_supervisor_id"`
	TeamID           string        `db:"f_team_id"`
	CoachingRequired bool          `db:"f_coaching_required"`
	ShareAsExample   bool          `db:"f_share_as_example"`
	FSupersedesID    sql.NullInt64 `db:"f_supersedes_id"`
	FCreatedAt       int64         `db:"f_created_at"`
	AcknowledgedAt   sql.NullInt64 `db:"f_acknowledged_at"`
	AcknowledgedBy   string        `db:"f_acknowledged_by"`
	CoachingNote     string        `db:"f_coaching_note"`
	AgentName        string        `db:"f_agent_name"`
}

const feedbackSelect = `SELECT f.id AS f_id, f.supervisor_id AS f_supervisor_id, f.team_id AS f_team_id,
	f.coaching_required AS f_coaching_required, f.share_as_example AS f_share_as_example,
	f.supersedes_id AS f_supersedes_id, f.created_at AS f_created_at, f.acknowledged_at AS f_acknowledged_at,
	f.acknowledged_by AS f_acknowledged_by, f.coaching_note AS f_coaching_note,
	COALESCE(a.name, '') AS f_agent_name, ` + reviewColumns + `
	FROM feedback f JOIN reviews r ON r.id = f.review_id LEFT JOIN agents a ON a.agent_id = f.agent_id`

func (f *feedbackRow) feedback() (store.Feedback, error) {
	rv, err := f.review()
	if err != nil {
		return store.Feedback{}, err
	}
	out := store.Feedback{
		ID: f.FeedbackID, Review: rv, SupervisorID: f.SupervisorID, TeamID: f.TeamID,
		CoachingRequired: f.CoachingRequired, ShareAsExample: f.ShareAsExample, SupersedesID: f.FSupersedesID.Int64,
		CreatedAt: fromMillis(f.FCreatedAt), AcknowledgedBy: f.AcknowledgedBy, CoachingNote: f.CoachingNote,
		AgentName: f.AgentName,
	}
	if f.AcknowledgedAt.Valid {
		out.AcknowledgedAt = fromMillis(f.AcknowledgedAt.Int64)
	}
	return out, nil
}

func getFeedback(ctx context.Context, get getFunc, id int64) (store.Feedback, error) {
	var row feedbackRow
	if err := get(ctx, &row, feedbackSelect+" WHERE f.id = ?", id); err != nil {
		return store.Feedback{}, notFound(err, fmt.Sprintf("feedback %d", id))
	}
	return row.feedback()
}

// GetFeedback returns one record.
func (s *Store) GetFeedback(ctx context.Context, id int64) (store.Feedback, error) {
	return getFeedback(ctx, s.readGet, id)
}

// ListFeedback returns the records f selects, in id order.
func (s *Store) ListFeedback(ctx context.Context, f store.FeedbackFilter) ([]store.Feedback, error) {
	var fq filterQuery
	if f.SupervisorID != "" {
		fq.add("f.supervisor_id = ?", f.SupervisorID)
	}
	if f.AgentID != "" {
		fq.add("f.agent_id = ?", f.AgentID)
	}
	if f.Week != "" {
		fq.add("f.week = ?", f.Week)
	}
	if f.Grade != "" {
		fq.add("f.grade = ?", f.Grade)
	}
	if f.Unacknowledged {
		fq.addBare("f.acknowledged_at IS NULL")
	}
	if f.Acknowledged {
		fq.addBare("f.acknowledged_at IS NOT NULL")
	}
	if f.SupersedesID != 0 {
		fq.add("f.supersedes_id = ?", f.SupersedesID)
	}
	if f.AfterID != 0 {
		fq.add("f.id > ?", f.AfterID)
	}
	if f.BeforeID != 0 {
		fq.add("f.id < ?", f.BeforeID)
	}
	order := "f.id"
	if f.NewestFirst {
		order = "f.id DESC"
	}
	q, args := fq.build(feedbackSelect, order, f.Limit)
	var rows []feedbackRow
	if err := s.readSelect(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list feedback: %w", err)
	}
	out := make([]store.Feedback, len(rows))
	for i := range rows {
		var err error
		if out[i], err = rows[i].feedback(); err != nil {
			return nil, fmt.Errorf("sqlstore: list feedback: %w", err)
		}
	}
	return out, nil
}

// LastFeedbackID is the highest record id, of one supervisor's agents or
// of all.
func (s *Store) LastFeedbackID(ctx context.Context, supervisorID string) (int64, error) {
	q, args := "SELECT COALESCE(MAX(f.id), 0) FROM feedback f", []any{}
	if supervisorID != "" {
		q, args = q+" WHERE f.supervisor_id = ?", []any{supervisorID}
	}
	var id int64
	if err := s.readGet(ctx, &id, q, args...); err != nil {
		return 0, fmt.Errorf("sqlstore: last feedback id: %w", err)
	}
	return id, nil
}

// AcknowledgeFeedback marks a record acknowledged; the first
// acknowledgement's time and author stay, a later note replaces the note.
func (s *Store) AcknowledgeFeedback(ctx context.Context, id int64, actor, note string) (store.Feedback, error) {
	var out store.Feedback
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now().UnixMilli()
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE feedback SET
			acknowledged_by = CASE WHEN acknowledged_at IS NULL THEN ? ELSE acknowledged_by END,
			acknowledged_at = COALESCE(acknowledged_at, ?),
			coaching_note = CASE WHEN ? <> '' THEN ? ELSE coaching_note END
			WHERE id = ?`), actor, now, note, note, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("feedback %d: %w", id, store.ErrNotFound)
		}
		if err := s.audit(ctx, tx, actor, "feedback.acknowledge", "feedback", id, map[string]any{"note": note}); err != nil {
			return err
		}
		out, err = getFeedback(ctx, s.txGetter(tx), id)
		return err
	})
	if err != nil {
		return store.Feedback{}, fmt.Errorf("sqlstore: acknowledge feedback: %w", err)
	}
	return out, nil
}
