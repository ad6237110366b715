package store

import (
	"context"
	"errors"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored (duplicate key, ...).
	ErrConflict = errors.New("conflict")
	// ErrTransient: a lock conflict (a deadlock or serialization failure
	// on PostgreSQL, a busy SQLite file) outlasted the backend's own
	// retries; nothing was written, and the same work may be tried again.
	ErrTransient = errors.New("transient lock conflict")
	// ErrSchemaOutdated: the database schema is older than this binary needs.
	ErrSchemaOutdated = errors.New("database schema is older than this binary needs; run `qad migrate`")
)

// Outcome is what an upsert did to one item.
type Outcome int

// Outcomes of an upsert.
const (
	// Created: the item was new.
	Created Outcome = iota + 1
	// Updated: the item existed and its content changed.
	Updated
	// Unchanged: the item existed with identical content; nothing written.
	Unchanged
	// KeptSampled: the item changed but is already sampled, so the stored
	// (sampled) version was kept.
	KeptSampled
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	case KeptSampled:
		return "kept_sampled"
	}
	return "unknown"
}

// Store is the whole persistence contract: what a backend provides, each
// capability in the file of its name. Callers that need only some of it
// take the narrower interfaces. Every method is safe for concurrent use,
// also across processes sharing one database, and every write that
// returns nil is durable (committed) when it returns.
type Store interface {
	// Ready reports whether the store can serve: connected, schema current.
	Ready(ctx context.Context) error
	// Close releases the store's connections; no method may be called after.
	Close() error

	AgentStore
	TranscriptStore
	DictionaryStore
	TokenStore
	SessionStore

	InspectorStore
	PolicyStore
	CheckSetStore
	CheckStatsStore
	RunStore
	TopUpStore
	PickStore

	RubricStore
	ReviewStore
	FeedbackStore
	DisputeStore
	ReportStore
	SeverityStore
	AuditStore
	CalibrationStore

	BacklogStore
	RetentionStore
	PseudonymKeyStore
}
