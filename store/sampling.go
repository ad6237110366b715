package store

import (
	"context"
	"time"
)

// Records of the weekly sampling (SPEC §2 steps 2–3, §4). The sampling
// rules themselves live in package sampler; the store keeps what they need
// and what they decided, so any run can be explained and recomputed.

// SamplingStore is the persistence of sampling. Every method is safe for
// concurrent use, also across processes sharing one database.
type SamplingStore interface {
	// UpsertInspector creates or updates an inspector by ID.
	UpsertInspector(ctx context.Context, in Inspector) (Outcome, error)
	// ListInspectors returns all inspectors by ID.
	ListInspectors(ctx context.Context) ([]Inspector, error)
	// GetInspector returns ErrNotFound for an unknown id.
	GetInspector(ctx context.Context, id string) (Inspector, error)
	// ReturnInspectorItems moves every pick assigned to inspectorID (status
	// assigned) to the pool and audits it as actor, in one transaction, and
	// returns the moved picks. Their drafts stay with their author. Picks
	// disputed to the inspector are left; see ReassignDispute.
	ReturnInspectorItems(ctx context.Context, inspectorID, actor string) ([]Pick, error)

	// AddPolicyVersion stores document as the next version and returns it.
	// If the latest version holds the same bytes, that one is returned and
	// nothing is stored: replicas storing the same default on first use
	// must agree on one version.
	AddPolicyVersion(ctx context.Context, document []byte, createdBy string) (PolicyVersion, error)
	// LatestPolicy returns the newest version; ErrNotFound if none.
	LatestPolicy(ctx context.Context) (PolicyVersion, error)
	// GetPolicy returns one version; ErrNotFound if unknown.
	GetPolicy(ctx context.Context, version int64) (PolicyVersion, error)

	// ScanWeek calls fn for every transcript that ended in [from, to), in
	// no particular order, reading only that range of the end-time index.
	// fn's error stops the scan and is returned.
	ScanWeek(ctx context.Context, from, to time.Time, fn func(SampleRow) error) error
	// PickedInWeek returns the (external id, agent id) pairs picked by any
	// earlier run for transcripts that ended in [from, to).
	PickedInWeek(ctx context.Context, from, to time.Time) (map[[2]string]bool, error)

	// CreateRun creates the run for (r.Week, r.PolicyVersion), or returns
	// the existing one with created false: a second request, a second
	// replica or a repeated schedule gets the same run.
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
	// GetRun returns ErrNotFound for an unknown id.
	GetRun(ctx context.Context, id int64) (Run, error)
	// ListRuns returns runs, newest first; week "" means all.
	ListRuns(ctx context.Context, week string) ([]Run, error)
	// ListPicks returns picks matching f in id order.
	ListPicks(ctx context.Context, f PickFilter) ([]Pick, error)
	// InspectorLoads returns, per active inspector, how many picks are
	// assigned to them (status assigned); inspectors with none map to 0.
	InspectorLoads(ctx context.Context) (map[string]int, error)
	// RecentInspectorsOf returns the inspectors of agentID's picks, newest
	// first, at most limit.
	RecentInspectorsOf(ctx context.Context, agentID string, limit int) ([]string, error)
	// UpdatePick changes a pick's inspector, status and skip reason, only
	// if its status is still from; ErrConflict otherwise.
	UpdatePick(ctx context.Context, id int64, from PickStatus, p Pick) (Pick, error)
	// AddPick adds one pick to a completed run (a skip's replacement) and
	// marks its transcript sampled.
	AddPick(ctx context.Context, p Pick) (Pick, error)
}
