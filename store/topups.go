package store

import (
	"context"
	"time"
)

// TopUp is one top-up of a completed run (SPEC §2 step 2): the picks that
// chats ingested after the run, or after its last top-up, made possible,
// with the run's seed and policy version.
type TopUp struct {
	ID    int64
	RunID int64
	// Seq numbers the run's top-ups 1, 2, ...
	Seq       int
	Trigger   string // "schedule" or "manual:<subject>"
	CreatedAt time.Time
	// Picks is how many this top-up added; Shortfalls how many of the
	// run's agents were still short of their quota after it.
	Picks      int
	Shortfalls int
	// Considered counts the transcripts it read: those ingested since.
	Considered int
	// ScannedThrough is the transcript id it read up to (RunBasis).
	ScannedThrough int64
}

// RunBasis is what a run's next top-up starts from.
type RunBasis struct {
	// ScannedThrough is a transcript id such that every transcript with an
	// id up to it was read by the run or one of its top-ups
	// (TranscriptHighWater before the read); 0 when unknown, and then a
	// top-up reads the whole week.
	ScannedThrough int64
	// HandleThresholds are the long-handle-time thresholds the run compared
	// with, by sampler.TeamKey; nil when unknown.
	HandleThresholds map[string]time.Duration
	// TopUps counts the run's top-ups so far.
	TopUps int
	// Picks are the run's picks so far, its top-ups' and replacements
	// included, except those a replacement took the place of.
	Picks []BasisPick
}

// BasisPick is a pick as a top-up reads it: with its conversation's
// channel, which counts as covered.
type BasisPick struct {
	ExternalID string
	AgentID    string
	Reason     string
	Rank       int
	Channel    string
}

// TopUpStore keeps the top-ups of runs and reads what they need: the
// transcripts ingested since a run by id, which grows with ingest order
// (a top-up then reads the late chats, not the whole week).
type TopUpStore interface {
	// TranscriptHighWater returns the highest transcript id such that every
	// transcript with an id up to it is committed and visible from now on.
	TranscriptHighWater(ctx context.Context) (int64, error)
	// ScanWeekAfter is ScanWeek for the transcripts with an id in
	// (afterID, throughID] only: a top-up reads the chats after its basis
	// up to the high-water mark it read, in ranges of ids.
	ScanWeekAfter(ctx context.Context, from, to time.Time, afterID, throughID int64, opts ScanOptions, fn func(SampleRow) error) error
	// PickedInWeekAfter is PickedInWeek for the transcripts with an id
	// above afterID only.
	PickedInWeekAfter(ctx context.Context, from, to time.Time, afterID int64) (map[[2]string]bool, error)
	// HasTranscriptsAfter reports whether a transcript with an id above
	// afterID ended in [from, to).
	HasTranscriptsAfter(ctx context.Context, from, to time.Time, afterID int64) (bool, error)
	// SetRunBasis records what a completed run read (scannedThrough) and
	// its handle-time thresholds, unless a basis is recorded already.
	SetRunBasis(ctx context.Context, runID, scannedThrough int64, thresholds map[string]time.Duration) error
	// RunBasis returns the basis of run runID's next top-up; ErrNotFound
	// for an unknown run.
	RunBasis(ctx context.Context, runID int64) (RunBasis, error)
	// RunScannedThrough is RunBasis' ScannedThrough alone, without the
	// picks: the scheduled check's read.
	RunScannedThrough(ctx context.Context, runID int64) (int64, error)
	// TopUpRun stores top-up t of run t.RunID in one transaction: its
	// record (t.Seq must be the basis' TopUps + 1), its picks, the sampled
	// marks of their transcripts, the run's new basis (t.ScannedThrough,
	// thresholds) and an audit event run.top_up (its actor the manual
	// trigger's subject, or the trigger). ErrConflict when another top-up
	// of the run was stored since the basis was read, or the run is not
	// complete.
	TopUpRun(ctx context.Context, t TopUp, picks []Pick, thresholds map[string]time.Duration) (TopUp, error)
	// ListTopUps returns the top-ups of run runID in order.
	ListTopUps(ctx context.Context, runID int64) ([]TopUp, error)
}
