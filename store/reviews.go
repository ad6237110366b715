package store

import "time"

// ReviewStatus is where a review is in its life.
type ReviewStatus string

// Review statuses.
const (
	ReviewDraft     ReviewStatus = "draft"
	ReviewFinal     ReviewStatus = "final"
	ReviewRetracted ReviewStatus = "retracted" // superseded after a dispute
)

// Rating is one dimension's result in a review. Max, Failing and Critical
// are computed by the server and stored with the rating so that reports
// never need the rubric; Percent is derived from Value and Max when read.
type Rating struct {
	Key      string
	Value    int
	NA       bool
	Comment  string
	Max      int
	Percent  float64
	Failing  bool
	Critical bool
}

// Review is one inspector's scoring of one pick (one agent's part of a
// conversation).
type Review struct {
	ID            int64
	PickID        int64
	ExternalID    string // filled by the store
	AgentID       string // filled by the store
	Week          string // the pick's run's week, filled by the store
	InspectorID   string
	RubricVersion int64
	Status        ReviewStatus
	Ratings       []Rating
	Flags         []string
	Comment       string
	Strengths     []string
	Suggestions   []string
	// Score, Grade and Critical are computed by the server on finalise;
	// zero on drafts.
	Score    float64
	Grade    string
	Critical bool
	// DisputeID is the dispute this review re-scores; 0 if none.
	DisputeID int64
	// SupersedesID is the retracted review this one replaced; 0 if none.
	SupersedesID int64
	// SupersededByID is set once this review is retracted.
	SupersededByID int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	FinalizedAt    time.Time
}
