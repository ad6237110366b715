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
	Action   string
	Entity   string
	EntityID string
	// Since and Until bound At: Since <= At < Until.
	Since   time.Time
	Until   time.Time
	AfterID int64
	// NewestFirst orders by ID descending (a log read from its end);
	// BeforeID then pages: events with a smaller ID.
	NewestFirst bool
	BeforeID    int64
	Limit       int
}

// AuditStore reads the audit trail that every change of the programme
// appends to in its own transaction: rubrics, policies, runs, inspectors,
// tokens, reviews, feedback, disputes and the picks moved between
// inspectors. Events are never changed or deleted.
type AuditStore interface {
	// ListAudit returns audit events matching f in ID order, descending
	// when f.NewestFirst.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}
