package store

import (
	"context"
	"time"
)

// DisputeStatus is where a dispute is.
type DisputeStatus string

// Dispute statuses.
const (
	DisputeOpen     DisputeStatus = "open"
	DisputeResolved DisputeStatus = "resolved"
)

// Dispute is a supervisor contesting a final review.
type Dispute struct {
	ID       int64
	ReviewID int64
	PickID   int64  // filled by the store
	AgentID  string // filled by the store
	OpenedBy string
	Reason   string
	// AssigneeID is the inspector who re-scores; never the original one.
	AssigneeID string
	Status     DisputeStatus
	// ResolutionID is the review that superseded the disputed one.
	ResolutionID int64
	OpenedAt     time.Time
	ResolvedAt   time.Time
}

// DisputeFilter selects disputes; zero fields match everything.
type DisputeFilter struct {
	SupervisorID string // disputes on the agents this supervisor supervises now
	AssigneeID   string
	PickID       int64
	Status       DisputeStatus
	// BeforeID and Limit page through results newest first: disputes with
	// a smaller id, at most Limit (0: all).
	BeforeID int64
	Limit    int
}

// DisputeStore keeps supervisors' disputes of final reviews. A dispute is
// resolved by ReviewStore.FinalizeReview of its re-scoring. Every write
// records its audit events in the same transaction.
type DisputeStore interface {
	// OpenDispute opens d on a final review and moves its pick into the
	// assignee's queue as disputed. ErrConflict if the review is not final
	// or already has an open dispute.
	OpenDispute(ctx context.Context, d Dispute) (Dispute, error)
	// ReassignDispute moves open dispute id, and its disputed pick, from
	// inspector from to inspector to, audited with note (dispute.reassign).
	// ErrConflict unless the dispute is open and assigned to from.
	ReassignDispute(ctx context.Context, id int64, from, to string, note MoveNote) (Dispute, error)
	// GetDispute returns ErrNotFound for an unknown id.
	GetDispute(ctx context.Context, id int64) (Dispute, error)
	// ListDisputes returns disputes matching f, newest first.
	ListDisputes(ctx context.Context, f DisputeFilter) ([]Dispute, error)
}
