package server

import (
	"context"

	"qa-sampling/isoweek"
	"qa-sampling/report"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

// applyAdaptive adds the adaptive extra picks to res when the policy
// asks for them (sampler.Adaptive): each sampled agent's recent standing
// is the mean score and t interval of their final reviews in the
// policy's weeks before week, and the extras stay within the active
// inspectors' capacity. It reads only reviews stored before the call, so
// a preview shows what the run will pick while no review of those weeks
// changes.
func (j *SamplingJob) applyAdaptive(ctx context.Context, week isoweek.Week, policy sampler.Policy, seed []byte, res *sampler.Result) error {
	a := policy.Adaptive
	if a == nil || len(res.Agents) == 0 {
		return nil
	}
	weeks, err := report.Weeks(week.Prev().String(), a.Weeks)
	if err != nil {
		return err
	}
	ids := make([]string, len(res.Agents))
	for i, s := range res.Agents {
		ids[i] = s.AgentID
	}
	rows, err := j.Store.ReportRows(ctx, store.ReportFilter{AgentIDs: ids, FromWeek: weeks[0], ToWeek: weeks[len(weeks)-1]})
	if err != nil {
		return err
	}
	reviews := make([]report.Review, len(rows))
	for i, r := range rows {
		reviews[i] = report.Review{AgentID: r.AgentID, Week: r.Week, Score: r.Score}
	}
	tr := report.Options{}.Team("", ids, weeks, reviews)
	standings := make([]sampler.Standing, len(tr.Agents))
	for i, ar := range tr.Agents {
		ci := ar.CI95
		standings[i] = sampler.Standing{AgentID: ar.AgentID, Reviews: ar.Reviews, Low: ci.RawLow, High: ci.RawHigh, IntervalOK: ci.OK}
	}
	budget := -1
	if a.InspectorCapacity > 0 {
		inspectors, err := j.Store.ListInspectors(ctx)
		if err != nil {
			return err
		}
		active := 0
		for _, in := range inspectors {
			if in.Active {
				active++
			}
		}
		budget = max(a.InspectorCapacity*active-len(res.Picks), 0)
	}
	sampler.ApplyAdaptive(res, a.Extras(standings, seed, budget))
	return nil
}
