package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"qa-sampling/store"
)

// feedbackLockKey is the PostgreSQL advisory lock that finalising takes
// before it inserts a feedback record. Identity values are handed out at
// insert, not at commit, so without it two transactions could commit ids
// 8 and 7 in that order and a subscriber that had read up to 8 would never
// see 7. Holding it to commit makes ids commit in order. SQLite has one
// writer, so its ids already do.
const feedbackLockKey = 0x71615f66656564 // "qa_feed"

// ---- ratings and details encoding

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

// ---- reviews

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
		if err := s.audit(ctx, tx, r.InspectorID, action, "review", id, map[string]any{"item_id": r.PickID, "ratings": ratings, "flags": r.Flags}); err != nil {
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

// ---- feedback

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
}

const feedbackSelect = `SELECT f.id AS f_id, f.supervisor_id AS f_supervisor_id, f.team_id AS f_team_id,
	f.coaching_required AS f_coaching_required, f.share_as_example AS f_share_as_example,
	f.supersedes_id AS f_supersedes_id, f.created_at AS f_created_at, f.acknowledged_at AS f_acknowledged_at,
	f.acknowledged_by AS f_acknowledged_by, f.coaching_note AS f_coaching_note, ` + reviewColumns + `
	FROM feedback f JOIN reviews r ON r.id = f.review_id`

func (f *feedbackRow) feedback() (store.Feedback, error) {
	rv, err := f.review()
	if err != nil {
		return store.Feedback{}, err
	}
	out := store.Feedback{
		ID: f.FeedbackID, Review: rv, SupervisorID: f.SupervisorID, TeamID: f.TeamID,
		CoachingRequired: f.CoachingRequired, ShareAsExample: f.ShareAsExample, SupersedesID: f.FSupersedesID.Int64,
		CreatedAt: fromMillis(f.FCreatedAt), AcknowledgedBy: f.AcknowledgedBy, CoachingNote: f.CoachingNote,
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
	if f.AfterID != 0 {
		fq.add("f.id > ?", f.AfterID)
	}
	q, args := fq.build(feedbackSelect, "f.id", f.Limit)
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

// ofSupervisedAgents is the condition "the row of table alias t is about
// an agent the supervisor (the parameter) supervises now". Feedback needs
// none: its supervisor_id follows the agent (UpsertAgents).
func ofSupervisedAgents(t string) string {
	return t + ".agent_id IN (SELECT agent_id FROM agents WHERE supervisor_id = ?)"
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

// ---- disputes

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

// ---- reports

// reportChunk bounds the agent ids bound in one query, well under both
// databases' parameter limits.
const reportChunk = 500

// ReportRows reads the counted reviews of the agents in the week range,
// chunk by chunk of agents, as many chunks at once as there are CPUs:
// decoding a team's hundred thousand rows is CPU-bound on both databases.
// Each agent's reviews come from one query, so one snapshot.
func (s *Store) ReportRows(ctx context.Context, f store.ReportFilter) ([]store.ReportRow, error) {
	var chunks [][]string
	for start := 0; start < len(f.AgentIDs); start += reportChunk {
		chunks = append(chunks, f.AgentIDs[start:min(start+reportChunk, len(f.AgentIDs))])
	}
	parts := make([][]store.ReportRow, len(chunks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, ids := range chunks {
		g.Go(func() error {
			var err error
			parts[i], err = s.reportRowsOf(gctx, ids, f.FromWeek, f.ToWeek)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("sqlstore: report rows: %w", err)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return slices.Concat(parts...), nil
}

// reportRowsOf reads one chunk of agents' report cells. It scans raw
// bytes and interns the few distinct strings (agent ids, weeks, keys, flag
// lists, scores) rather than allocating each review's: a team report
// decodes a hundred thousand reviews, and allocation was a third of its
// time.
func (s *Store) reportRowsOf(ctx context.Context, ids []string, from, to string) ([]store.ReportRow, error) {
	q, args, err := sqlx.In(`SELECT agent_id, week, reviews FROM report_cells
		WHERE agent_id IN (?) AND week >= ? AND week <= ?`, ids, from, to)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, s.r.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var (
		out                  []store.ReportRow
		dec                  reportDecoder
		agent, week, reviews sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&agent, &week, &reviews); err != nil {
			return nil, err
		}
		agentID, weekText := dec.intern(agent), dec.intern(week)
		for len(reviews) > 0 {
			var line []byte
			line, reviews, _ = bytes.Cut(reviews, []byte{'\n'})
			if len(line) == 0 {
				continue // a cell rewritten to nothing, before its delete
			}
			r, err := dec.review(line)
			if err != nil {
				return nil, fmt.Errorf("report cell %s %s: %w", agentID, weekText, err)
			}
			r.AgentID, r.Week = agentID, weekText
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// writeReportCell rewrites the report cell of agent's week from its final
// reviews; every change to which reviews are final calls it in the same
// transaction. It locks the cell before reading the reviews: on PostgreSQL
// (read committed, several finalising workers) a read taken first could
// miss a review another transaction appends to the cell and commits
// meanwhile, and the rewrite would then drop that review's line. Once the
// lock is held, every other writer of the cell has committed or waits, and
// the next statement sees what they committed.
func (s *Store) writeReportCell(ctx context.Context, tx *sqlx.Tx, agentID, week string) error {
	if _, err := s.txExec(ctx, tx, `INSERT INTO report_cells (agent_id, week, reviews) VALUES (?, ?, '')
		ON CONFLICT (agent_id, week) DO UPDATE SET reviews = report_cells.reviews`, agentID, week); err != nil {
		return err
	}
	var reviews []struct {
		Score    float64 `db:"score"`
		Critical bool    `db:"critical"`
		Flags    string  `db:"flags"`
		Ratings  string  `db:"ratings"`
	}
	if err := tx.SelectContext(ctx, &reviews, tx.Rebind(`SELECT score, critical, flags, ratings FROM reviews
		WHERE agent_id = ? AND week = ? AND status = 'final' ORDER BY id`), agentID, week); err != nil {
		return err
	}
	if len(reviews) == 0 {
		_, err := s.txExec(ctx, tx, "DELETE FROM report_cells WHERE agent_id = ? AND week = ?", agentID, week)
		return err
	}
	var b []byte
	for i, r := range reviews {
		if i > 0 {
			b = append(b, '\n')
		}
		b = reportLine(b, r.Score, r.Critical, r.Flags, r.Ratings)
	}
	_, err := s.txExec(ctx, tx, "UPDATE report_cells SET reviews = ? WHERE agent_id = ? AND week = ?", string(b), agentID, week)
	return err
}

// appendReportCell adds one newly final review's line to its report cell:
// what finalising does when no other review stops counting.
func (s *Store) appendReportCell(ctx context.Context, tx *sqlx.Tx, agentID, week string, line []byte) error {
	_, err := s.txExec(ctx, tx, `INSERT INTO report_cells (agent_id, week, reviews) VALUES (?, ?, ?)
		ON CONFLICT (agent_id, week) DO UPDATE SET reviews = report_cells.reviews || ? || excluded.reviews`,
		agentID, week, string(line), "\n")
	return err
}

// reportLine appends one review's report-cell line to b:
// "score|critical|flags|ratings", the score in its shortest exact form.
func reportLine(b []byte, score float64, critical bool, flags, ratings string) []byte {
	b = strconv.AppendFloat(b, score, 'g', -1, 64)
	b = append(b, '|')
	b = strconv.AppendBool(b, critical)
	b = append(b, '|')
	b = append(b, flags...)
	b = append(b, '|')
	return append(b, ratings...)
}

// reportDecoder shares what report rows repeat. The slices it hands out
// (flag lists, ratings) are shared or carved from one slab: read-only.
type reportDecoder struct {
	strs      map[string]string
	flagLists map[string][]string
	scores    map[string]float64
	slab      []store.Rating
}

// review decodes one line of a report cell (see writeReportCell).
func (d *reportDecoder) review(line []byte) (store.ReportRow, error) {
	var r store.ReportRow
	score, rest, ok1 := bytes.Cut(line, []byte{'|'})
	critical, rest, ok2 := bytes.Cut(rest, []byte{'|'})
	flags, ratings, ok3 := bytes.Cut(rest, []byte{'|'})
	if !ok1 || !ok2 || !ok3 {
		return r, fmt.Errorf("malformed review %q", line)
	}
	var err error
	if r.Score, err = d.score(score); err != nil {
		return r, err
	}
	r.Critical = string(critical) == "true"
	r.Flags = d.flags(flags)
	r.Ratings, err = d.ratings(ratings)
	return r, err
}

// score parses a score, once per distinct text: scores repeat.
func (d *reportDecoder) score(b []byte) (float64, error) {
	if v, ok := d.scores[string(b)]; ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, err
	}
	if d.scores == nil {
		d.scores = make(map[string]float64)
	}
	d.scores[string(b)] = v
	return v, nil
}

func (d *reportDecoder) intern(b []byte) string {
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	if d.strs == nil {
		d.strs = make(map[string]string)
	}
	s := string(b)
	d.strs[s] = s
	return s
}

func (d *reportDecoder) flags(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	if l, ok := d.flagLists[string(b)]; ok {
		return l
	}
	if d.flagLists == nil {
		d.flagLists = make(map[string][]string)
	}
	l := splitFlags(string(b))
	d.flagLists[string(b)] = l
	return l
}

// ratingSlab is how many ratings one slab allocation holds.
const ratingSlab = 4096

func (d *reportDecoder) ratings(b []byte) ([]store.Rating, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if n := bytes.Count(b, []byte{';'}) + 1; cap(d.slab)-len(d.slab) < n {
		d.slab = make([]store.Rating, 0, max(ratingSlab, n))
	}
	start := len(d.slab)
	var err error
	if d.slab, err = appendRatings(d.slab, b, d.intern); err != nil {
		return nil, err
	}
	return d.slab[start:len(d.slab):len(d.slab)], nil
}

// ---- audit

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
