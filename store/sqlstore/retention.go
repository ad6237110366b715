package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// retentionActor is the audit actor of retention's removals.
const retentionActor = "retention"

// emptyBody is a purged transcript's body: no messages, no attributes.
var emptyBody = transcript.EncodeBody(nil, nil)

// retentionLockKey is the advisory lock that lets one PostgreSQL replica
// at a time remove expired chats, scoped to the schema like run claims.
func retentionLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("qa-sampling/retention/" + schema))
	return int64(h.Sum64() >> 1)
}

// retentionTx runs fn in a write transaction that, on PostgreSQL, first
// takes the retention lock for the transaction or gives up with
// ErrConflict: another replica is removing chats right now, and two would
// only trip over the same rows. SQLite has one process and one writer.
func (s *Store) retentionTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.dialect == dialectPostgres {
			var got bool
			if err := tx.GetContext(ctx, &got, "SELECT pg_try_advisory_xact_lock($1)", retentionLockKey(s.schema)); err != nil {
				return err
			}
			if !got {
				return fmt.Errorf("sqlstore: retention: another replica is at it: %w", store.ErrConflict)
			}
		}
		return fn(tx)
	})
}

type retentionCandidate struct {
	ID      int64 `db:"id"`
	EndedAt int64 `db:"ended_at"`
}

// DeleteUnsampledTranscripts deletes expired transcripts never picked (see
// store.RetentionStore), nor put before inspectors in a calibration
// session (benchmark material, kept with its sessions). Candidates come off the end-time index in
// (ended_at, id) order; the picked ones among them are passed over, and
// the cursor moves past them, so a later call does not read them again.
// The secondary authors and the owner-wrote queue go with the rows (ON
// DELETE CASCADE).
func (s *Store) DeleteUnsampledTranscripts(ctx context.Context, after store.RetentionCursor, endedBefore time.Time, limit int) (store.RetentionBatch, error) {
	var out store.RetentionBatch
	err := s.retentionTx(ctx, func(tx *sqlx.Tx) error {
		out = store.RetentionBatch{Next: after}
		var cands []retentionCandidate
		err := tx.SelectContext(ctx, &cands, tx.Rebind(`SELECT id, ended_at FROM transcripts
			WHERE (ended_at > ? OR ended_at = ? AND id > ?) AND ended_at < ?
			ORDER BY ended_at, id LIMIT ?`),
			after.EndedAt.UnixMilli(), after.EndedAt.UnixMilli(), after.ID, endedBefore.UnixMilli(), limit)
		if err != nil || len(cands) == 0 {
			return err
		}
		out.Examined = len(cands)
		last := cands[len(cands)-1]
		out.Next = store.RetentionCursor{EndedAt: fromMillis(last.EndedAt), ID: last.ID}
		ids := make([]int64, len(cands))
		for i, c := range cands {
			ids[i] = c.ID
		}
		// The end time again: on PostgreSQL a push may have moved a
		// candidate since it was read, and the DELETE, having waited for
		// the push's row lock, judges the row as the push left it.
		q, args, err := sqlx.In(`DELETE FROM transcripts WHERE id IN (?) AND ended_at < ? AND NOT `+frozenSQL+`
			AND id NOT IN (SELECT transcript_id FROM calibration_items) RETURNING `+deletedChatColumns, ids, endedBefore.UnixMilli())
		if err != nil {
			return err
		}
		var deleted []deletedChat
		if err := tx.SelectContext(ctx, &deleted, tx.Rebind(q), args...); err != nil {
			return err
		}
		out.Removed = len(deleted)
		if len(deleted) == 0 {
			return nil
		}
		// The check rates over all chats keep them (SPEC §7: reports keep
		// their aggregates).
		if err := keepCheckCounts(ctx, tx, deleted); err != nil {
			return err
		}
		return s.auditEntity(ctx, tx, retentionActor, "retention.delete_unsampled", "transcripts", "", retentionDetail(len(deleted), endedBefore,
			func(i int) (string, int64) { return deleted[i].ExternalID, deleted[i].EndedAt }))
	})
	if err != nil {
		return store.RetentionBatch{}, fmt.Errorf("sqlstore: delete unsampled transcripts: %w", err)
	}
	return out, nil
}

// openPickStatuses are the pick statuses that keep a transcript's content:
// someone still has to read it.
const openPickStatuses = `('assigned', 'pool', 'disputed')`

// purgeCandidatesSQL reads the next picks after a retention cursor off
// picks_week, which holds only the few picked chats, in (ended_at, pick
// id) order, its own order.
const purgeCandidatesSQL = `SELECT id, transcript_id, ended_at FROM picks
	WHERE (ended_at, id) > (?, ?) AND ended_at < ?
	ORDER BY ended_at, id LIMIT ?`

// PurgeReviewedTranscripts empties reviewed transcripts (see
// store.RetentionStore). Candidates come off the picks' end-time index
// (purgeCandidatesSQL); a transfer's two picks name the transcript twice,
// which is harmless.
func (s *Store) PurgeReviewedTranscripts(ctx context.Context, after store.RetentionCursor, closedBefore time.Time, limit int) (store.RetentionBatch, error) {
	var out store.RetentionBatch
	err := s.retentionTx(ctx, func(tx *sqlx.Tx) error {
		out = store.RetentionBatch{Next: after}
		var picks []struct {
			ID           int64 `db:"id"`
			TranscriptID int64 `db:"transcript_id"`
			EndedAt      int64 `db:"ended_at"`
		}
		err := tx.SelectContext(ctx, &picks, tx.Rebind(purgeCandidatesSQL),
			after.EndedAt.UnixMilli(), after.ID, closedBefore.UnixMilli(), limit)
		if err != nil || len(picks) == 0 {
			return err
		}
		out.Examined = len(picks)
		last := picks[len(picks)-1]
		out.Next = store.RetentionCursor{EndedAt: fromMillis(last.EndedAt), ID: last.ID}
		ids := make([]int64, 0, len(picks))
		for _, p := range picks {
			ids = append(ids, p.TranscriptID)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if s.dialect == dialectPostgres {
			// Lock the candidates' picks first. Under READ COMMITTED a
			// dispute opened (or a pick reassigned or re-scored) in a
			// transaction still running would otherwise be invisible to
			// the reads below, and its chat emptied under it: locked, the
			// dispute either waits for this batch, or this batch waits
			// for the dispute and the reads below see it.
			q, args, err := sqlx.In(`SELECT id FROM picks WHERE transcript_id IN (?) ORDER BY id FOR SHARE`, ids)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return err
			}
		}
		// A transcript is due when none of its picks is open or changed
		// since the cut-off (a review finalised or re-scored lately).
		q, args, err := sqlx.In(`SELECT t.id, t.external_id, t.ended_at,
			t.purged_at IS NOT NULL OR t.id IN (SELECT transcript_id FROM calibration_items) AS kept,
			EXISTS (SELECT 1 FROM picks o WHERE o.transcript_id = t.id
				AND (o.status IN `+openPickStatuses+` OR o.updated_at >= ?)) AS busy
			FROM transcripts t WHERE t.id IN (?)`, closedBefore.UnixMilli(), ids)
		if err != nil {
			return err
		}
		var states []struct {
			ID         int64  `db:"id"`
			ExternalID string `db:"external_id"`
			EndedAt    int64  `db:"ended_at"`
			Kept       bool   `db:"kept"`
			Busy       bool   `db:"busy"`
		}
		if err := tx.SelectContext(ctx, &states, tx.Rebind(q), args...); err != nil {
			return err
		}
		var due []int64
		var dueIDs []string
		var dueEnded []int64
		for _, st := range states {
			switch {
			case st.Kept: // purged already, or calibration material
			case st.Busy:
				if w := fromMillis(st.EndedAt); out.Waiting.IsZero() || w.Before(out.Waiting) {
					out.Waiting = w
				}
			default:
				due = append(due, st.ID)
				dueIDs = append(dueIDs, st.ExternalID)
				dueEnded = append(dueEnded, st.EndedAt)
			}
		}
		if len(due) == 0 {
			return nil
		}
		// Check hits quote message text and point at messages that are
		// gone; the flags stay for the reports over all chats.
		// Every condition of being due again, in the write itself: a
		// pick opened, a dispute or a calibration item committed since
		// the read above keeps the chat whole.
		q, args, err = sqlx.In(`UPDATE transcripts SET body = ?, customer_id = '', check_hits = NULL, purged_at = ?
			WHERE id IN (?) AND purged_at IS NULL
			AND id NOT IN (SELECT transcript_id FROM calibration_items)
			AND NOT EXISTS (SELECT 1 FROM picks o WHERE o.transcript_id = transcripts.id
				AND (o.status IN `+openPickStatuses+` OR o.updated_at >= ?))
			RETURNING id`, emptyBody, s.now().UnixMilli(), due, closedBefore.UnixMilli())
		if err != nil {
			return err
		}
		var purged []int64
		if err := tx.SelectContext(ctx, &purged, tx.Rebind(q), args...); err != nil {
			return err
		}
		out.Removed = len(purged)
		if len(purged) == 0 {
			return nil
		}
		// Audit what was emptied, not what was found due.
		var auditIDs []string
		var auditEnded []int64
		for i, id := range due {
			if slices.Contains(purged, id) {
				auditIDs = append(auditIDs, dueIDs[i])
				auditEnded = append(auditEnded, dueEnded[i])
			}
		}
		return s.auditEntity(ctx, tx, retentionActor, "retention.purge_reviewed", "transcripts", "", retentionDetail(len(auditIDs), closedBefore,
			func(i int) (string, int64) { return auditIDs[i], auditEnded[i] }))
	})
	if err != nil {
		return store.RetentionBatch{}, fmt.Errorf("sqlstore: purge reviewed transcripts: %w", err)
	}
	return out, nil
}

// retentionAuditDetail is what a removal's audit event holds: how many,
// the cut-off, and the external ids (a batch is small, and an auditor
// asked whether a chat was removed, and when, can answer).
type retentionAuditDetail struct {
	Count       int      `json:"count"`
	Before      string   `json:"before"`
	FirstEnded  string   `json:"first_ended_at"`
	LastEnded   string   `json:"last_ended_at"`
	ExternalIDs []string `json:"external_ids"`
}

func retentionDetail(n int, before time.Time, row func(i int) (string, int64)) retentionAuditDetail {
	d := retentionAuditDetail{Count: n, Before: before.UTC().Format(time.RFC3339), ExternalIDs: make([]string, n)}
	var first, last int64
	for i := range n {
		id, ended := row(i)
		d.ExternalIDs[i] = id
		if i == 0 || ended < first {
			first = ended
		}
		if i == 0 || ended > last {
			last = ended
		}
	}
	d.FirstEnded = fromMillis(first).Format(time.RFC3339)
	d.LastEnded = fromMillis(last).Format(time.RFC3339)
	return d
}
