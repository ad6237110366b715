package store

import (
	"context"
	"time"
)

// AuditEvent is one entry of the audit trail: who did what to which
// record, and when. Detail is JSON.
type AuditEvent struct {
	ID       int64
	At       time.Time
	Actor    string
	Action   string // e.g. "review.finalize"
	Entity   string // e.g. "review"
	EntityID string
	Detail   string
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	Actor    string
	Entity   string
	EntityID string
	AfterID  int64
	Limit    int
}

// AuditStore reads the audit trail that every write of scoring, and the
// return of an inspector's items, appends to in its own transaction.
// Events are never changed or deleted.
type AuditStore interface {
	// ListAudit returns audit events matching f in ID order.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}
