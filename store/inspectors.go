package store

import (
	"context"
	"time"
)

// Inspector is a QA inspector who scores picked conversations.
type Inspector struct {
	ID        string
	Name      string
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InspectorStore keeps the inspector directory. Inspectors are never
// deleted, only deactivated.
type InspectorStore interface {
	// UpsertInspector creates or updates an inspector by ID and audits
	// the change as actor (inspector.create, inspector.update or
	// inspector.deactivate); Unchanged writes nothing.
	UpsertInspector(ctx context.Context, in Inspector, actor string) (Outcome, error)
	// ListInspectors returns all inspectors by ID.
	ListInspectors(ctx context.Context) ([]Inspector, error)
	// GetInspector returns ErrNotFound for an unknown id.
	GetInspector(ctx context.Context, id string) (Inspector, error)
}
