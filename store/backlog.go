package store

import (
	"context"
	"time"
)

// OpenPickStatuses are the statuses of a pick still waiting for an
// inspector's final review.
var OpenPickStatuses = []PickStatus{PickAssigned, PickPool, PickDisputed}

// Backlog is the work waiting in the inspection workflow at one moment,
// for an operator's dashboard.
type Backlog struct {
	// OpenPicks counts the picks in each of OpenPickStatuses; a status
	// without picks may be absent.
	OpenPicks map[PickStatus]int64
	// UnackedFeedback counts feedback records no supervisor acknowledged.
	UnackedFeedback int64
	// OldestUnacked is when the oldest of them was created; zero if none.
	OldestUnacked time.Time
	// OpenDisputes counts disputes not yet resolved.
	OpenDisputes int64
}

// BacklogStore answers what a metrics scrape asks of stored state.
type BacklogStore interface {
	// Backlog counts the open work with one query whose cost follows the
	// open work, not the history: it runs on every metrics scrape.
	Backlog(ctx context.Context) (Backlog, error)
}
