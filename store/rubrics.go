package store

import (
	"context"
	"time"
)

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

// RubricStore keeps the versions of the scoring rubric. A version is
// locked once a review uses it; versions are never deleted. Every write
// records its audit events in the same transaction.
type RubricStore interface {
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
}
