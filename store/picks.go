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

// OpenItems is one inspector's open work.
type OpenItems struct {
	Assigned int // picks assigned to them, not finalised
	Disputed int // disputed picks waiting for them to re-score
}

// PickMove is one pick to move from inspector From to inspector To; ""
// is the pool on either side.
type PickMove struct {
	PickID   int64
	From, To string
}

// MoveNote is who moved open items and why, for the audit trail.
type MoveNote struct {
	Actor  string
	Reason string // may be empty
	Bulk   bool   // part of moving all of one inspector's items
}

// Reassignment is an admin's (or a deactivation's) move of open picks.
type Reassignment struct {
	MoveNote
	Moves []PickMove
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
	// Workload returns the open items of each inspector who holds any,
	// active or not, and the number of picks in the pool.
	Workload(ctx context.Context) (map[string]OpenItems, int, error)
	// ReassignPicks makes each move whose pick is still open with From
	// (assigned to From, or in the pool when From is ""), in one
	// transaction with one pick.reassign audit event per moved pick. It
	// returns the moved picks as they are now; a pick that changed
	// meanwhile (finalised, skipped, disputed, moved) is left alone and
	// not returned. Disputed picks move with ReassignDispute.
	ReassignPicks(ctx context.Context, r Reassignment) ([]Pick, error)
	// RecentInspectorsOf returns the inspectors of agentID's picks, newest
	// first, at most limit.
	RecentInspectorsOf(ctx context.Context, agentID string, limit int) ([]string, error)
	// RecentInspectorsOfAgents is RecentInspectorsOf for each of agentIDs
	// in one call (a run assigns the picks of thousands of agents); agents
	// with no inspector are absent from the map.
	RecentInspectorsOfAgents(ctx context.Context, agentIDs []string, limit int) (map[string][]string, error)
	// UpdatePick changes a pick's inspector, status and skip reason, only
	// if its status is still from; ErrConflict otherwise.
	UpdatePick(ctx context.Context, id int64, from PickStatus, p Pick) (Pick, error)
	// AddPick adds one pick to a completed run (a skip's replacement) and
	// marks its transcript sampled.
	AddPick(ctx context.Context, p Pick) (Pick, error)
}
