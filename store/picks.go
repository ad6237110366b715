package store

import (
	"context"
	"time"
)

// PickStatus is where a pick is in the inspection workflow.
type PickStatus string

// Pick statuses.
const (
	PickAssigned PickStatus = "assigned" // in an inspector's queue
	PickPool     PickStatus = "pool"     // released, or no inspector could take it
	PickSkipped  PickStatus = "skipped"  // skipped with a reason; replaced if possible
)

// Pick statuses that scoring adds to sampling's.
const (
	PickReviewed PickStatus = "reviewed" // a final review exists
	PickDisputed PickStatus = "disputed" // re-scoring after a dispute, in the assignee's queue
)

// Pick is one picked (conversation, agent) of a run.
type Pick struct {
	ID         int64
	RunID      int64
	ExternalID string
	AgentID    string
	// Reason is "random" or the targeted rule's name.
	Reason string
	// Rank orders the picks of one agent within a run.
	Rank int
	// Key is the keyed hash the pick was chosen by (see package sampler).
	Key         uint64
	InspectorID string // empty in the pool
	Status      PickStatus
	SkipReason  string
	// ReplacesID is the pick this one replaced after a skip; 0 if none.
	ReplacesID int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PickFilter selects picks; zero fields match everything.
type PickFilter struct {
	RunID       int64
	Week        string
	AgentID     string
	Reason      string
	InspectorID string
	Status      PickStatus
	// AfterID and Limit page through results in id order.
	AfterID int64
	Limit   int
}

// PickStore keeps the picks of completed runs as they move through the
// inspection workflow. A pick's status changes only from the status its
// writer saw, so two concurrent changes of one pick never both succeed.
type PickStore interface {
	// ListPicks returns picks matching f in id order.
	ListPicks(ctx context.Context, f PickFilter) ([]Pick, error)
	// InspectorLoads returns, per active inspector, how many picks are
	// assigned to them (status assigned); inspectors with none map to 0.
	InspectorLoads(ctx context.Context) (map[string]int, error)
	// RecentInspectorsOf returns the inspectors of agentID's picks, newest
	// first, at most limit.
	RecentInspectorsOf(ctx context.Context, agentID string, limit int) ([]string, error)
	// UpdatePick changes a pick's inspector, status and skip reason, only
	// if its status is still from; ErrConflict otherwise.
	UpdatePick(ctx context.Context, id int64, from PickStatus, p Pick) (Pick, error)
	// AddPick adds one pick to a completed run (a skip's replacement) and
	// marks its transcript sampled.
	AddPick(ctx context.Context, p Pick) (Pick, error)
}
