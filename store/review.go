package store

import (
	"context"
)

// Records of scoring (SPEC §2 steps 4–6, disputes, §5): rubric versions,
// reviews, the feedback records they send to supervisors, disputes and the
// audit trail. Package scoring defines rubrics and computes scores; the
// store keeps what it decided.

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
