package store

import (
	"context"
	"time"
)

// Records of scoring (SPEC §2 steps 4–6, disputes, §5): rubric versions,
// reviews, the feedback records they send to supervisors, disputes and the
// audit trail. Package scoring defines rubrics and computes scores; the
// store keeps what it decided.

// RubricVersion is one version of the scoring rubric. Document is the
// rubric as JSON (package scoring defines it); the store does not
// interpret it.
type RubricVersion struct {
	Version   int64
	Document  []byte
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Locked: some review uses this version, so it can no longer change.
	Locked bool
	// Active: new reviews are scored against this version.
	Active bool
}

// ReviewStatus is where a review is in its life.
type ReviewStatus string

// Review statuses.
const (
	ReviewDraft     ReviewStatus = "draft"
	ReviewFinal     ReviewStatus = "final"
	ReviewRetracted ReviewStatus = "retracted" // superseded after a dispute
)

// Pick statuses that scoring adds to sampling's.
const (
	PickReviewed PickStatus = "reviewed" // a final review exists
	PickDisputed PickStatus = "disputed" // re-scoring after a dispute, in the assignee's queue
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
	// AfterID and Limit page through results in ID order.
	AfterID int64
	Limit   int
}

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

// AuditEvent is one entry of the audit trail: who did what to which
// record, and when. Detail is JSON.
type AuditEvent struct {
	ID       int64
	At       time.Time
	Actor    string
	Action   string // e.g. "review.finalize"
	Entity   string // e.g. "review"
	EntityID string
	Detail   string
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	Actor    string
	Entity   string
	EntityID string
	AfterID  int64
	Limit    int
}

// ReportRow is what reports read of one counted review.
type ReportRow struct {
	AgentID  string
	Week     string
	Score    float64
	Critical bool
	Flags    []string
	Ratings  []Rating // Key, Value, NA, Max, Percent, Failing, Critical; no comments
}

// ReportFilter selects the final reviews a report counts: those of the
// given agents in weeks [FromWeek, ToWeek] (ISO week strings).
type ReportFilter struct {
	AgentIDs []string
	FromWeek string
	ToWeek   string
}

// ReviewStore is the persistence of scoring. Every method is safe for
// concurrent use, also across processes sharing one database, and every
// write records its audit events in the same transaction.
type ReviewStore interface {
	// EnsureRubric stores document as version 1 and activates it if no
	// rubric exists yet, and returns the active version either way:
	// replicas starting at once agree on one default.
	EnsureRubric(ctx context.Context, document []byte, actor string) (RubricVersion, error)
	// AddRubric stores document as the next version, active if activate.
	AddRubric(ctx context.Context, document []byte, activate bool, actor string) (RubricVersion, error)
	// UpdateRubric replaces the document of an unlocked version;
	// ErrConflict once a review uses it, ErrNotFound if unknown.
	UpdateRubric(ctx context.Context, version int64, document []byte, actor string) (RubricVersion, error)
	// ActivateRubric makes version the one new reviews use.
	ActivateRubric(ctx context.Context, version int64, actor string) (RubricVersion, error)
	// GetRubric returns one version, or the active one for version 0.
	GetRubric(ctx context.Context, version int64) (RubricVersion, error)
	// ListRubrics returns every version, oldest first.
	ListRubrics(ctx context.Context) ([]RubricVersion, error)

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
	// DraftOf returns inspectorID's draft of pickID; ErrNotFound if none.
	DraftOf(ctx context.Context, pickID int64, inspectorID string) (Review, error)

	// ListFeedback returns records matching f in ID order.
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

	// OpenDispute opens d on a final review and moves its pick into the
	// assignee's queue as disputed. ErrConflict if the review is not final
	// or already has an open dispute.
	OpenDispute(ctx context.Context, d Dispute) (Dispute, error)
	// ReassignDispute moves open dispute id, and its disputed pick, from
	// inspector from to inspector to, audited as actor. ErrConflict unless
	// the dispute is open and assigned to from.
	ReassignDispute(ctx context.Context, id int64, from, to, actor string) (Dispute, error)
	// GetDispute returns ErrNotFound for an unknown id.
	GetDispute(ctx context.Context, id int64) (Dispute, error)
	// ListDisputes returns disputes matching f, newest first.
	ListDisputes(ctx context.Context, f DisputeFilter) ([]Dispute, error)

	// ReportRows returns the final reviews f selects.
	ReportRows(ctx context.Context, f ReportFilter) ([]ReportRow, error)

	// ListAudit returns audit events matching f in ID order.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}
