// Package dispute holds the rules for contesting a final review (SPEC §2,
// disputes): who may open one when, and who re-scores it. Pure: the caller
// supplies the review, the clock and the inspectors' loads and history.
package dispute

import (
	"fmt"
	"time"

	"qa-sampling/assign"
)

// Contested is what the rules look at of the review a supervisor contests.
type Contested struct {
	ReviewID    int64
	InspectorID string // who wrote it; never re-scores it
	FinalizedAt time.Time
	// SupersededByID is set once a dispute retracted the review.
	SupersededByID int64
	// OpenDisputeID is the review's open dispute; 0 if none.
	OpenDisputeID int64
}

// RetractedError: the review was replaced after an earlier dispute; the
// replacement is what to contest.
type RetractedError struct{ ReviewID, SupersededByID int64 }

func (e *RetractedError) Error() string {
	return fmt.Sprintf("review %d was retracted and replaced by review %d; dispute that one", e.ReviewID, e.SupersededByID)
}

// WindowClosedError: the dispute window after finalising has passed.
type WindowClosedError struct {
	ReviewID int64
	Closed   time.Time
	Window   time.Duration
}

func (e *WindowClosedError) Error() string {
	return fmt.Sprintf("the dispute window of review %d closed at %s (%s after it was finalised)",
		e.ReviewID, e.Closed.UTC().Format(time.RFC3339), e.Window)
}

// AlreadyOpenError: one open dispute per review at a time.
type AlreadyOpenError struct{ ReviewID, DisputeID int64 }

func (e *AlreadyOpenError) Error() string {
	return fmt.Sprintf("review %d already has open dispute %d", e.ReviewID, e.DisputeID)
}

// CheckOpen returns nil if a dispute may be opened on c at now: the review
// is not retracted, now is within window of its finalising, and it has no
// open dispute. Otherwise one of the errors above.
func CheckOpen(c Contested, now time.Time, window time.Duration) error {
	if c.SupersededByID != 0 {
		return &RetractedError{ReviewID: c.ReviewID, SupersededByID: c.SupersededByID}
	}
	if closes := c.FinalizedAt.Add(window); now.After(closes) {
		return &WindowClosedError{ReviewID: c.ReviewID, Closed: closes, Window: window}
	}
	if c.OpenDisputeID != 0 {
		return &AlreadyOpenError{ReviewID: c.ReviewID, DisputeID: c.OpenDisputeID}
	}
	return nil
}

// Assignee chooses who re-scores c, by the assignment rules (package
// assign: never the agent's supervisor, rotation, least loaded) and never
// the inspector who wrote the contested review: a second opinion must be
// someone else's. loads are the active inspectors' open items, recent the
// agent's recent inspectors, newest first. "" if no one may.
func Assignee(c Contested, loads map[string]int, supervisorID string, recent []string) string {
	return assign.Other(loads, supervisorID, recent, c.InspectorID)
}
