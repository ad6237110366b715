package store

import (
	"context"
	"fmt"
	"time"

	"qa-sampling/transcript"
)

// CheckFlagCount is how many conversations of one agent, in a time range,
// were checked by one check set version and carry exactly one combination
// of check flags.
type CheckFlagCount struct {
	AgentID string
	// Version is the check set version that computed Flags; its enabled
	// checks are the ones that ran, so a check off in it neither fired
	// nor passed on these conversations. 0 for conversations no check set
	// ever ran on (stored before checks existed, or with checks off).
	Version int64
	// Flags are the checks that fired (bit i = checks.Keys[i]).
	Flags uint64
	Chats int64
}

// ReviewedChecks is one final review (not retracted) with the checks
// stored for its conversation, for the agreement report.
type ReviewedChecks struct {
	ReviewID   int64
	Week       string
	AgentID    string
	ExternalID string
	Ratings    []Rating
	// CheckVersion is the check set that computed CheckFlags; 0 when the
	// conversation was never checked.
	CheckVersion int64
	CheckFlags   uint64
	// FinalizedAt is when the review was finalised.
	FinalizedAt time.Time
}

// CheckRerunStatus is where a re-run stands.
type CheckRerunStatus string

// Re-run statuses.
const (
	CheckRerunRunning CheckRerunStatus = "running"
	CheckRerunDone    CheckRerunStatus = "done"
	CheckRerunFailed  CheckRerunStatus = "failed"
)

// CheckRerun is a job recomputing the checks of one week's conversations
// (ended in [From, To)) under one check set version. Cursor is the
// highest transcript id done: transcripts are taken in id order and each
// batch's results commit with the cursor, so a job taken up again after a
// crash continues after Cursor.
type CheckRerun struct {
	ID           int64
	Week         string
	From, To     time.Time
	CheckVersion int64
	Status       CheckRerunStatus
	Cursor       int64
	Done         int64
	Total        int64
	// Changed counts the conversations whose flags the re-run changed.
	Changed    int64
	Error      string
	CreatedBy  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time
	// Owner is the replica working the job (or the last one that did);
	// empty when none ever claimed it.
	Owner string
	// LeaseUntil is when Owner's hold ends unless renewed; zero when the
	// job is free (never claimed, or released).
	LeaseUntil time.Time
}

// RerunLease is a replica's hold on a running re-run (SPEC §6: several
// replicas may share a database, and one job must be worked by one of
// them at a time). Owner names the replica; At is the caller's clock at
// the call, against which another owner's lease counts as expired (its
// LeaseUntil at or before At); Until is when the lease taken or renewed
// by the call ends.
type RerunLease struct {
	Owner string
	At    time.Time
	Until time.Time
}

// ErrLeaseLost refuses a re-run claim, batch or failure by a replica that
// does not hold the job: another one holds an unexpired lease, or took
// the job over. It is an ErrConflict.
var ErrLeaseLost = fmt.Errorf("re-run held by another replica: %w", ErrConflict)

// RecheckBatch is one batch of a re-run committed by the lease's holder.
type RecheckBatch struct {
	Lease RerunLease
	// After is the job's cursor the batch was read after; the batch is
	// refused (ErrLeaseLost) unless the job is still there, so no batch
	// counts twice.
	After   int64
	Results []RecheckResult
	// Cursor is the highest transcript id the batch covers.
	Cursor int64
	// Finish marks the job done.
	Finish bool
}

// RecheckTarget is one conversation a re-run recomputes.
type RecheckTarget struct {
	ID         int64
	Transcript transcript.Transcript
	Checks     transcript.Checks
	// Revision is the stored revision the transcript was read at.
	Revision int64
}

// RecheckResult is a target's new checks, computed from the content of
// Revision.
type RecheckResult struct {
	ID       int64
	Revision int64
	Checks   transcript.Checks
}

// CheckStatsStore reads check results over all conversations (SPEC §6:
// rates per agent, team and week; agreement with inspectors) and keeps
// re-runs of a week under a new check set.
type CheckStatsStore interface {
	// CountCheckFlags counts the conversations that ended in [from, to)
	// per author (a transferred conversation counts for each agent who
	// wrote in it, as sampling counts it), check set version and flag
	// combination: the stored ones, and those retention deleted, as they
	// were counted when deleted (see RetentionStore), so that a range's
	// counts do not change when its chats expire. The range's bounds must
	// fall on quarter hours (UTC), as a week's do in any zone.
	CountCheckFlags(ctx context.Context, from, to time.Time) ([]CheckFlagCount, error)
	// ReviewedChecks lists the final reviews of weeks fromWeek..toWeek
	// (ISO weeks, inclusive) whose conversation is still stored, with its
	// stored check flags, in review id order.
	ReviewedChecks(ctx context.Context, fromWeek, toWeek string) ([]ReviewedChecks, error)

	// CreateCheckRerun stores a running job for r's week, range and
	// version, counting its conversations as Total (audited as
	// checks.rerun by r.CreatedBy), held by r.Owner until r.LeaseUntil
	// (free if r.Owner is empty). It returns ErrConflict when a job for
	// r.Week is running: one week runs one job at a time.
	CreateCheckRerun(ctx context.Context, r CheckRerun) (CheckRerun, error)
	// ClaimCheckRerun makes lease.Owner the holder of running job id until
	// lease.Until, if the job is free, already its, or another owner's
	// lease ended at or before lease.At (a takeover, audited as
	// checks.rerun.takeover), and returns the job as committed, to
	// continue after its Cursor. ErrLeaseLost when another owner's lease
	// is live; ErrConflict when the job is no longer running; ErrNotFound
	// for an unknown id.
	ClaimCheckRerun(ctx context.Context, id int64, lease RerunLease) (CheckRerun, error)
	// ReleaseCheckRerun frees job id if owner holds it (a replica shutting
	// down), so that another takes it up at once; else it does nothing.
	ReleaseCheckRerun(ctx context.Context, id int64, owner string) error
	// GetCheckRerun returns ErrNotFound for an unknown id.
	GetCheckRerun(ctx context.Context, id int64) (CheckRerun, error)
	// ListCheckReruns returns the newest jobs first, at most limit; only
	// running ones when running.
	ListCheckReruns(ctx context.Context, running bool, limit int) ([]CheckRerun, error)
	// RecheckIDs returns the ids, ascending, of the conversations that
	// ended in [from, to) with an id above afterID.
	RecheckIDs(ctx context.Context, from, to time.Time, afterID int64) ([]int64, error)
	// RecheckTargets loads the conversations with ids in [lo, hi] that
	// ended in [from, to), in id order, leaving out those retention
	// emptied: checked again without their messages, their flags (kept
	// for the rates and the agreement report) would be wiped. Done may
	// therefore end below Total.
	RecheckTargets(ctx context.Context, from, to time.Time, lo, hi int64) ([]RecheckTarget, error)
	// SaveRecheck stores b's results (not on a transcript emptied or
	// pushed again since it was read: ingest checked the new content),
	// moves job id's cursor from b.After to b.Cursor, adds to its counts
	// (changed: the results it wrote whose flags differ from the stored
	// ones, not those it skipped) and renews b.Lease, in one
	// transaction; b.Finish marks it done
	// (audited as checks.rerun.done). ErrLeaseLost, with nothing stored,
	// unless b.Lease.Owner holds the job and its cursor is b.After;
	// ErrConflict when the job is no longer running.
	SaveRecheck(ctx context.Context, id int64, b RecheckBatch) (CheckRerun, error)
	// FailCheckRerun marks a job failed with a reason (audited), if owner
	// holds it (ErrLeaseLost if not).
	FailCheckRerun(ctx context.Context, id int64, owner, reason string) error
}
