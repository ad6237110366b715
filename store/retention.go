package store

import (
	"context"
	"time"
)

// RetentionCursor is where a retention scan resumes: after the row with
// this end time and id, in (end time, id) order. The zero cursor starts
// at the beginning.
type RetentionCursor struct {
	EndedAt time.Time
	ID      int64
}

// RetentionBatch is what one retention call did.
type RetentionBatch struct {
	// Removed is how many transcripts were deleted (unsampled) or emptied
	// (reviewed).
	Removed int
	// Examined is how many candidates the call looked at; 0 means the
	// range up to the cut-off is exhausted.
	Examined int
	// Next is the cursor after the last candidate examined.
	Next RetentionCursor
	// Waiting is the earliest end time of a picked transcript examined
	// but not yet due (a pick still open, or changed since the cut-off);
	// zero if none. A later pass starts there again.
	Waiting time.Time
}

// RetentionStore removes chats kept long enough (SPEC §7, Privacy). Each
// call is one short write transaction over at most limit candidates, so
// that ingest waits for no more than one small batch, and records one
// audit event (actor "retention") when it removed anything. Reports are
// untouched: they rest on report cells and reviews, which stay, and on
// check counts, which deleted chats leave behind.
//
// On PostgreSQL one replica at a time does this work: a call made while
// another replica's call is in its transaction returns ErrConflict.
type RetentionStore interface {
	// DeleteUnsampledTranscripts deletes the transcripts after cursor that
	// ended before endedBefore and that no run picked (nor MarkSampled
	// froze), with everything that hangs on them. Chats in calibration
	// sessions are kept, by both methods. In the same transaction the
	// deleted chats' check counts move to where CountCheckFlags still
	// counts them, so the check rates of their weeks stay as they were.
	DeleteUnsampledTranscripts(ctx context.Context, after RetentionCursor, endedBefore time.Time, limit int) (RetentionBatch, error)
	// PurgeReviewedTranscripts empties picked transcripts whose picks are
	// all closed (reviewed or skipped) and unchanged since closedBefore:
	// messages, attributes and customer id are removed and PurgedAt set.
	// The row stays, since picks, reviews, feedback and disputes refer
	// to it; a later push of its id does not bring the content back (it
	// is frozen as any picked transcript). Candidates are taken from the
	// picks in (pick end time, pick id) order after cursor, for chats
	// that ended before closedBefore.
	PurgeReviewedTranscripts(ctx context.Context, after RetentionCursor, closedBefore time.Time, limit int) (RetentionBatch, error)
}
