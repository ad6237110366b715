package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"qa-sampling/checks"
	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

// The policy option check_disagreement (sampler.CheckDisagreement) orders
// a run's check:<key> rules by weights computed from final reviews. The
// reviews are finalised, disputed and re-scored over time and a check
// re-run changes the flags they are compared with, so the order is
// computed once, when the run is created (RunWeek), and stored with it
// (store.Run.Disagreement): the run, its resumption, its top-ups and
// replacements, and a preview of its week take the rules in that order.
//
// The weights of a run of week W made at time T (its created_at) rest on
// the final reviews of the policy's `weeks` ISO weeks before W that were
// finalised before T, each compared with the flags its chat had when the
// weights were computed, through the dimensions of the newest check set
// created before T (the built-in defaults when none was). A preview of a
// week not run yet computes them as a run made at the preview's time would.

// disagreementOrder computes the order check_disagreement gives policy's
// rules for a run of week made at before (see above); nil when the policy
// does not have the option.
func (j *SamplingJob) disagreementOrder(ctx context.Context, week isoweek.Week, policy sampler.Policy, before time.Time) (*store.RunDisagreement, error) {
	d := policy.CheckDisagreement
	if d == nil {
		return nil, nil
	}
	// To the millisecond, as the store keeps times: the cut-off applied is
	// the one stored and shown (a run's created_at).
	before = before.Truncate(time.Millisecond)
	first := week
	for range d.Weeks {
		first = first.Prev()
	}
	out := &store.RunDisagreement{FromWeek: first.String(), ToWeek: week.Prev().String(), ReviewsBefore: before}
	rows, err := j.Store.ReviewedChecks(ctx, out.FromWeek, out.ToWeek)
	if err != nil {
		return nil, err
	}
	rows = slices.DeleteFunc(rows, func(r store.ReviewedChecks) bool { return !r.FinalizedAt.Before(before) })
	out.Reviews = len(rows)
	set, version, err := j.checkSetAt(ctx, before)
	if err != nil {
		return nil, err
	}
	out.CheckSetVersion = version
	reviewed, err := reviewedChats(ctx, j.Store, rows)
	if err != nil {
		return nil, err
	}
	weights := make(map[string]float64, len(checks.Keys))
	for _, a := range checks.Agree(&set, reviewed) {
		w := 1.0
		if !math.IsNaN(a.Precision) {
			w = 1 - a.Precision
		}
		weights[a.Check] = w
		out.Weights = append(out.Weights, store.CheckWeight{Check: a.Check, Dimension: a.Dimension, TP: a.TP, FP: a.FP, Weight: w})
	}
	out.Rules = sampler.OrderByDisagreement(policy.Rules, weights)
	return out, nil
}

// checkSetAt returns the newest check set created before t and its
// version; the built-in defaults (version 0) when none was.
func (j *SamplingJob) checkSetAt(ctx context.Context, t time.Time) (checks.Set, int64, error) {
	v, err := j.Store.LatestCheckSet(ctx)
	for err == nil && !v.CreatedAt.Before(t) {
		if v.Version <= 1 {
			err = store.ErrNotFound
			break
		}
		v, err = j.Store.GetCheckSet(ctx, v.Version-1)
	}
	if errors.Is(err, store.ErrNotFound) {
		return checks.Default(), 0, nil
	}
	if err != nil {
		return checks.Set{}, 0, err
	}
	set, err := decodeCheckSet(v)
	return set, v.Version, err
}

// runOrder is the order run takes policy's rules in (policy is the one
// run was made under): the order stored with the run, or, for a run of a
// check_disagreement policy made before orders were stored, the order
// computed now as for a run made at the run's creation (the reviews it
// counted then, less any retracted since). nil when the policy does not
// have the option.
func (j *SamplingJob) runOrder(ctx context.Context, run store.Run, policy sampler.Policy) (*store.RunDisagreement, error) {
	if d := run.Disagreement; d != nil {
		if !slices.Equal(slices.Sorted(slices.Values(d.Rules)), slices.Sorted(slices.Values(policy.Rules))) {
			return nil, fmt.Errorf("run %d: its stored rule order %q is not an order of policy version %d's rules %q",
				run.ID, d.Rules, policy.Version, policy.Rules)
		}
		return d, nil
	}
	week, err := isoweek.Parse(run.Week)
	if err != nil {
		return nil, err
	}
	return j.disagreementOrder(ctx, week, policy, run.CreatedAt)
}

// runPolicy is policy with its rules in run's order (runOrder).
func (j *SamplingJob) runPolicy(ctx context.Context, run store.Run, policy sampler.Policy) (sampler.Policy, error) {
	d, err := j.runOrder(ctx, run, policy)
	if err != nil || d == nil {
		return policy, err
	}
	policy.Rules = slices.Clone(d.Rules)
	return policy, nil
}
