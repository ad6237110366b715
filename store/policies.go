package store

import (
	"context"
	"time"
)

// PolicyVersion is one immutable version of the sampling policy. Document
// is the policy as JSON (package sampler defines it); the store does not
// interpret it.
type PolicyVersion struct {
	Version   int64
	Document  []byte
	CreatedBy string
	CreatedAt time.Time
}

// PolicyStore keeps the versions of the sampling policy. Versions are
// immutable and never deleted: every run names the one it used.
type PolicyStore interface {
	// AddPolicyVersion stores document as the next version and returns it.
	// If the latest version holds the same bytes, that one is returned and
	// nothing is stored: replicas storing the same default on first use
	// must agree on one version.
	AddPolicyVersion(ctx context.Context, document []byte, createdBy string) (PolicyVersion, error)
	// LatestPolicy returns the newest version; ErrNotFound if none.
	LatestPolicy(ctx context.Context) (PolicyVersion, error)
	// GetPolicy returns one version; ErrNotFound if unknown.
	GetPolicy(ctx context.Context, version int64) (PolicyVersion, error)
}
