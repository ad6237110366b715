package store

import (
	"qa-sampling/transcript"
	"time"
)

// StoredTranscript is a transcript as the store holds it.
type StoredTranscript struct {
	transcript.Transcript
	Metrics    transcript.Metrics
	AgentIDs   []string
	Revision   int64
	Sampled    bool
	IngestedAt time.Time
	UpdatedAt  time.Time
}
