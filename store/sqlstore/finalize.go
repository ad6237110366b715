package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
)

// Finalising is the write inspectors wait on, 32 of them at once at peak.
// Each one changes a dozen index pages (review, pick, feedback record,
// audit events); committed one by one, every commit rewrites the same
// right-most pages of the append-only tables into the WAL and syncs it.
// So finalisations that arrive while a transaction runs are committed
// together by one writer goroutine (group commit), each inside a savepoint
// so that one refused (not its item, already final, ...) does not undo the
// others. The report cells and feedback records are written after every
// job, outside the savepoints: a failure there is the database's, not a
// job's, and fails the whole batch. Every caller still gets its answer
// only after the commit that made its review durable.
//
// On PostgreSQL every statement is a round trip, so several batches run at
// once (finalizeWorkers). What they contend on comes last in a batch and in
// one order: report cells sorted by key, then the advisory lock that keeps
// feedback ids committed in order, held only for the feedback inserts and
// the commit. A transaction holding the lock waits on nothing else, so the
// workers cannot deadlock on it. Two batches can still deadlock over the
// picks of one inspector's duplicate submissions; PostgreSQL breaks that
// after deadlock_timeout and the batch is retried.

// maxFinalizeBatch bounds one group commit.
const maxFinalizeBatch = 64

// finalizeTimeout bounds one group commit's transaction; it does not run
// under any single caller's context, since callers may give up while
// others still wait on the same commit.
const finalizeTimeout = 30 * time.Second

type finalizeJob struct {
	ctx     context.Context
	review  store.Review
	details string
	fb      store.Feedback
	done    chan finalizeResult
}

type finalizeResult struct {
	record feedbackRow // the stored record, review included
	err    error
}

// pendingFeedback is what a finalised job still has to write once every
// job of the batch has run: its report cell and its feedback record. row
// is the record as it will be stored, so that the caller gets it back
// without reading it again.
type pendingFeedback struct {
	job       int // index in the batch
	row       feedbackRow
	retracted bool // another review of the cell stopped counting
	cellLine  []byte
}

// finalizeWorkers is how many batches run at once: one on SQLite, which
// has one writer connection; several on PostgreSQL, where a batch spends
// most of its time waiting on round trips.
func (s *Store) finalizeWorkers() int {
	if s.dialect == dialectPostgres {
		return 4
	}
	return 1
}

// finalizer runs group commits; started on first use, stopped by Close.
type finalizer struct {
	start, stop sync.Once
	queue       chan *finalizeJob
	closed      chan struct{}
}

func (s *Store) startFinalizer() {
	s.fin.start.Do(func() {
		s.fin.queue = make(chan *finalizeJob)
		s.fin.closed = make(chan struct{})
		for range s.finalizeWorkers() {
			go s.finalizeLoop()
		}
	})
}

func (s *Store) stopFinalizer() {
	s.fin.start.Do(func() { s.fin.closed = make(chan struct{}) }) // never started: nothing to stop
	s.fin.stop.Do(func() { close(s.fin.closed) })
}

func (s *Store) finalizeLoop() {
	for {
		var batch []*finalizeJob
		select {
		case <-s.fin.closed:
			return
		case j := <-s.fin.queue:
			batch = append(batch, j)
		}
	collect:
		for len(batch) < maxFinalizeBatch {
			select {
			case j := <-s.fin.queue:
				batch = append(batch, j)
			default:
				break collect
			}
		}
		s.finalizeBatch(batch)
	}
}

// FinalizeReview stores the final review and its feedback record in one
// transaction (SPEC §2 step 5: a final review always has its record),
// possibly together with other callers' finalisations.
func (s *Store) FinalizeReview(ctx context.Context, r store.Review, fb store.Feedback) (store.Review, store.Feedback, error) {
	details, err := encodeDetails(&r)
	if err != nil {
		return store.Review{}, store.Feedback{}, err
	}
	s.startFinalizer()
	job := &finalizeJob{ctx: ctx, review: r, details: details, fb: fb, done: make(chan finalizeResult, 1)}
	select {
	case s.fin.queue <- job:
	case <-ctx.Done():
		return store.Review{}, store.Feedback{}, ctx.Err()
	case <-s.fin.closed:
		return store.Review{}, store.Feedback{}, errors.New("sqlstore: store closed")
	}
	// Once queued, wait for the answer even if ctx ends: the commit may
	// already have happened, and the caller must not be told otherwise.
	res := <-job.done
	if res.err != nil {
		return store.Review{}, store.Feedback{}, fmt.Errorf("sqlstore: finalize item %d: %w", r.PickID, res.err)
	}
	// Decoded from what was written rather than read back: no second
	// query, and no error from a caller's ended ctx after the commit.
	f, err := res.record.feedback()
	if err != nil {
		return store.Review{}, store.Feedback{}, fmt.Errorf("sqlstore: finalize item %d: %w", r.PickID, err)
	}
	return f.Review, f, nil
}

// finalizeBatch commits jobs in one transaction and answers each.
func (s *Store) finalizeBatch(jobs []*finalizeJob) {
	ctx, cancel := context.WithTimeout(context.Background(), finalizeTimeout)
	defer cancel()
	results := make([]finalizeResult, len(jobs))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		clear(results) // a retried transaction starts over
		var pending []pendingFeedback
		for i, j := range jobs {
			if err := j.ctx.Err(); err != nil {
				results[i].err = err // gave up before its turn: nothing written
				continue
			}
			if _, err := s.txExec(ctx, tx, "SAVEPOINT finalize"); err != nil {
				return err
			}
			pf, err := s.finalizeOne(ctx, tx, j)
			if err != nil {
				if retryable(s.dialect, err) {
					return err // the whole batch again
				}
				if _, err := s.txExec(ctx, tx, "ROLLBACK TO SAVEPOINT finalize"); err != nil {
					return err
				}
				results[i].err = err
			} else {
				pf.job = i
				pending = append(pending, pf)
			}
			if _, err := s.txExec(ctx, tx, "RELEASE SAVEPOINT finalize"); err != nil {
				return err
			}
		}
		if err := s.writeReportCells(ctx, tx, pending); err != nil {
			return err
		}
		return s.writeFeedback(ctx, tx, pending, results)
	})
	for i, j := range jobs {
		if err != nil {
			results[i] = finalizeResult{err: err}
		}
		j.done <- results[i]
	}
	s.prepareMissed(ctx)
}

// finalizeOne writes one final review, the pick's new status and the
// audit events; for a dispute it also retracts the contested review and
// resolves the dispute. It returns what the batch writes after every job:
// the report cell and the feedback record.
func (s *Store) finalizeOne(ctx context.Context, tx *sqlx.Tx, j *finalizeJob) (pendingFeedback, error) {
	var none pendingFeedback
	r := &j.review
	p, err := s.ownQueuedPick(ctx, tx, r.PickID, r.InspectorID)
	if err != nil {
		return none, err
	}
	now := s.now().UnixMilli()
	var supersedes, supersedesFeedback int64
	var created struct {
		ID        int64 `db:"id"`
		CreatedAt int64 `db:"created_at"`
	}
	if p.Status == string(store.PickDisputed) {
		d, err := getDispute(ctx, s.txGetter(tx), r.DisputeID)
		if err != nil {
			return none, err
		}
		if d.Status != store.DisputeOpen || d.PickID != r.PickID || d.AssigneeID != r.InspectorID {
			return none, fmt.Errorf("dispute %d is not open on item %d for %s: %w", r.DisputeID, r.PickID, r.InspectorID, store.ErrConflict)
		}
		supersedes = d.ReviewID
		res, err := s.txExec(ctx, tx, "UPDATE reviews SET status = 'retracted', updated_at = ? WHERE id = ? AND status = 'final'", now, supersedes)
		if err != nil {
			return none, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return none, err
		} else if n == 0 {
			return none, fmt.Errorf("disputed review %d is no longer final: %w", supersedes, store.ErrConflict)
		}
		if err := s.txGet(ctx, tx, &supersedesFeedback, "SELECT COALESCE(MAX(id), 0) FROM feedback WHERE review_id = ?", supersedes); err != nil {
			return none, err
		}
	} else if r.DisputeID != 0 {
		return none, fmt.Errorf("item %d is not disputed: %w", r.PickID, store.ErrConflict)
	}
	if err := s.lockRubricVersion(ctx, tx, r.RubricVersion); err != nil {
		return none, err
	}
	ratings, flags := encodeRatings(r.Ratings), strings.Join(r.Flags, ",")
	args := []any{r.RubricVersion, ratings, flags, j.details, r.Score, r.Grade, r.Critical,
		nullID(r.DisputeID), nullID(supersedes), now, now}
	err = s.txGet(ctx, tx, &created, `UPDATE reviews SET status = 'final', rubric_version = ?, ratings = ?, flags = ?,
		details = ?, score = ?, grade = ?, critical = ?, dispute_id = ?, supersedes_id = ?, updated_at = ?, finalized_at = ?
		WHERE pick_id = ? AND inspector_id = ? AND status = 'draft' RETURNING id, created_at`, append(args, r.PickID, r.InspectorID)...)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.txGet(ctx, tx, &created, `INSERT INTO reviews (rubric_version, ratings, flags, details, score, grade,
			critical, dispute_id, supersedes_id, updated_at, finalized_at, created_at, pick_id, inspector_id, agent_id,
			external_id, week, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'final') RETURNING id, created_at`,
			append(args, now, r.PickID, r.InspectorID, p.AgentID, p.ExternalID, p.Week)...)
	}
	if isUniqueViolation(err) {
		return none, fmt.Errorf("item %d already has a final review: %w", r.PickID, store.ErrConflict)
	}
	if err != nil {
		return none, err
	}
	reviewID := created.ID
	if _, err := s.txExec(ctx, tx, "UPDATE picks SET status = 'reviewed', updated_at = ? WHERE id = ?", now, r.PickID); err != nil {
		return none, err
	}
	if supersedes != 0 {
		if _, err := s.txExec(ctx, tx, "UPDATE reviews SET superseded_by_id = ? WHERE id = ?", reviewID, supersedes); err != nil {
			return none, err
		}
		if _, err := s.txExec(ctx, tx, "UPDATE disputes SET status = 'resolved', resolution_id = ?, resolved_at = ? WHERE id = ?",
			reviewID, now, r.DisputeID); err != nil {
			return none, err
		}
		if err := s.audit(ctx, tx, r.InspectorID, "review.retract", "review", supersedes, map[string]any{"superseded_by": reviewID, "dispute_id": r.DisputeID}); err != nil {
			return none, err
		}
		if err := s.audit(ctx, tx, r.InspectorID, "dispute.resolve", "dispute", r.DisputeID, map[string]any{"review_id": reviewID}); err != nil {
			return none, err
		}
	}
	// The record goes to the agent's supervisor as of now. On PostgreSQL
	// the row is read locked against a concurrent move (UpsertAgents),
	// which then waits and takes this record along once it commits.
	var team struct {
		SupervisorID string `db:"supervisor_id"`
		TeamID       string `db:"team_id"`
		Name         string `db:"name"`
	}
	agentQuery := "SELECT supervisor_id, team_id, name FROM agents WHERE agent_id = ?"
	if s.dialect == dialectPostgres {
		agentQuery += " FOR SHARE"
	}
	if err := s.txGet(ctx, tx, &team, agentQuery, p.AgentID); err != nil {
		return none, notFound(err, "agent "+p.AgentID)
	}
	if err := s.audit(ctx, tx, r.InspectorID, "review.finalize", "review", reviewID, map[string]any{
		"item_id": r.PickID, "score": r.Score, "grade": r.Grade, "critical": r.Critical,
		"ratings": auditRatings(r.Ratings), "flags": auditFlags(r.Flags),
	}); err != nil {
		return none, err
	}
	return pendingFeedback{
		row: feedbackRow{
			reviewRow: reviewRow{
				ID: reviewID, PickID: r.PickID, InspectorID: r.InspectorID, AgentID: p.AgentID, ExternalID: p.ExternalID,
				Week: p.Week, RubricVersion: r.RubricVersion, Status: string(store.ReviewFinal),
				Ratings: ratings, Flags: flags, Details: j.details, Score: r.Score, Grade: r.Grade, Critical: r.Critical,
				DisputeID: nullID(r.DisputeID), SupersedesID: nullID(supersedes),
				CreatedAt: created.CreatedAt, UpdatedAt: now, FinalizedAt: sql.NullInt64{Int64: now, Valid: true},
			},
			SupervisorID: team.SupervisorID, TeamID: team.TeamID, AgentName: team.Name,
			CoachingRequired: j.fb.CoachingRequired, ShareAsExample: j.fb.ShareAsExample,
			FSupersedesID: nullID(supersedesFeedback), FCreatedAt: now,
		},
		retracted: supersedes != 0,
		cellLine:  reportLine(nil, r.Score, r.Critical, flags, ratings),
	}, nil
}

// writeReportCells brings the report cells of the batch's reviews up to
// date, in key order so that concurrent batches lock cells in one order.
// A cell where a review was retracted is rewritten once from the reviews;
// otherwise each new review's line is appended.
func (s *Store) writeReportCells(ctx context.Context, tx *sqlx.Tx, pending []pendingFeedback) error {
	type cellKey struct{ agent, week string }
	byCell := make(map[cellKey][]*pendingFeedback)
	var keys []cellKey
	for i := range pending {
		k := cellKey{pending[i].row.AgentID, pending[i].row.Week}
		if _, ok := byCell[k]; !ok {
			keys = append(keys, k)
		}
		byCell[k] = append(byCell[k], &pending[i])
	}
	slices.SortFunc(keys, func(a, b cellKey) int {
		return cmp.Or(cmp.Compare(a.agent, b.agent), cmp.Compare(a.week, b.week))
	})
	for _, k := range keys {
		jobs := byCell[k]
		if slices.ContainsFunc(jobs, func(p *pendingFeedback) bool { return p.retracted }) {
			if err := s.writeReportCell(ctx, tx, k.agent, k.week); err != nil {
				return err
			}
			continue
		}
		for _, p := range jobs {
			if err := s.appendReportCell(ctx, tx, k.agent, k.week, p.cellLine); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFeedback inserts the batch's feedback records and their audit
// events, noting each stored record, id included, in results. On
// PostgreSQL it first takes the advisory lock that commits ids in order
// (see feedbackLockKey).
func (s *Store) writeFeedback(ctx context.Context, tx *sqlx.Tx, pending []pendingFeedback, results []finalizeResult) error {
	if len(pending) == 0 {
		return nil
	}
	if s.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(feedbackLockKey)); err != nil {
			return err
		}
	}
	for i := range pending {
		f := &pending[i].row
		if err := s.txGet(ctx, tx, &f.FeedbackID, `INSERT INTO feedback (review_id, agent_id, supervisor_id, team_id, week, grade,
			coaching_required, share_as_example, supersedes_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			f.ID, f.AgentID, f.SupervisorID, f.TeamID, f.Week, f.Grade, f.CoachingRequired, f.ShareAsExample,
			f.FSupersedesID, f.FCreatedAt); err != nil {
			return err
		}
		results[pending[i].job].record = *f
		if err := s.audit(ctx, tx, f.InspectorID, "feedback.create", "feedback", f.FeedbackID, map[string]any{"review_id": f.ID}); err != nil {
			return err
		}
	}
	return nil
}
