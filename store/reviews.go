package store

import (
	"context"
	"time"
)

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

// ReviewFilter selects reviews; zero fields match everything.
type ReviewFilter struct {
	InspectorID string
	// Finalised selects final and retracted reviews: every review once
	// finalised, drafts left out.
	Finalised bool
	// BeforeID and Limit page through results newest (highest ID) first.
	BeforeID int64
	Limit    int
}

// ReviewStore keeps inspectors' drafts and final reviews. Every write
// records its audit events in the same transaction.
type ReviewStore interface {
	// SaveDraft creates or replaces r.InspectorID's draft of pick r.PickID
	// and locks its rubric version. ErrConflict unless the pick is in that
	// inspector's queue (assigned, or disputed to them).
	SaveDraft(ctx context.Context, r Review) (Review, error)
	// FinalizeReview stores r as the pick's final review, replacing the
	// inspector's draft, and in the same transaction writes fb (its Review
	// is ignored) as the feedback record, marks the pick reviewed and, if
	// r.DisputeID is set, retracts the disputed review and resolves the
	// dispute. ErrConflict unless the pick is in r.InspectorID's queue or
	// if it already has a final review that is not being disputed.
	FinalizeReview(ctx context.Context, r Review, fb Feedback) (Review, Feedback, error)
	// GetReview returns ErrNotFound for an unknown id.
	GetReview(ctx context.Context, id int64) (Review, error)
	// ListReviews returns reviews matching f, highest ID first.
	ListReviews(ctx context.Context, f ReviewFilter) ([]Review, error)
	// FinalReviewOf returns pickID's final review; ErrNotFound if none.
	FinalReviewOf(ctx context.Context, pickID int64) (Review, error)
	// DraftOf returns inspectorID's draft of pickID; ErrNotFound if none.
	DraftOf(ctx context.Context, pickID int64, inspectorID string) (Review, error)
}
