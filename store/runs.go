package store

import "time"

// Run is one sampling of one ISO week under one policy version. (Week,
// PolicyVersion) is unique: asking again returns the same run.
type Run struct {
	ID            int64
	Week          string // ISO week, "2026-W47"
	PolicyVersion int64
	Seed          []byte
	Trigger       string // "schedule" or "manual:<subject>"
	CreatedAt     time.Time
	// CompletedAt is zero while the picks are being written.
	CompletedAt time.Time
	Picks       int
	Shortfalls  int
}

// SampleRow is what sampling reads of one transcript: the fields the
// rules look at, not the messages.
type SampleRow struct {
	ExternalID        string
	AgentIDs          []string // authors, the owning agent first
	Channel           string
	CustomerTier      string
	Tags              []string
	CSAT              int
	TransferCount     int
	HandleTime        time.Duration
	EndedAt           time.Time
	MessageCount      int
	AgentMessageCount int
	CustomerMessages  int
}
