package store

import (
	"context"
	"time"
)

// Agent is a customer-service agent from the source system's directory.
type Agent struct {
	AgentID      string
	Name         string
	TeamID       string
	SupervisorID string
	// HiredOn is a calendar date ("2006-01-02"); empty when unknown.
	HiredOn   string
	Active    bool
	UpdatedAt time.Time
}

// AgentStore keeps the agent directory (SPEC §1), imported from the source
// system. Agents are never deleted.
type AgentStore interface {
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
}
