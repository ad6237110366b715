package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
// so that one failing does not undo the others. Every caller still gets
// its answer only after the commit that made its review durable.

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
	reviewID, feedbackID int64
	err                  error
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
		go s.finalizeLoop()
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
	f, err := s.GetFeedback(ctx, res.feedbackID)
	if err != nil {
		return store.Review{}, store.Feedback{}, err
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
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(feedbackLockKey)); err != nil {
				return err
			}
		}
		for i, j := range jobs {
			if err := j.ctx.Err(); err != nil {
				results[i].err = err // gave up before its turn: nothing written
				continue
			}
			if _, err := tx.ExecContext(ctx, "SAVEPOINT finalize"); err != nil {
				return err
			}
			rid, fid, err := s.finalizeOne(ctx, tx, j)
			if err != nil {
				if retryable(s.dialect, err) {
					return err // the whole batch again
				}
				if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT finalize"); err != nil {
					return err
				}
				results[i].err = err
			} else {
				results[i].reviewID, results[i].feedbackID = rid, fid
			}
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT finalize"); err != nil {
				return err
			}
		}
		return nil
	})
	for i, j := range jobs {
		if err != nil {
			results[i] = finalizeResult{err: err}
		}
		j.done <- results[i]
	}
	s.prepareMissed(ctx)
}

// finalizeOne writes one final review, its feedback record, the pick's
// new status and the audit events; for a dispute it also retracts the
// contested review and resolves the dispute.
func (s *Store) finalizeOne(ctx context.Context, tx *sqlx.Tx, j *finalizeJob) (reviewID, feedbackID int64, err error) {
	r := &j.review
	p, err := s.ownQueuedPick(ctx, tx, r.PickID, r.InspectorID)
	if err != nil {
		return 0, 0, err
	}
	now := s.now().UnixMilli()
	var supersedes, supersedesFeedback int64
	if p.Status == string(store.PickDisputed) {
		d, err := getDispute(ctx, tx, r.DisputeID)
		if err != nil {
			return 0, 0, err
		}
		if d.Status != store.DisputeOpen || d.PickID != r.PickID || d.AssigneeID != r.InspectorID {
			return 0, 0, fmt.Errorf("dispute %d is not open on item %d for %s: %w", r.DisputeID, r.PickID, r.InspectorID, store.ErrConflict)
		}
		supersedes = d.ReviewID
		res, err := s.txExec(ctx, tx, "UPDATE reviews SET status = 'retracted', updated_at = ? WHERE id = ? AND status = 'final'", now, supersedes)
		if err != nil {
			return 0, 0, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, 0, err
		} else if n == 0 {
			return 0, 0, fmt.Errorf("disputed review %d is no longer final: %w", supersedes, store.ErrConflict)
		}
		if err := s.txGet(ctx, tx, &supersedesFeedback, "SELECT COALESCE(MAX(id), 0) FROM feedback WHERE review_id = ?", supersedes); err != nil {
			return 0, 0, err
		}
	} else if r.DisputeID != 0 {
		return 0, 0, fmt.Errorf("item %d is not disputed: %w", r.PickID, store.ErrConflict)
	}
	if err := s.lockRubricVersion(ctx, tx, r.RubricVersion); err != nil {
		return 0, 0, err
	}
	ratings := encodeRatings(r.Ratings)
	args := []any{r.RubricVersion, ratings, strings.Join(r.Flags, ","), j.details, r.Score, r.Grade, r.Critical,
		nullID(r.DisputeID), nullID(supersedes), now, now}
	err = s.txGet(ctx, tx, &reviewID, `UPDATE reviews SET status = 'final', rubric_version = ?, ratings = ?, flags = ?,
		details = ?, score = ?, grade = ?, critical = ?, dispute_id = ?, supersedes_id = ?, updated_at = ?, finalized_at = ?
		WHERE pick_id = ? AND inspector_id = ? AND status = 'draft' RETURNING id`, append(args, r.PickID, r.InspectorID)...)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.txGet(ctx, tx, &reviewID, `INSERT INTO reviews (rubric_version, ratings, flags, details, score, grade,
			critical, dispute_id, supersedes_id, updated_at, finalized_at, created_at, pick_id, inspector_id, agent_id,
			external_id, week, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'final') RETURNING id`,
			append(args, now, r.PickID, r.InspectorID, p.AgentID, p.ExternalID, p.Week)...)
	}
	if isUniqueViolation(err) {
		return 0, 0, fmt.Errorf("item %d already has a final review: %w", r.PickID, store.ErrConflict)
	}
	if err != nil {
		return 0, 0, err
	}
	if _, err := s.txExec(ctx, tx, "UPDATE picks SET status = 'reviewed', updated_at = ? WHERE id = ?", now, r.PickID); err != nil {
		return 0, 0, err
	}
	if supersedes != 0 {
		if _, err := s.txExec(ctx, tx, "UPDATE reviews SET superseded_by_id = ? WHERE id = ?", reviewID, supersedes); err != nil {
			return 0, 0, err
		}
		if _, err := s.txExec(ctx, tx, "UPDATE disputes SET status = 'resolved', resolution_id = ?, resolved_at = ? WHERE id = ?",
			reviewID, now, r.DisputeID); err != nil {
			return 0, 0, err
		}
		if err := s.audit(ctx, tx, r.InspectorID, "review.retract", "review", supersedes, map[string]any{"superseded_by": reviewID, "dispute_id": r.DisputeID}); err != nil {
			return 0, 0, err
		}
		if err := s.audit(ctx, tx, r.InspectorID, "dispute.resolve", "dispute", r.DisputeID, map[string]any{"review_id": reviewID}); err != nil {
			return 0, 0, err
		}
	}
	if supersedes != 0 {
		err = s.writeReportCell(ctx, tx, p.AgentID, p.Week)
	} else {
		err = s.appendReportCell(ctx, tx, p.AgentID, p.Week, reportLine(nil, r.Score, r.Critical, strings.Join(r.Flags, ","), ratings))
	}
	if err != nil {
		return 0, 0, err
	}
	// The record goes to the agent's supervisor as of now.
	var team struct {
		SupervisorID string `db:"supervisor_id"`
		TeamID       string `db:"team_id"`
	}
	if err := s.txGet(ctx, tx, &team, "SELECT supervisor_id, team_id FROM agents WHERE agent_id = ?", p.AgentID); err != nil {
		return 0, 0, notFound(err, "agent "+p.AgentID)
	}
	err = s.txGet(ctx, tx, &feedbackID, `INSERT INTO feedback (review_id, agent_id, supervisor_id, team_id, week, grade,
		coaching_required, share_as_example, supersedes_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		reviewID, p.AgentID, team.SupervisorID, team.TeamID, p.Week, r.Grade, j.fb.CoachingRequired, j.fb.ShareAsExample,
		nullID(supersedesFeedback), now)
	if err != nil {
		return 0, 0, err
	}
	if err := s.audit(ctx, tx, r.InspectorID, "review.finalize", "review", reviewID, map[string]any{
		"item_id": r.PickID, "score": r.Score, "grade": r.Grade, "critical": r.Critical, "ratings": ratings, "flags": r.Flags,
	}); err != nil {
		return 0, 0, err
	}
	err = s.audit(ctx, tx, r.InspectorID, "feedback.create", "feedback", feedbackID, map[string]any{"review_id": reviewID})
	return reviewID, feedbackID, err
}
