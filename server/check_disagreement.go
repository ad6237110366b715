package server

import (
	"context"
	"errors"
	"math"

	"qa-sampling/checks"
	"qa-sampling/isoweek"
	"qa-sampling/store"
)

// disagreementWeights are the weights of the policy option
// check_disagreement (sampler.CheckDisagreement) for a run of week: per
// check, 1 − its precision against the final reviews of the weeks weeks
// before, compared as the check report compares them (the newest set's
// dimensions); 1 for a check without a precision.
func (j *SamplingJob) disagreementWeights(ctx context.Context, week isoweek.Week, weeks int) (map[string]float64, error) {
	first := week
	for range weeks {
		first = first.Prev()
	}
	rows, err := j.Store.ReviewedChecks(ctx, first.String(), week.Prev().String())
	if err != nil {
		return nil, err
	}
	set := checks.Default()
	if v, err := j.Store.LatestCheckSet(ctx); err == nil {
		if set, err = decodeCheckSet(v); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	reviewed, err := reviewedChats(ctx, j.Store, rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(checks.Keys))
	for _, a := range checks.Agree(&set, reviewed) {
		out[a.Check] = 1
		if !math.IsNaN(a.Precision) {
			out[a.Check] = 1 - a.Precision
		}
	}
	return out, nil
}
