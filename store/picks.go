package store

import "time"

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
