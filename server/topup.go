package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store"

	"golang.org/x/sync/errgroup"
)

// A top-up (SPEC §2 step 2, issue 9 §1.3) continues a completed run with
// the chats that arrived after it: same seed, policy version and rules
// (in the run's order: see check_disagreement.go);
// each agent gets what the run's picks left of their quota, from the new
// chats only, ranked after their picks in the run (sampler.TopUp has the
// rules). It reads only the transcripts ingested since the run or its
// last top-up (store.RunBasis.ScannedThrough): an agent below quota
// already had every eligible chat of theirs picked, so only new chats can
// add anything. Chats pushed again after the run with changed content keep
// their id and are not read again.

// topUpInput is what compute needs for a top-up: the run's picks and
// thresholds for the sampler, and the scan of the transcripts after the
// basis.
type topUpInput struct {
	earlier sampler.TopUp
	// parts are what the top-up reads of the week [from, to), in parts
	// read at once.
	parts func(from, to time.Time, opts store.ScanOptions) []scanPart
	// picked lists what earlier runs picked among the chats parts read.
	picked func(ctx context.Context, from, to time.Time) (map[[2]string]bool, error)
}

// idParts reads the chats of [from, to) with ids in (after, through] with
// scan in scanParts consecutive ranges of ids, each over the whole week:
// late chats are spread over the week, and in ranges of end times each
// part would walk every late id (twice the reading).
func idParts(scan func(ctx context.Context, from, to time.Time, afterID, throughID int64, opts store.ScanOptions, fn func(store.SampleRow) error) error,
	from, to time.Time, after, through int64, opts store.ScanOptions) []scanPart {
	if through <= after {
		return nil
	}
	parts := make([]scanPart, scanParts)
	step := (through - after + scanParts - 1) / scanParts
	for i := range parts {
		lo, hi := after+int64(i)*step, min(after+int64(i+1)*step, through)
		parts[i] = func(ctx context.Context, fn func(store.SampleRow) error) error {
			return scan(ctx, from, to, lo, hi, opts, fn)
		}
	}
	return parts
}

// NoRunError refuses to top up a week that has no run.
type NoRunError struct {
	Week isoweek.Week
}

func (e *NoRunError) Error() string {
	return fmt.Sprintf("week %s has no run to top up; run it first", e.Week)
}

// TopUpPlan is what a top-up of a run would add now.
type TopUpPlan struct {
	Run   store.Run
	Basis store.RunBasis
	// Through is the transcript high-water mark read before the scan: the
	// top-up's ScannedThrough.
	Through int64
	Result  *sampler.Result
	// Order is the rule order the plan took (the run's; nil without
	// check_disagreement).
	Order  *store.RunDisagreement
	agents map[string]store.Agent
}

// Considered is how many transcripts the plan read.
func (p *TopUpPlan) Considered() int { return p.Result.Stats.Conversations }

// Shortfalls is how many of the run's agents would still be short.
func (p *TopUpPlan) Shortfalls() int { return len(p.Result.Shortfalls) }

// WeekRun returns the run a top-up of week continues: the week's run under
// the newest policy version it was run with. *NoRunError when none.
func (j *SamplingJob) WeekRun(ctx context.Context, week isoweek.Week) (store.Run, error) {
	runs, err := j.Store.ListRuns(ctx, week.String())
	if err != nil {
		return store.Run{}, err
	}
	if len(runs) == 0 {
		return store.Run{}, &NoRunError{Week: week}
	}
	return slices.MaxFunc(runs, func(a, b store.Run) int { return cmp.Compare(a.PolicyVersion, b.PolicyVersion) }), nil
}

// TopUpWeek tops up the week's run (WeekRun), completing it first if its
// runner died. A week that has not ended is refused as RunWeek refuses it.
func (j *SamplingJob) TopUpWeek(ctx context.Context, week isoweek.Week, trigger string) (store.Run, store.TopUp, error) {
	policy, err := j.Policy(ctx)
	if err != nil {
		return store.Run{}, store.TopUp{}, err
	}
	loc, err := policy.Location()
	if err != nil {
		return store.Run{}, store.TopUp{}, err
	}
	if _, end := week.Bounds(loc); j.Now().Before(end) {
		return store.Run{}, store.TopUp{}, &WeekNotEndedError{Week: week, End: end}
	}
	run, err := j.WeekRun(ctx, week)
	if err != nil {
		return store.Run{}, store.TopUp{}, err
	}
	if run.CompletedAt.IsZero() {
		if run, err = j.Resume(ctx, run); err != nil {
			return store.Run{}, store.TopUp{}, err
		}
	}
	up, err := j.TopUp(ctx, run, trigger)
	return run, up, err
}

// topUpAttempts bounds TopUp's retries after another process stored a
// top-up of the same run first (processes on one SQLite file hold their
// own claims).
const topUpAttempts = 3

// TopUp tops up the completed run: it claims the run (store.ClaimRun), so
// that replicas topping up at once take turns and the second sees the
// first's picks, computes the plan, assigns the new picks and stores them
// with the top-up's record, which is kept even when it adds nothing.
func (j *SamplingJob) TopUp(ctx context.Context, run store.Run, trigger string) (store.TopUp, error) {
	release, err := j.claimTurn(ctx, run.ID)
	if err != nil {
		return store.TopUp{}, err
	}
	defer release()
	for attempt := 1; ; attempt++ {
		start := j.Now()
		plan, err := j.PlanTopUp(ctx, run)
		if err != nil {
			return store.TopUp{}, err
		}
		picks, err := j.assign(ctx, run.ID, plan.Result.Picks, plan.agents)
		if err != nil {
			return store.TopUp{}, err
		}
		up, err := j.Store.TopUpRun(ctx, store.TopUp{
			RunID: run.ID, Seq: plan.Basis.TopUps + 1, Trigger: trigger, CreatedAt: j.Now(),
			Shortfalls: plan.Shortfalls(), Considered: plan.Considered(), ScannedThrough: plan.Through,
		}, picks, plan.Result.HandleTimeThresholds)
		if errors.Is(err, store.ErrConflict) && attempt < topUpAttempts {
			continue
		}
		if err != nil {
			return store.TopUp{}, err
		}
		j.Log.Info("sampling run topped up", "week", run.Week, "run", run.ID, "top_up", up.Seq, "picks", up.Picks,
			"shortfalls", up.Shortfalls, "considered", up.Considered, "took", j.Now().Sub(start).Round(time.Millisecond).String(),
			"trigger", trigger)
		return up, nil
	}
}

// claimTurn waits until this caller holds the run's claim.
func (j *SamplingJob) claimTurn(ctx context.Context, runID int64) (func(), error) {
	for {
		release, err := j.Store.ClaimRun(ctx, runID)
		if !errors.Is(err, store.ErrConflict) {
			return release, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(claimPoll):
		}
	}
}

// PlanTopUp computes what a top-up of the completed run would add now,
// without writing: the run's picks and thresholds from its basis, the
// transcripts read since it (the whole week when the basis is unknown).
func (j *SamplingJob) PlanTopUp(ctx context.Context, run store.Run) (*TopUpPlan, error) {
	policy, err := j.policyOf(ctx, run)
	if err != nil {
		return nil, err
	}
	// The run's rule order (check_disagreement's, stored with the run),
	// not one computed from the reviews of the top-up's time.
	order, err := j.runOrder(ctx, run, policy)
	if err != nil {
		return nil, err
	}
	if order != nil {
		policy.Rules = slices.Clone(order.Rules)
	}
	week, err := isoweek.Parse(run.Week)
	if err != nil {
		return nil, err
	}
	// Read before the basis and the scan: whatever commits later is above
	// it and read by the next top-up.
	through, err := j.Store.TranscriptHighWater(ctx)
	if err != nil {
		return nil, err
	}
	basis, pickedAfter, err := j.basisAndPicked(ctx, run, week, policy)
	if err != nil {
		return nil, err
	}
	in := &topUpInput{
		earlier: sampler.TopUp{HandleTimeThresholds: basis.HandleThresholds},
		parts: func(from, to time.Time, opts store.ScanOptions) []scanPart {
			return weekParts(j.Store.ScanWeek, from, to, opts)
		},
		picked: j.Store.PickedInWeek,
	}
	// Only the chats after the basis are read, up to the high water (what
	// commits later is the next top-up's), so only their picks (by other
	// runs of the week; this run's are in earlier) need excluding.
	if after := basis.ScannedThrough; after > 0 {
		in.parts = func(from, to time.Time, opts store.ScanOptions) []scanPart {
			return idParts(j.Store.ScanWeekAfter, from, to, after, through, opts)
		}
		in.picked = func(context.Context, time.Time, time.Time) (map[[2]string]bool, error) {
			return pickedAfter, nil
		}
	}
	for _, p := range basis.Picks {
		in.earlier.Earlier = append(in.earlier.Earlier, sampler.Pick{
			ExternalID: p.ExternalID, AgentID: p.AgentID, Reason: p.Reason, Rank: p.Rank, Channel: p.Channel,
		})
	}
	res, agents, err := j.compute(ctx, week, policy, run.Seed, 0, 0, in)
	if err != nil {
		return nil, err
	}
	return &TopUpPlan{Run: run, Basis: basis, Through: max(through, basis.ScannedThrough), Result: res, Order: order, agents: agents}, nil
}

// basisAndPicked reads the run's basis and the earlier runs' picks among
// the chats after it at once, each on its own connection: both are a
// random page per pick, and in sequence they were half of a top-up's time.
// The run claim keeps the basis still meanwhile; should it move (a preview
// racing a top-up), the picks are read again after the new basis. The
// picks are nil when the basis is unknown (the whole week is read then).
func (j *SamplingJob) basisAndPicked(ctx context.Context, run store.Run, week isoweek.Week, policy sampler.Policy) (store.RunBasis, map[[2]string]bool, error) {
	after, err := j.Store.RunScannedThrough(ctx, run.ID)
	if err != nil {
		return store.RunBasis{}, nil, err
	}
	loc, err := policy.Location()
	if err != nil {
		return store.RunBasis{}, nil, err
	}
	from, to := week.Bounds(loc)
	var (
		basis  store.RunBasis
		picked map[[2]string]bool
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		basis, err = j.Store.RunBasis(gctx, run.ID)
		return err
	})
	if after > 0 {
		g.Go(func() (err error) {
			picked, err = j.Store.PickedInWeekAfter(gctx, from, to, after)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return store.RunBasis{}, nil, err
	}
	if basis.ScannedThrough > 0 && basis.ScannedThrough != after {
		if picked, err = j.Store.PickedInWeekAfter(ctx, from, to, basis.ScannedThrough); err != nil {
			return store.RunBasis{}, nil, err
		}
	}
	return basis, picked, nil
}

// LateChats reports whether transcripts of the run's week arrived since
// the run or its last top-up: the test before a scheduled top-up, one
// probe of the transcripts after the basis. A run whose basis is unknown
// counts as having some.
func (j *SamplingJob) LateChats(ctx context.Context, run store.Run) (bool, error) {
	through, err := j.Store.RunScannedThrough(ctx, run.ID)
	if err != nil || through == 0 {
		return err == nil, err
	}
	policy, err := j.policyOf(ctx, run)
	if err != nil {
		return false, err
	}
	loc, err := policy.Location()
	if err != nil {
		return false, err
	}
	week, err := isoweek.Parse(run.Week)
	if err != nil {
		return false, err
	}
	from, to := week.Bounds(loc)
	return j.Store.HasTranscriptsAfter(ctx, from, to, through)
}

// policyOf is the policy version run was made under.
func (j *SamplingJob) policyOf(ctx context.Context, run store.Run) (sampler.Policy, error) {
	pv, err := j.Store.GetPolicy(ctx, run.PolicyVersion)
	if err != nil {
		return sampler.Policy{}, err
	}
	return decodePolicy(pv)
}
