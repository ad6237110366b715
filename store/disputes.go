package store

import "time"

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
