package sampler

import (
	"fmt"
	"maps"
	"time"
)

// TopUp makes a run the top-up of an earlier run of the same week, seed
// and policy: it fills what conversations that arrived after that run (or
// its last top-up) make possible, and nothing else.
//
//   - Quota left: each agent's random quota less their earlier random
//     picks, and their targeted slots less their earlier targeted picks
//     and backfills (random picks beyond the random quota filled targeted
//     slots). Channels of earlier picks count as covered.
//   - Only new conversations: earlier picks are excluded, so an agent at
//     quota gets nothing, and one below it (whose earlier eligible
//     conversations were therefore all picked) gets picks from the new
//     ones only. The caller may hence pass just the conversations read
//     since the run, or the whole week: the picks are the same.
//   - Ranks continue after the agent's highest earlier rank.
//   - Targeted slots continue the round-robin: a rule that already took
//     slots waits for the rules that took fewer.
//   - long_handle_time compares with the thresholds the run computed
//     (HandleTimeThresholds): a late conversation is long if it is longer
//     than what the run called long, and earlier picks stay explained by
//     the same threshold. A team the run did not see gets the percentile
//     of the conversations read now, reported in Result so that later
//     top-ups use it too.
//
// An agent with no earlier pick is sampled as a run would sample them from
// the conversations given.
type TopUp struct {
	// Earlier are the run's picks so far (its own and earlier top-ups'),
	// each with its conversation's Channel; a pick replaced after a skip
	// is left out (its replacement holds the slot).
	Earlier []Pick
	// HandleTimeThresholds are Result.HandleTimeThresholds of the run (and
	// its top-ups), by TeamKey.
	HandleTimeThresholds map[string]time.Duration
}

// TeamKey names the group whose handle times an agent is compared with:
// their team, or the agent alone when they have none.
func TeamKey(a Agent) string {
	if a.TeamID == "" {
		return "agent:" + a.ID
	}
	return "team:" + a.TeamID
}

// startTopUp hands each agent their earlier picks.
func (r *Run) startTopUp() error {
	if r.topUp == nil {
		return nil
	}
	r.earlier = make(map[PickKey]bool, len(r.topUp.Earlier))
	for _, p := range r.topUp.Earlier {
		k := PickKey{ExternalID: p.ExternalID, AgentID: p.AgentID}
		if p.ExternalID == "" || p.AgentID == "" {
			return fmt.Errorf("top-up: earlier pick %+v: empty id", p)
		}
		if r.earlier[k] {
			return fmt.Errorf("top-up: %q picked twice for %q", p.ExternalID, p.AgentID)
		}
		r.earlier[k] = true
		if st := r.agents[p.AgentID]; st != nil {
			st.earlier = append(st.earlier, p)
		}
	}
	return nil
}

// thresholds returns the long-handle-time threshold of each team index
// and records them in res: a top-up's given ones where it has them, else
// the percentile of the team's conversations read.
func (r *Run) thresholds(res *Result) []time.Duration {
	out := make([]time.Duration, len(r.teamHandles))
	if r.longRule < 0 {
		return out
	}
	res.HandleTimeThresholds = map[string]time.Duration{}
	if r.topUp != nil {
		maps.Copy(res.HandleTimeThresholds, r.topUp.HandleTimeThresholds)
	}
	for t := range r.teamHandles {
		if given, ok := res.HandleTimeThresholds[r.teamKeys[t]]; ok {
			out[t] = given
			continue
		}
		if handles := r.teamHandles[t].flatten(); len(handles) > 0 {
			out[t] = nearestRank(handles, r.policy.HandleTimePercentile)
			res.HandleTimeThresholds[r.teamKeys[t]] = out[t]
		}
	}
	return out
}

// quotaLeft is what an agent's earlier picks leave of their quota: random
// picks, targeted slots, the channels still uncovered's complement (the
// covered ones), how many slots each rule took, and the highest rank.
type quotaLeft struct {
	random, targeted int
	covered          map[string]bool
	ruleSlots        map[string]int
	rank             int
}

func (r *Run) quotaLeft(st *agentState) quotaLeft {
	var q quotaLeft
	if len(st.earlier) > 0 { // a run's agents read the nil maps as empty
		q.covered, q.ruleSlots = map[string]bool{}, map[string]int{}
	}
	random := 0
	for _, p := range st.earlier {
		q.covered[p.Channel] = true
		q.rank = max(q.rank, p.Rank)
		if p.Reason == ReasonRandom {
			random++
		} else {
			q.ruleSlots[p.Reason]++
		}
	}
	targetedUsed := len(st.earlier) - random + max(random-st.randomQuota, 0)
	q.random = max(st.randomQuota-random, 0)
	q.targeted = max(r.policy.TargetedPerAgent-targetedUsed, 0)
	return q
}
