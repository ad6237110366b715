package sampler

import (
	"cmp"
	"math"
	"slices"
)

// ReasonAdaptive is the reason of an extra pick the adaptive quota adds.
const ReasonAdaptive = "adaptive"

// Limits of the adaptive option.
const (
	MaxAdaptiveExtra = 20
	MaxAdaptiveWeeks = 26
)

// Adaptive sizes samples to the decision (SPEC §11, policy option
// "adaptive"): an agent whose recent mean score has an interval
// straddling the pass score, or no interval yet, gets up to MaxExtra more
// random picks a week, the widest intervals first; an agent clearly above
// (or clearly below) the pass score gets none. The extra picks are the
// agent's next random candidates in picking order, so they stay part of a
// uniform sample; each is recorded with reason "adaptive".
type Adaptive struct {
	// MaxExtra caps each agent's extra picks a week (1..20).
	MaxExtra int `json:"max_extra"`
	// PassScore is the pass line the intervals are compared with (0..100;
	// the default rubric's pass grade is 70).
	PassScore float64 `json:"pass_score"`
	// Weeks is how many weeks before the sampled one the recent interval
	// covers (1..26).
	Weeks int `json:"weeks"`
	// InspectorCapacity is how many items an active inspector can take in
	// a week: the extra picks of a week stay within capacity × active
	// inspectors − the week's other picks. 0: no limit but MaxExtra.
	InspectorCapacity int `json:"inspector_capacity"`
}

// DefaultAdaptive is the option as a policy turns it on.
func DefaultAdaptive() Adaptive {
	return Adaptive{MaxExtra: 3, PassScore: 70, Weeks: 4}
}

// validate adds a's problems to bad, fields under "adaptive.".
func (a Adaptive) validate(bad func(field, format string, args ...any)) {
	if a.MaxExtra < 1 || a.MaxExtra > MaxAdaptiveExtra {
		bad("adaptive.max_extra", "must be between 1 and %d, got %d", MaxAdaptiveExtra, a.MaxExtra)
	}
	if !(a.PassScore >= 0 && a.PassScore <= 100) {
		bad("adaptive.pass_score", "must be between 0 and 100, got %v", a.PassScore)
	}
	if a.Weeks < 1 || a.Weeks > MaxAdaptiveWeeks {
		bad("adaptive.weeks", "must be between 1 and %d, got %d", MaxAdaptiveWeeks, a.Weeks)
	}
	if a.InspectorCapacity < 0 {
		bad("adaptive.inspector_capacity", "must not be negative, got %d", a.InspectorCapacity)
	}
}

// Standing is an agent's recent mean score and its 95% interval, from
// the reviews of the Adaptive.Weeks weeks before the sampled one.
type Standing struct {
	AgentID string
	Reviews int
	// Low and High bound the interval; IntervalOK is false with fewer
	// than two reviews (the interval is then as wide as it gets).
	Low, High  float64
	IntervalOK bool
}

// width is the interval's width, +Inf when there is none.
func (s Standing) width() float64 {
	if !s.IntervalOK {
		return math.Inf(1)
	}
	return s.High - s.Low
}

// Extras returns how many extra picks each agent in standings gets, at
// most budget in all (budget < 0: no limit). Agents whose interval
// straddles the pass score or who have none come first, then those
// clearly below it; within each, the widest interval first, ties in the
// order of Key(seed, agent id) — so the result is a function of the
// standings and the week's seed. Extras go round-robin, one per agent per
// pass, up to MaxExtra each, until the budget is spent. Agents clearly
// above the pass score get none.
func (a Adaptive) Extras(standings []Standing, seed []byte, budget int) map[string]int {
	type candidate struct {
		id       string
		straddle bool
		width    float64
		key      uint64
	}
	var cands []candidate
	for _, s := range standings {
		if s.IntervalOK && s.Low > a.PassScore {
			continue // clearly above: the minimum does
		}
		straddle := !s.IntervalOK || (s.Low <= a.PassScore && a.PassScore <= s.High)
		cands = append(cands, candidate{id: s.AgentID, straddle: straddle, width: s.width(), key: Key(seed, s.AgentID)})
	}
	slices.SortFunc(cands, func(x, y candidate) int {
		if x.straddle != y.straddle {
			if x.straddle {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(y.width, x.width), cmp.Compare(x.key, y.key), cmp.Compare(x.id, y.id))
	})
	out := map[string]int{}
	for pass := 0; pass < a.MaxExtra; pass++ {
		for _, c := range cands {
			if budget == 0 {
				return out
			}
			out[c.id]++
			budget--
		}
	}
	return out
}

// ApplyAdaptive adds extras[agent] picks to each agent's sample in res:
// the agent's first random alternates (Result.Alternates, reason random,
// not per channel), in picking order, with reason ReasonAdaptive and the
// ranks after the agent's last pick. Those conversations leave the
// agent's alternates. An agent with fewer alternates gets what there is.
// The run must have asked for at least the largest extra more alternates
// than it otherwise needs (Params.Alternates).
func ApplyAdaptive(res *Result, extras map[string]int) {
	if len(extras) == 0 {
		return
	}
	lastRank := map[string]int{}
	for _, p := range res.Picks {
		lastRank[p.AgentID] = max(lastRank[p.AgentID], p.Rank)
	}
	taken := map[PickKey]bool{}
	for _, alt := range res.Alternates {
		if alt.Reason != ReasonRandom || alt.Channel != "" {
			continue
		}
		k := PickKey{ExternalID: alt.ExternalID, AgentID: alt.AgentID}
		if extras[alt.AgentID] == 0 || taken[k] {
			continue
		}
		extras[alt.AgentID]--
		taken[k] = true
		lastRank[alt.AgentID]++
		res.Picks = append(res.Picks, Pick{ExternalID: alt.ExternalID, AgentID: alt.AgentID, Reason: ReasonAdaptive,
			Rank: lastRank[alt.AgentID], Key: alt.Key})
	}
	if len(taken) == 0 {
		return
	}
	res.Alternates = slices.DeleteFunc(res.Alternates, func(p Pick) bool {
		return taken[PickKey{ExternalID: p.ExternalID, AgentID: p.AgentID}]
	})
	// Alternates of a reason are ranked by position: close the gaps.
	type list struct{ agent, reason, channel string }
	rank := map[list]int{}
	for i := range res.Alternates {
		p := &res.Alternates[i]
		l := list{p.AgentID, p.Reason, p.Channel}
		rank[l]++
		p.Rank = rank[l]
	}
	slices.SortStableFunc(res.Picks, func(x, y Pick) int {
		return cmp.Or(cmp.Compare(x.AgentID, y.AgentID), cmp.Compare(x.Rank, y.Rank))
	})
}
