package store

import (
	"context"
	"qa-sampling/transcript"
	"time"
)

// StoredTranscript is a transcript as the store holds it.
type StoredTranscript struct {
	transcript.Transcript
	Metrics  transcript.Metrics
	AgentIDs []string
	// Checks are the automatic checks' findings as stored with it.
	Checks     transcript.Checks
	Revision   int64
	Sampled    bool
	IngestedAt time.Time
	UpdatedAt  time.Time
	// PurgedAt is when retention emptied the transcript (its messages,
	// attributes and customer id are gone); zero if it has not.
	PurgedAt time.Time
}

// TranscriptStore keeps the pushed conversations. A transcript, once
// sampled, is frozen: later pushes of its id do not change it.
type TranscriptStore interface {
	// UpsertTranscripts stores prepared transcripts in one transaction, keyed
	// by ExternalID, and returns one outcome per input in input order:
	// Created, Updated (content hash differs), Unchanged (same hash) or
	// KeptSampled (hash differs but the stored one is sampled or in a
	// calibration session; not written).
	// Inputs must have distinct ExternalIDs and reference known agents.
	// On error nothing of the batch is written.
	UpsertTranscripts(ctx context.Context, items []*transcript.Prepared) ([]Outcome, error)
	// GetTranscript returns ErrNotFound for an unknown external id.
	GetTranscript(ctx context.Context, externalID string) (StoredTranscript, error)
	// MarkSampled freezes transcripts so later pushes keep the sampled
	// version. Unknown ids are ignored.
	MarkSampled(ctx context.Context, externalIDs []string) error
}
