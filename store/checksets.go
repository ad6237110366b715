package store

import (
	"context"
	"time"
)

// CheckSetVersion is one immutable version of the automatic checks'
// configuration (SPEC §6). Document is JSON (package checks defines it);
// the store does not interpret it.
type CheckSetVersion struct {
	Version   int64
	Document  []byte
	CreatedBy string
	CreatedAt time.Time
}

// CheckSetStore keeps the versions of the check set, as PolicyStore keeps
// the sampling policy's: immutable, never deleted, every stored check
// result names the version that computed it (transcript.Checks.Version).
type CheckSetStore interface {
	// AddCheckSetVersion stores document as the next version (audited as
	// checks.create by createdBy) and returns it. If the latest version
	// holds the same bytes, that one is returned and nothing is stored.
	AddCheckSetVersion(ctx context.Context, document []byte, createdBy string) (CheckSetVersion, error)
	// LatestCheckSet returns the newest version; ErrNotFound if none.
	LatestCheckSet(ctx context.Context) (CheckSetVersion, error)
	// GetCheckSet returns one version; ErrNotFound if unknown.
	GetCheckSet(ctx context.Context, version int64) (CheckSetVersion, error)
}
