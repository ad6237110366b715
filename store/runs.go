package store

import (
	"context"
	"time"
)

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
	// Disagreement is the rule order the policy option check_disagreement
	// gave the run, frozen when the run was created (CreateRun stores it);
	// nil for a policy without the option and for runs made before it was
	// stored.
	Disagreement *RunDisagreement
}

// RunDisagreement is how check_disagreement ordered a run's rules: the
// weights it computed and what they rest on, and the resulting order.
type RunDisagreement struct {
	// Rules are the policy's rules in the order the run takes them.
	Rules []string
	// FromWeek..ToWeek (ISO weeks) are the weeks whose final reviews
	// counted; ReviewsBefore excludes those finalised at or after it.
	FromWeek, ToWeek string
	ReviewsBefore    time.Time
	// CheckSetVersion is the check set whose dimensions the checks were
	// compared with (0: the built-in defaults); Reviews counts the final
	// reviews read.
	CheckSetVersion int64
	Reviews         int
	// Weights has one entry per check, in the checks' order.
	Weights []CheckWeight
}

// CheckWeight is one check's weight in a RunDisagreement: 1 − TP/(TP+FP),
// or 1 when TP+FP is 0.
type CheckWeight struct {
	Check     string
	Dimension string
	TP, FP    int64
	Weight    float64
}

// SampleRow is what sampling reads of one transcript: the fields the
// rules look at, not the messages.
type SampleRow struct {
	ExternalID        string
	AgentIDs          []string // who it counts for (transcript.Authors): its authors, the owner first if they wrote
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
	// Read only when ScanOptions ask for them: FirstResponse and
	// MeanAgentResponse (transcript.NoResponse when no agent answered),
	// and the transcript's Attributes (nil when it has none).
	FirstResponse     time.Duration
	MeanAgentResponse time.Duration
	Attributes        map[string]string
	// CheckFlags, read only when ScanOptions.CheckFlags asks: the
	// automatic checks that fired (transcript.Checks.Flags).
	CheckFlags uint64
	// Key, when Keyed, is the sampling key of ExternalID under
	// ScanOptions.KeySeed (sampler.Key): a backend that keeps keys with
	// its sample records hands them over so that the run need not compute
	// them. A backend may leave any row unkeyed.
	Key   uint64
	Keyed bool
}

// ScanOptions ask ScanWeek for more than every run reads; a run asks only
// for what its policy's rules read, as each costs time on every row.
type ScanOptions struct {
	// ResponseTimes fills SampleRow.FirstResponse and MeanAgentResponse.
	ResponseTimes bool
	// Attributes fills SampleRow.Attributes, which are kept in each
	// transcript's compressed body: by far the costliest to read.
	Attributes bool
	// CheckFlags fills SampleRow.CheckFlags (for check: rules).
	CheckFlags bool
	// KeySeed is the run's seed (its bytes as a string, so that options
	// stay comparable): rows may come keyed under it (SampleRow.Key).
	KeySeed string
}

// RunStore keeps the weekly sampling runs and reads what they sample
// from. At most one run exists per (week, policy version), and its picks
// are written once, with it.
type RunStore interface {
	// ScanWeek calls fn for every transcript that ended in [from, to), in
	// no particular order, reading only that range of end times (on
	// SQLite from its hour blocks where they are current, packing those
	// that are not: see PackWeek). fn's error stops the scan and is
	// returned.
	ScanWeek(ctx context.Context, from, to time.Time, opts ScanOptions, fn func(SampleRow) error) error
	// PackWeek readies [from, to) for cheaper ScanWeeks with KeySeed
	// keySeed and returns how many hours it packed: SQLite keeps each
	// whole hour's rows packed in a block, with their keys, while the hour
	// is unchanged, and packs the hours that lack one. A backend that keeps
	// no such cache packs none.
	PackWeek(ctx context.Context, from, to time.Time, keySeed string) (int, error)
	// PacksWeeks reports whether PackWeek ever packs anything, so that a
	// packer with nothing to do does not draw weeks' seeds for nothing.
	PacksWeeks() bool
	// PickedInWeek returns the (external id, agent id) pairs picked by any
	// earlier run for transcripts that ended in [from, to).
	PickedInWeek(ctx context.Context, from, to time.Time) (map[[2]string]bool, error)

	// CreateRun creates the run for (r.Week, r.PolicyVersion), with
	// r.Disagreement, or returns the existing one (with its own) with
	// created false: a second request, a second replica or a repeated
	// schedule gets the same run.
	CreateRun(ctx context.Context, r Run) (run Run, created bool, err error)
	// CompleteRun stores the picks of a run created by CreateRun, marks
	// their transcripts sampled and sets CompletedAt, in one transaction.
	// ErrConflict if the run is already complete.
	CompleteRun(ctx context.Context, runID int64, picks []Pick, shortfalls int) (Run, error)
	// ClaimRun makes the caller the runner of run runID: the one that
	// computes and completes it while others wait. release ends the claim;
	// so does the end of the claiming process (on PostgreSQL the close of
	// its connection), so that a run whose runner was killed is taken over
	// at once, not after a timeout. ErrConflict while another live runner
	// holds it. On SQLite, which one process serves, claims are held in
	// that process: a claim left by a process that ended is no claim. The
	// claim does not look at the run: the caller re-reads it once claimed.
	ClaimRun(ctx context.Context, runID int64) (release func(), err error)
	// WeekSeed returns week's seed: the one stored, or else candidate,
	// stored now with createdAt. Every run and preview of the week uses
	// it, whatever the policy version; callers racing on the first use
	// (replicas included) all get the one that was stored first.
	WeekSeed(ctx context.Context, week string, candidate []byte, createdAt time.Time) ([]byte, error)
	// GetRun returns ErrNotFound for an unknown id.
	GetRun(ctx context.Context, id int64) (Run, error)
	// ListRuns returns runs, newest first; week "" means all.
	ListRuns(ctx context.Context, week string) ([]Run, error)
	// RunAgents returns how many agents run runID's picks (its top-ups'
	// and replacements included) are for: the agents the run covers. 0
	// for a run without picks or an unknown run.
	RunAgents(ctx context.Context, runID int64) (int, error)
}
