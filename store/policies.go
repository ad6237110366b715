package store

import "time"

// PolicyVersion is one immutable version of the sampling policy. Document
// is the policy as JSON (package sampler defines it); the store does not
// interpret it.
type PolicyVersion struct {
	Version   int64
	Document  []byte
	CreatedBy string
	CreatedAt time.Time
}
