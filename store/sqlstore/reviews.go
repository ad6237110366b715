package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

// encodeRatings writes ratings as "key,value,max,marks;..." with value
// -1 for N/A and marks f (failing) and c (critical); see 00005_scoring.sql.
func encodeRatings(rs []store.Rating) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(';')
		}
		v := r.Value
		if r.NA {
			v = -1
		}
		b.WriteString(r.Key)
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(v))
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(r.Max))
		b.WriteByte(',')
		if r.Failing {
			b.WriteByte('f')
		}
		if r.Critical {
			b.WriteByte('c')
		}
	}
	return b.String()
}

// decodeRatings parses encodeRatings' output; Percent is recomputed.
func decodeRatings(s string) ([]store.Rating, error) {
	if s == "" {
		return nil, nil
	}
	return appendRatings(make([]store.Rating, 0, strings.Count(s, ";")+1), []byte(s),
		func(b []byte) string { return string(b) })
}

// appendRatings parses encodeRatings' output b onto dst, naming each
// rating's key with key(bytes): the report path interns keys instead of
// allocating one string per rating.
func appendRatings(dst []store.Rating, b []byte, key func([]byte) string) ([]store.Rating, error) {
	for len(b) > 0 {
		var item []byte
		item, b, _ = bytes.Cut(b, []byte{';'})
		k, rest, ok1 := bytes.Cut(item, []byte{','})
		value, rest, ok2 := bytes.Cut(rest, []byte{','})
		maxText, marks, ok3 := bytes.Cut(rest, []byte{','})
		v, err1 := atoi(value)
		m, err2 := atoi(maxText)
		if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed rating %q", item)
		}
		r := store.Rating{Key: key(k), Value: v, Max: m, NA: v < 0,
			Failing: bytes.IndexByte(marks, 'f') >= 0, Critical: bytes.IndexByte(marks, 'c') >= 0}
		if r.NA {
			r.Value = 0
		} else if m > 0 {
			r.Percent = 100 * float64(v) / float64(m)
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// atoi parses a small decimal integer, optionally negative, without the
// string conversion strconv.Atoi would need.
func atoi(b []byte) (int, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 9 {
		return 0, strconv.ErrSyntax
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// reviewDetails is the JSON column of what people read.
type reviewDetails struct {
	Comments    map[string]string `json:"comments,omitempty"`
	Comment     string            `json:"comment,omitempty"`
	Strengths   []string          `json:"strengths,omitempty"`
	Suggestions []string          `json:"suggestions,omitempty"`
}

func encodeDetails(r *store.Review) (string, error) {
	d := reviewDetails{Comment: r.Comment, Strengths: r.Strengths, Suggestions: r.Suggestions}
	for _, rt := range r.Ratings {
		if rt.Comment != "" {
			if d.Comments == nil {
				d.Comments = make(map[string]string)
			}
			d.Comments[rt.Key] = rt.Comment
		}
	}
	b, err := json.Marshal(d)
	return string(b), err
}

func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

type reviewRow struct {
	ID             int64         `db:"id"`
	PickID         int64         `db:"pick_id"`
	InspectorID    string        `db:"inspector_id"`
	AgentID        string        `db:"agent_id"`
	ExternalID     string        `db:"external_id"`
	Week           string        `db:"week"`
	RubricVersion  int64         `db:"rubric_version"`
	Status         string        `db:"status"`
	Ratings        string        `db:"ratings"`
	Flags          string        `db:"flags"`
	Details        string        `db:"details"`
	Score          float64       `db:"score"`
	Grade          string        `db:"grade"`
	Critical       bool          `db:"critical"`
	DisputeID      sql.NullInt64 `db:"dispute_id"`
	SupersedesID   sql.NullInt64 `db:"supersedes_id"`
	SupersededByID sql.NullInt64 `db:"superseded_by_id"`
	CreatedAt      int64         `db:"created_at"`
	UpdatedAt      int64         `db:"updated_at"`
	FinalizedAt    sql.NullInt64 `db:"finalized_at"`
}

const reviewColumns = `r.id, r.pick_id, r.inspector_id, r.agent_id, r.external_id, r.week, r.rubric_version, r.status,
	r.ratings, r.flags, r.details, r.score, r.grade, r.critical, r.dispute_id, r.supersedes_id,
	r.superseded_by_id, r.created_at, r.updated_at, r.finalized_at`

func (r *reviewRow) review() (store.Review, error) {
	ratings, err := decodeRatings(r.Ratings)
	if err != nil {
		return store.Review{}, fmt.Errorf("review %d: %w", r.ID, err)
	}
	var d reviewDetails
	if err := json.Unmarshal([]byte(r.Details), &d); err != nil {
		return store.Review{}, fmt.Errorf("review %d details: %w", r.ID, err)
	}
	for i := range ratings {
		ratings[i].Comment = d.Comments[ratings[i].Key]
	}
	out := store.Review{
		ID: r.ID, PickID: r.PickID, InspectorID: r.InspectorID, AgentID: r.AgentID, ExternalID: r.ExternalID,
		Week: r.Week, RubricVersion: r.RubricVersion, Status: store.ReviewStatus(r.Status),
		Ratings: ratings, Flags: splitFlags(r.Flags), Comment: d.Comment, Strengths: d.Strengths, Suggestions: d.Suggestions,
		Score: r.Score, Grade: r.Grade, Critical: r.Critical,
		DisputeID: r.DisputeID.Int64, SupersedesID: r.SupersedesID.Int64, SupersededByID: r.SupersededByID.Int64,
		CreatedAt: fromMillis(r.CreatedAt), UpdatedAt: fromMillis(r.UpdatedAt),
	}
	if r.FinalizedAt.Valid {
		out.FinalizedAt = fromMillis(r.FinalizedAt.Int64)
	}
	return out, nil
}

func getReview(ctx context.Context, get getFunc, id int64) (store.Review, error) {
	var row reviewRow
	if err := get(ctx, &row, "SELECT "+reviewColumns+" FROM reviews r WHERE r.id = ?", id); err != nil {
		return store.Review{}, notFound(err, fmt.Sprintf("review %d", id))
	}
	return row.review()
}

// GetReview returns one review.
func (s *Store) GetReview(ctx context.Context, id int64) (store.Review, error) {
	return getReview(ctx, s.readGet, id)
}

// ListReviews returns reviews, newest first.
func (s *Store) ListReviews(ctx context.Context, f store.ReviewFilter) ([]store.Review, error) {
	var fq filterQuery
	if f.InspectorID != "" {
		fq.add("r.inspector_id = ?", f.InspectorID)
	}
	if f.Finalised {
		fq.addBare("r.status IN ('final', 'retracted')")
	}
	if f.BeforeID != 0 {
		fq.add("r.id < ?", f.BeforeID)
	}
	q, args := fq.build("SELECT "+reviewColumns+" FROM reviews r", "r.id DESC", f.Limit)
	var rows []reviewRow
	if err := s.readSelect(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("sqlstore: list reviews: %w", err)
	}
	out := make([]store.Review, len(rows))
	for i := range rows {
		var err error
		if out[i], err = rows[i].review(); err != nil {
			return nil, fmt.Errorf("sqlstore: list reviews: %w", err)
		}
	}
	return out, nil
}

// FinalReviewOf returns a pick's final review.
func (s *Store) FinalReviewOf(ctx context.Context, pickID int64) (store.Review, error) {
	var row reviewRow
	err := s.readGet(ctx, &row, "SELECT "+reviewColumns+" FROM reviews r WHERE r.pick_id = ? AND r.status = 'final'", pickID)
	if err != nil {
		return store.Review{}, notFound(err, fmt.Sprintf("final review of item %d", pickID))
	}
	return row.review()
}

// DraftOf returns an inspector's draft of a pick.
func (s *Store) DraftOf(ctx context.Context, pickID int64, inspectorID string) (store.Review, error) {
	var row reviewRow
	err := s.readGet(ctx, &row, "SELECT "+reviewColumns+
		" FROM reviews r WHERE r.pick_id = ? AND r.inspector_id = ? AND r.status = 'draft'", pickID, inspectorID)
	if err != nil {
		return store.Review{}, notFound(err, fmt.Sprintf("draft of item %d", pickID))
	}
	return row.review()
}

// queuedPick is what scoring needs of a pick in an inspector's queue.
type queuedPick struct {
	AgentID    string `db:"agent_id"`
	ExternalID string `db:"external_id"`
	Week       string `db:"week"`
	Status     string `db:"status"`
}

const queuedPickSelect = `SELECT p.agent_id, t.external_id, sr.week, p.status
		FROM picks p JOIN transcripts t ON t.id = p.transcript_id JOIN sampling_runs sr ON sr.id = p.run_id
		WHERE p.id = ? AND p.inspector_id = ? AND p.status IN ('assigned', 'disputed')`

// ownQueuedPick reads pick id if it is in inspectorID's queue (assigned,
// or disputed to them), else ErrConflict. On PostgreSQL it locks the pick
// row until commit: without the lock an UpdatePick (reassign, release)
// committing between this check and the writes that rely on it would be
// overwritten, and both callers told they succeeded. With it, whichever
// comes second waits and then sees the other's result. SQLite's writes
// are serial already.
func (s *Store) ownQueuedPick(ctx context.Context, tx *sqlx.Tx, id int64, inspectorID string) (queuedPick, error) {
	var p queuedPick
	q := queuedPickSelect
	if s.dialect == dialectPostgres {
		q += " FOR NO KEY UPDATE OF p"
	}
	err := s.txGet(ctx, tx, &p, q, id, inspectorID)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("item %d is not in %s's queue: %w", id, inspectorID, store.ErrConflict)
	}
	return p, err
}

// SaveDraft creates or replaces the inspector's draft of a pick.
func (s *Store) SaveDraft(ctx context.Context, r store.Review) (store.Review, error) {
	details, err := encodeDetails(&r)
	if err != nil {
		return store.Review{}, err
	}
	ratings, flags := encodeRatings(r.Ratings), strings.Join(r.Flags, ",")
	var out store.Review
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		p, err := s.ownQueuedPick(ctx, tx, r.PickID, r.InspectorID)
		if err != nil {
			return err
		}
		if err := s.lockRubricVersion(ctx, tx, r.RubricVersion); err != nil {
			return err
		}
		now := s.now().UnixMilli()
		var id int64
		err = tx.GetContext(ctx, &id, tx.Rebind(`UPDATE reviews SET rubric_version = ?, ratings = ?, flags = ?, details = ?,
			dispute_id = ?, updated_at = ? WHERE pick_id = ? AND inspector_id = ? AND status = 'draft' RETURNING id`),
			r.RubricVersion, ratings, flags, details, nullID(r.DisputeID), now, r.PickID, r.InspectorID)
		action := "review.update"
		if errors.Is(err, sql.ErrNoRows) {
			action = "review.create"
			err = tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO reviews (pick_id, inspector_id, agent_id, external_id, week,
				rubric_version, status, ratings, flags, details, dispute_id, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?) RETURNING id`),
				r.PickID, r.InspectorID, p.AgentID, p.ExternalID, p.Week, r.RubricVersion,
				ratings, flags, details, nullID(r.DisputeID), now, now)
		}
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, r.InspectorID, action, "review", id, map[string]any{
			"item_id": r.PickID, "ratings": auditRatings(r.Ratings), "flags": auditFlags(r.Flags),
		}); err != nil {
			return err
		}
		out, err = getReview(ctx, s.txGetter(tx), id)
		return err
	})
	if err != nil {
		return store.Review{}, fmt.Errorf("sqlstore: save draft of item %d: %w", r.PickID, err)
	}
	return out, nil
}
