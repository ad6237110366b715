package store

import "time"

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
