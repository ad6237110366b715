package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

type calibrationRow struct {
	ID            int64          `db:"id"`
	Name          string         `db:"name"`
	RubricVersion int64          `db:"rubric_version"`
	BenchmarkID   sql.NullString `db:"benchmark_id"`
	Inspectors    string         `db:"inspectors"`
	Chats         string         `db:"chats"`
	DueAt         sql.NullInt64  `db:"due_at"`
	Status        string         `db:"status"`
	CreatedBy     string         `db:"created_by"`
	CreatedAt     int64          `db:"created_at"`
	RevealedAt    sql.NullInt64  `db:"revealed_at"`
	ClosedAt      sql.NullInt64  `db:"closed_at"`
	ClosedBy      string         `db:"closed_by"`
	Items         int            `db:"items"`
	Finalised     int            `db:"finalised"`
}

const calibrationSelect = `SELECT c.id, c.name, c.rubric_version, c.benchmark_id, c.inspectors, c.chats, c.due_at,
	c.status, c.created_by, c.created_at, c.revealed_at, c.closed_at, c.closed_by,
	(SELECT COUNT(*) FROM calibration_items i WHERE i.session_id = c.id) AS items,
	(SELECT COUNT(*) FROM calibration_items i WHERE i.session_id = c.id AND i.review_status = 'final') AS finalised
	FROM calibration_sessions c`

func (r *calibrationRow) session() (store.CalibrationSession, error) {
	out := store.CalibrationSession{
		ID: r.ID, Name: r.Name, RubricVersion: r.RubricVersion, BenchmarkID: r.BenchmarkID.String,
		Status: store.CalibrationStatus(r.Status), CreatedBy: r.CreatedBy, CreatedAt: fromMillis(r.CreatedAt),
		ClosedBy: r.ClosedBy, Items: r.Items, Finalised: r.Finalised,
	}
	if err := json.Unmarshal([]byte(r.Inspectors), &out.InspectorIDs); err != nil {
		return out, fmt.Errorf("calibration %d inspectors: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Chats), &out.ExternalIDs); err != nil {
		return out, fmt.Errorf("calibration %d chats: %w", r.ID, err)
	}
	if r.DueAt.Valid {
		out.Due = fromMillis(r.DueAt.Int64)
	}
	if r.RevealedAt.Valid {
		out.RevealedAt = fromMillis(r.RevealedAt.Int64)
	}
	if r.ClosedAt.Valid {
		out.ClosedAt = fromMillis(r.ClosedAt.Int64)
	}
	return out, nil
}

func getCalibration(ctx context.Context, get getFunc, id int64) (store.CalibrationSession, error) {
	var row calibrationRow
	if err := get(ctx, &row, calibrationSelect+" WHERE c.id = ?", id); err != nil {
		return store.CalibrationSession{}, notFound(err, fmt.Sprintf("calibration session %d", id))
	}
	return row.session()
}

// GetCalibration returns one session with its progress.
func (s *Store) GetCalibration(ctx context.Context, id int64) (store.CalibrationSession, error) {
	return getCalibration(ctx, s.readGet, id)
}

// ListCalibrations returns sessions, newest first.
func (s *Store) ListCalibrations(ctx context.Context, f store.CalibrationFilter) ([]store.CalibrationSession, error) {
	var fq filterQuery
	if f.InspectorID != "" {
		fq.add("EXISTS (SELECT 1 FROM calibration_items i WHERE i.session_id = c.id AND i.inspector_id = ?)", f.InspectorID)
	}
	if f.Status != "" {
		fq.add("c.status = ?", string(f.Status))
	}
	if f.BeforeID != 0 {
		fq.add("c.id < ?", f.BeforeID)
	}
	q, args := fq.build(calibrationSelect, "c.id DESC", f.Limit)
	var rows []calibrationRow
	if err := s.readSelect(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list calibration sessions: %w", err)
	}
	out := make([]store.CalibrationSession, len(rows))
	for i := range rows {
		var err error
		if out[i], err = rows[i].session(); err != nil {
			return nil, fmt.Errorf("sqlstore: list calibration sessions: %w", err)
		}
	}
	return out, nil
}

// CreateCalibration stores a session and its items.
func (s *Store) CreateCalibration(ctx context.Context, c store.CalibrationSession) (store.CalibrationSession, error) {
	inspectors, err := json.Marshal(nonNil(c.InspectorIDs))
	if err != nil {
		return store.CalibrationSession{}, err
	}
	chats, err := json.Marshal(nonNil(c.ExternalIDs))
	if err != nil {
		return store.CalibrationSession{}, err
	}
	var out store.CalibrationSession
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockRubricVersion(ctx, tx, c.RubricVersion); err != nil {
			return err
		}
		participants := c.Participants()
		for _, id := range participants {
			var one int
			if err := s.txGet(ctx, tx, &one, "SELECT 1 FROM inspectors WHERE id = ?", id); err != nil {
				return notFound(err, "inspector "+id)
			}
		}
		transcripts := make([]int64, len(c.ExternalIDs))
		for i, ext := range c.ExternalIDs {
			if err := s.txGet(ctx, tx, &transcripts[i], "SELECT id FROM transcripts WHERE external_id = ?", ext); err != nil {
				return notFound(err, "transcript "+ext)
			}
		}
		now := s.now().UnixMilli()
		var benchmark sql.NullString
		if c.BenchmarkID != "" {
			benchmark = sql.NullString{String: c.BenchmarkID, Valid: true}
		}
		var id int64
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO calibration_sessions (name, rubric_version, benchmark_id,
			inspectors, chats, due_at, status, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id`),
			c.Name, c.RubricVersion, benchmark, string(inspectors), string(chats), nullMillis(c.Due), c.CreatedBy, now); err != nil {
			return err
		}
		for _, tid := range transcripts {
			for _, insp := range participants {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO calibration_items (session_id, transcript_id, inspector_id,
					rubric_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`), id, tid, insp, c.RubricVersion, now, now); err != nil {
					if isUniqueViolation(err) {
						return fmt.Errorf("a chat or an inspector is named twice: %w", store.ErrConflict)
					}
					return err
				}
			}
		}
		if err := s.audit(ctx, tx, c.CreatedBy, "calibration.create", "calibration", id, map[string]any{
			"name": c.Name, "rubric_version": c.RubricVersion, "benchmark_id": c.BenchmarkID,
			"inspectors": c.InspectorIDs, "chats": c.ExternalIDs,
		}); err != nil {
			return err
		}
		out, err = getCalibration(ctx, s.txGetter(tx), id)
		return err
	})
	if err != nil {
		return store.CalibrationSession{}, fmt.Errorf("sqlstore: create calibration session: %w", err)
	}
	return out, nil
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// lockCalibration reads session id's status, on PostgreSQL locking its
// row until commit: saves and closes of one session then run one at a
// time, so the last final review always sees the others and completes
// the session, and a close never races a finalisation.
func (s *Store) lockCalibration(ctx context.Context, tx *sqlx.Tx, id int64) (string, error) {
	q := "SELECT status FROM calibration_sessions WHERE id = ?"
	if s.dialect == dialectPostgres {
		q += " FOR UPDATE"
	}
	var st string
	if err := s.txGet(ctx, tx, &st, q, id); err != nil {
		return "", notFound(err, fmt.Sprintf("calibration session %d", id))
	}
	return st, nil
}

// CloseCalibration closes a session.
func (s *Store) CloseCalibration(ctx context.Context, id int64, actor string) (store.CalibrationSession, error) {
	var out store.CalibrationSession
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		st, err := s.lockCalibration(ctx, tx, id)
		if err != nil {
			return err
		}
		if st == string(store.CalibrationClosed) {
			return fmt.Errorf("calibration session %d is closed already: %w", id, store.ErrConflict)
		}
		now := s.now().UnixMilli()
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE calibration_sessions SET status = 'closed', closed_at = ?, closed_by = ?,
			revealed_at = COALESCE(revealed_at, ?) WHERE id = ?`), now, actor, now, id); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, actor, "calibration.close", "calibration", id, map[string]any{"was": st}); err != nil {
			return err
		}
		out, err = getCalibration(ctx, s.txGetter(tx), id)
		return err
	})
	if err != nil {
		return store.CalibrationSession{}, fmt.Errorf("sqlstore: close calibration session %d: %w", id, err)
	}
	return out, nil
}

type calibrationItemRow struct {
	ID            int64         `db:"id"`
	SessionID     int64         `db:"session_id"`
	ExternalID    string        `db:"external_id"`
	AgentID       string        `db:"agent_id"`
	InspectorID   string        `db:"inspector_id"`
	ReviewStatus  string        `db:"review_status"`
	RubricVersion int64         `db:"rubric_version"`
	Ratings       string        `db:"ratings"`
	Flags         string        `db:"flags"`
	Details       string        `db:"details"`
	Score         float64       `db:"score"`
	Grade         string        `db:"grade"`
	Critical      bool          `db:"critical"`
	CreatedAt     int64         `db:"created_at"`
	UpdatedAt     int64         `db:"updated_at"`
	FinalizedAt   sql.NullInt64 `db:"finalized_at"`
}

const calibrationItemSelect = `SELECT i.id, i.session_id, t.external_id, t.agent_id, i.inspector_id, i.review_status,
	i.rubric_version, i.ratings, i.flags, i.details, i.score, i.grade, i.critical, i.created_at, i.updated_at, i.finalized_at
	FROM calibration_items i JOIN transcripts t ON t.id = i.transcript_id`

func (r *calibrationItemRow) item() (store.CalibrationItem, error) {
	it := store.CalibrationItem{ID: r.ID, SessionID: r.SessionID, ExternalID: r.ExternalID, AgentID: r.AgentID,
		InspectorID: r.InspectorID, CreatedAt: fromMillis(r.CreatedAt)}
	if r.ReviewStatus == "" {
		return it, nil
	}
	ratings, err := decodeRatings(r.Ratings)
	if err != nil {
		return it, fmt.Errorf("calibration item %d: %w", r.ID, err)
	}
	var d reviewDetails
	if err := json.Unmarshal([]byte(r.Details), &d); err != nil {
		return it, fmt.Errorf("calibration item %d details: %w", r.ID, err)
	}
	for i := range ratings {
		ratings[i].Comment = d.Comments[ratings[i].Key]
	}
	rv := &store.Review{
		ID: r.ID, PickID: r.ID, ExternalID: r.ExternalID, AgentID: r.AgentID, InspectorID: r.InspectorID,
		RubricVersion: r.RubricVersion, Status: store.ReviewStatus(r.ReviewStatus), Ratings: ratings,
		Flags: splitFlags(r.Flags), Comment: d.Comment, Strengths: d.Strengths, Suggestions: d.Suggestions,
		Score: r.Score, Grade: r.Grade, Critical: r.Critical,
		CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt),
	}
	if r.FinalizedAt.Valid {
		rv.FinalizedAt = fromMillis(r.FinalizedAt.Int64)
	}
	it.Review = rv
	return it, nil
}

func getCalibrationItem(ctx context.Context, get getFunc, id int64) (store.CalibrationItem, error) {
	var row calibrationItemRow
	if err := get(ctx, &row, calibrationItemSelect+" WHERE i.id = ?", id); err != nil {
		return store.CalibrationItem{}, notFound(err, fmt.Sprintf("calibration item %d", id))
	}
	return row.item()
}

// GetCalibrationItem returns one item with its review.
func (s *Store) GetCalibrationItem(ctx context.Context, id int64) (store.CalibrationItem, error) {
	return getCalibrationItem(ctx, s.readGet, id)
}

// ListCalibrationItems returns items in id order.
func (s *Store) ListCalibrationItems(ctx context.Context, f store.CalibrationItemFilter) ([]store.CalibrationItem, error) {
	var fq filterQuery
	if f.SessionID != 0 {
		fq.add("i.session_id = ?", f.SessionID)
	}
	if f.InspectorID != "" {
		fq.add("i.inspector_id = ?", f.InspectorID)
	}
	if f.Open {
		fq.addBare("i.review_status <> 'final' AND EXISTS (SELECT 1 FROM calibration_sessions c WHERE c.id = i.session_id AND c.status = 'open')")
	}
	if f.AfterID != 0 {
		fq.add("i.id > ?", f.AfterID)
	}
	q, args := fq.build(calibrationItemSelect, "i.id", f.Limit)
	var rows []calibrationItemRow
	if err := s.readSelect(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list calibration items: %w", err)
	}
	out := make([]store.CalibrationItem, len(rows))
	for i := range rows {
		var err error
		if out[i], err = rows[i].item(); err != nil {
			return nil, fmt.Errorf("sqlstore: list calibration items: %w", err)
		}
	}
	return out, nil
}

// SaveCalibrationReview stores a participant's draft or final review of
// a calibration item.
func (s *Store) SaveCalibrationReview(ctx context.Context, r store.Review) (store.Review, error) {
	if r.Status != store.ReviewDraft && r.Status != store.ReviewFinal {
		return store.Review{}, fmt.Errorf("sqlstore: calibration review status %q: want draft or final", r.Status)
	}
	details, err := encodeDetails(&r)
	if err != nil {
		return store.Review{}, err
	}
	ratings, flags := encodeRatings(r.Ratings), strings.Join(r.Flags, ",")
	var out store.Review
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var own struct {
			SessionID    int64  `db:"session_id"`
			InspectorID  string `db:"inspector_id"`
			ReviewStatus string `db:"review_status"`
		}
		err := s.txGet(ctx, tx, &own, "SELECT session_id, inspector_id, review_status FROM calibration_items WHERE id = ?", r.PickID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && own.InspectorID != r.InspectorID) {
			return fmt.Errorf("calibration item %d is not %s's: %w", r.PickID, r.InspectorID, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		st, err := s.lockCalibration(ctx, tx, own.SessionID)
		if err != nil {
			return err
		}
		// Read again under the session's lock: a concurrent save may have
		// finalised it meanwhile.
		if err := s.txGet(ctx, tx, &own.ReviewStatus, "SELECT review_status FROM calibration_items WHERE id = ?", r.PickID); err != nil {
			return err
		}
		if st != string(store.CalibrationOpen) {
			return fmt.Errorf("calibration session %d is %s: %w", own.SessionID, st, store.ErrConflict)
		}
		if own.ReviewStatus == string(store.ReviewFinal) {
			return fmt.Errorf("calibration item %d is final already: %w", r.PickID, store.ErrConflict)
		}
		now := s.now().UnixMilli()
		var finalized sql.NullInt64
		score, grade, critical := 0.0, "", false
		if r.Status == store.ReviewFinal {
			finalized = sql.NullInt64{Int64: now, Valid: true}
			score, grade, critical = r.Score, r.Grade, r.Critical
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE calibration_items SET review_status = ?, rubric_version = ?,
			ratings = ?, flags = ?, details = ?, score = ?, grade = ?, critical = ?, updated_at = ?, finalized_at = ? WHERE id = ?`),
			string(r.Status), r.RubricVersion, ratings, flags, details, score, grade, critical, now, finalized, r.PickID); err != nil {
			return err
		}
		action := "calibration.draft"
		if r.Status == store.ReviewFinal {
			action = "calibration.finalize"
			var left int
			if err := s.txGet(ctx, tx, &left, "SELECT COUNT(*) FROM calibration_items WHERE session_id = ? AND review_status <> 'final'",
				own.SessionID); err != nil {
				return err
			}
			if left == 0 {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE calibration_sessions SET status = 'complete', revealed_at = ?
					WHERE id = ? AND status = 'open'`), now, own.SessionID); err != nil {
					return err
				}
			}
		}
		if err := s.audit(ctx, tx, r.InspectorID, action, "calibration_item", r.PickID, map[string]any{
			"session_id": own.SessionID, "ratings": auditRatings(r.Ratings), "flags": auditFlags(r.Flags),
		}); err != nil {
			return err
		}
		it, err := getCalibrationItem(ctx, s.txGetter(tx), r.PickID)
		if err != nil {
			return err
		}
		out = *it.Review
		return nil
	})
	if err != nil {
		return store.Review{}, fmt.Errorf("sqlstore: save calibration review of item %d: %w", r.PickID, err)
	}
	return out, nil
}

// LatestCalibrations returns each inspector's newest revealed session in
// which they finalised a review.
func (s *Store) LatestCalibrations(ctx context.Context) (map[string]int64, error) {
	var rows []struct {
		InspectorID string        `db:"inspector_id"`
		SessionID   int64         `db:"session_id"`
		RevealedAt  sql.NullInt64 `db:"revealed_at"`
	}
	// Newest by reveal, not by creation: a session created earlier may
	// be closed later. Each inspector's first row is their latest.
	err := s.readSelect(ctx, &rows, `SELECT DISTINCT i.inspector_id, c.id AS session_id, c.revealed_at
		FROM calibration_items i JOIN calibration_sessions c ON c.id = i.session_id
		WHERE c.status <> 'open' AND i.review_status = 'final'
		ORDER BY i.inspector_id, c.revealed_at DESC, c.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: latest calibrations: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		if _, seen := out[r.InspectorID]; !seen {
			out[r.InspectorID] = r.SessionID
		}
	}
	return out, nil
}
