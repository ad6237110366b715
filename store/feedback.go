package store

import (
	"context"
	"time"
)

// Feedback is the record a final review sends to the agent's supervisor
// (SPEC §2 step 5). Its ID is also the delivery cursor: records are
// committed in ID order, so "everything after ID n" never misses one.
type Feedback struct {
	ID int64
	// Review is the final review the record reports.
	Review Review
	// SupervisorID is the agent's current supervisor, who owns the record:
	// it follows the agent when the agent moves (UpsertAgents). TeamID is
	// the agent's team when the record was written.
	SupervisorID     string
	TeamID           string
	CoachingRequired bool
	ShareAsExample   bool
	// SupersedesID is the earlier record of the same item, whose review
	// a dispute retracted; 0 if none.
	SupersedesID   int64
	CreatedAt      time.Time
	AcknowledgedAt time.Time // zero until acknowledged
	AcknowledgedBy string
	CoachingNote   string
	// AgentName is the agent's directory name when read (filled by the
	// store); empty when the directory has none.
	AgentName string
}

// FeedbackFilter selects feedback records; zero fields match everything.
type FeedbackFilter struct {
	// SupervisorID selects the records of the agents this supervisor
	// supervises now, also those written before an agent moved to them:
	// the current supervisor owns an agent's whole history (README, "Who
	// sees what").
	SupervisorID   string
	AgentID        string
	Week           string
	Grade          string
	Unacknowledged bool
	// Acknowledged selects the acknowledged records only.
	Acknowledged bool
	// SupersedesID selects the record that replaced this one.
	SupersedesID int64
	// AfterID and Limit page through results in ID order.
	AfterID int64
	Limit   int
	// NewestFirst orders by ID descending (an inbox); BeforeID then pages
	// (records with a smaller ID).
	NewestFirst bool
	BeforeID    int64
}

// FeedbackStore reads and acknowledges the feedback records that
// ReviewStore.FinalizeReview writes. Records are never deleted. Every
// write records its audit events in the same transaction.
type FeedbackStore interface {
	// ListFeedback returns records matching f in ID order, or newest
	// first when f.NewestFirst.
	ListFeedback(ctx context.Context, f FeedbackFilter) ([]Feedback, error)
	// GetFeedback returns ErrNotFound for an unknown id.
	GetFeedback(ctx context.Context, id int64) (Feedback, error)
	// LastFeedbackID is the highest record ID among the records of the
	// agents supervisorID supervises now ("" for all records), 0 if none.
	LastFeedbackID(ctx context.Context, supervisorID string) (int64, error)
	// AcknowledgeFeedback marks a record acknowledged by actor (keeping the
	// first time if it already was) and sets the coaching note if note is
	// not empty.
	AcknowledgeFeedback(ctx context.Context, id int64, actor, note string) (Feedback, error)
}
