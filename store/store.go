package store

import (
	"context"
	"errors"
	"time"

	"qa-sampling/transcript"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored (duplicate key, ...).
	ErrConflict = errors.New("conflict")
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

// Store is the persistence contract. Every method is safe for concurrent use.
// Every write that returns nil is durable (committed) when it returns.
type Store interface {
	// Ready reports whether the store can serve: connected, schema current.
	Ready(ctx context.Context) error
	Close() error

	// UpsertAgents creates or updates agents by AgentID, all in one
	// transaction, and returns one outcome per input, in input order.
	// Inputs must be valid and have distinct AgentIDs. An agent given
	// another supervisor takes its feedback records along (their
	// SupervisorID), in the same transaction.
	UpsertAgents(ctx context.Context, agents []Agent) ([]Outcome, error)
	// EnsureAgents creates a minimal active agent for each id not yet known
	// and leaves known ones untouched.
	EnsureAgents(ctx context.Context, agentIDs []string) error
	// ExistingAgents returns the subset of ids that are known agents.
	ExistingAgents(ctx context.Context, agentIDs []string) (map[string]bool, error)
	// GetAgent returns ErrNotFound for an unknown id.
	GetAgent(ctx context.Context, agentID string) (Agent, error)
	// ListAgents returns every agent, active or not, by id.
	ListAgents(ctx context.Context) ([]Agent, error)

	// UpsertTranscripts stores prepared transcripts in one transaction, keyed
	// by ExternalID, and returns one outcome per input in input order:
	// Created, Updated (content hash differs), Unchanged (same hash) or
	// KeptSampled (hash differs but the stored one is sampled; not written).
	// Inputs must have distinct ExternalIDs and reference known agents.
	// On error nothing of the batch is written.
	UpsertTranscripts(ctx context.Context, items []*transcript.Prepared) ([]Outcome, error)
	// GetTranscript returns ErrNotFound for an unknown external id.
	GetTranscript(ctx context.Context, externalID string) (StoredTranscript, error)
	// MarkSampled freezes transcripts so later pushes keep the sampled
	// version. Unknown ids are ignored.
	MarkSampled(ctx context.Context, externalIDs []string) error

	// Dictionaries returns every stored body compression dictionary,
	// oldest first.
	Dictionaries(ctx context.Context) ([]transcript.Dictionary, error)
	// AddDictionary stores a dictionary; ErrConflict if its id exists.
	// Dictionaries are never removed: stored bodies name theirs.
	AddDictionary(ctx context.Context, d transcript.Dictionary) error
	// SampleBodies returns the bodies of up to n most recently stored
	// transcripts, to train a dictionary on.
	SampleBodies(ctx context.Context, n int) ([][]byte, error)

	// CreateToken stores a new token; ErrConflict if the id exists.
	CreateToken(ctx context.Context, t Token) error
	// GetToken returns ErrNotFound for an unknown id (revoked ones are
	// returned with RevokedAt set).
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns all tokens, oldest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken sets RevokedAt; ErrNotFound for an unknown id. Revoking a
	// revoked token keeps its first revocation time.
	RevokeToken(ctx context.Context, id string, at time.Time) error
}
