package sampler

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// agentSample is one agent's picks and alternates.
type agentSample struct {
	picks      []Pick
	alternates []Pick
}

// cursor walks a list in picking order, skipping what is already picked.
// Everything before pos has been picked, so the walk resumes where it left
// off when a later step (backfill, alternates) continues it.
type cursor struct {
	list []candidate
	pos  int
}

func (c *cursor) next(s *agentSample) (candidate, bool) {
	for c.pos < len(c.list) {
		x := c.list[c.pos]
		c.pos++
		if !s.picked(x.id) {
			return x, true
		}
	}
	return candidate{}, false
}

// picked is a linear search: an agent has a handful of picks.
func (s *agentSample) picked(id string) bool {
	for i := range s.picks {
		if s.picks[i].ExternalID == id {
			return true
		}
	}
	return false
}

// pickFor draws one agent's sample:
//
//  1. Random part, randomQuota picks: first the first conversation (in
//     picking order) of each channel the agent served, channels by the
//     agent's volume there, most first, ties by channel name; then the
//     first unpicked conversations in picking order.
//  2. Targeted part, TargetedPerAgent slots, round-robin over the rules in
//     priority order: each pass gives every rule that still has an unpicked
//     match one slot (its first unpicked match in picking order), until
//     the slots are filled or no rule has a match left. So with two slots,
//     an agent with many complaints and one VIP chat gets one of each
//     looked at; a rule fills several slots only when the rules after it
//     have nothing. Each pick's reason is the rule that took it, even if
//     the conversation matches other rules too.
//  3. Backfill: targeted slots no rule could fill get the next unpicked
//     conversations in picking order, reason random, marked Backfill. So
//     an agent with at least the quota gets the full quota and one with
//     fewer gets all of them, as SPEC §4 asks; without it an agent with 5
//     plain conversations would get 5 picks and one with 6 only 3.
//  4. Alternates: per reason, the next unpicked conversations.
//
// A top-up starts each step from what the run's picks left (TopUp).
//
// The random part comes first so that it stays a uniform sample of all
// the agent's eligible conversations (channel coverage aside), usable for
// unbiased scores; the targeted part then adds risky ones on top.
//
// Each list holds randomQuota + TargetedPerAgent + alternates candidates,
// which is enough: every candidate a cursor walks past is either picked
// (at most randomQuota + TargetedPerAgent) or returned as an alternate,
// so a cursor can only run off a full list once everything is drawn.
func (r *Run) pickFor(st *agentState, threshold time.Duration) agentSample {
	var s agentSample
	// A run's agent starts with the whole quota; a top-up's with what the
	// run's picks left (see TopUp).
	left := r.quotaLeft(st)
	// Ids are copied into the result, which outlives the run: the run's
	// may share memory with what the caller read them from (a store's
	// block of an hour's rows).
	take := func(c candidate, reason string, backfill bool) {
		s.picks = append(s.picks, Pick{
			ExternalID: strings.Clone(c.id), AgentID: st.agent.ID, Reason: reason,
			Rank: left.rank + len(s.picks) + 1, Key: c.key, Backfill: backfill,
		})
	}

	channels := slices.Clone(st.channels)
	slices.SortFunc(channels, func(a, b channelStat) int {
		if c := cmp.Compare(b.volume, a.volume); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	for _, ch := range channels {
		if len(s.picks) == left.random {
			break
		}
		if !left.covered[ch.name] {
			take(ch.first, ReasonRandom, false)
		}
	}
	byKey := cursor{list: st.byKey.items}
	for len(s.picks) < left.random {
		c, ok := byKey.next(&s)
		if !ok {
			break
		}
		take(c, ReasonRandom, false)
	}

	matches := make([]cursor, len(r.rules))
	for i := range r.rules {
		if i == r.longRule {
			matches[i].list = st.long.above(threshold)
		} else {
			matches[i].list = st.ruleMatches[i].items
		}
	}
	// Round-robin: in pass n, each rule that has taken fewer than n+1
	// slots (a top-up counts the run's) and has an unpicked match takes
	// one.
	targeted := 0
	slots := make([]int, len(r.rules))
	for i := range r.rules {
		slots[i] = left.ruleSlots[r.rules[i].name]
	}
	for pass, progress := 0, true; progress && targeted < left.targeted; pass++ {
		progress = false
		for i := range matches {
			if targeted == left.targeted {
				break
			}
			if slots[i] > pass {
				progress = true // its turn comes in a later pass
				continue
			}
			if c, ok := matches[i].next(&s); ok {
				take(c, r.rules[i].name, false)
				slots[i]++
				targeted++
				progress = true
			}
		}
	}

	for len(s.picks) < left.random+left.targeted {
		c, ok := byKey.next(&s)
		if !ok {
			break
		}
		take(c, ReasonRandom, true)
	}

	alternates := func(cur *cursor, reason string) {
		for rank := 1; rank <= r.alternates; rank++ {
			c, ok := cur.next(&s)
			if !ok {
				return
			}
			s.alternates = append(s.alternates, Pick{
				ExternalID: strings.Clone(c.id), AgentID: st.agent.ID, Reason: reason, Rank: rank, Key: c.key,
			})
		}
	}
	alternates(&byKey, ReasonRandom)
	for i := range matches {
		alternates(&matches[i], r.rules[i].name)
	}
	for _, ch := range channels {
		if ch.alternates == nil {
			continue
		}
		inChannel := func(list []candidate, reason string) {
			cur := cursor{list: list}
			for rank := 1; rank <= r.alternates; rank++ {
				c, ok := cur.next(&s)
				if !ok {
					return
				}
				s.alternates = append(s.alternates, Pick{
					ExternalID: strings.Clone(c.id), AgentID: st.agent.ID, Reason: reason, Rank: rank, Key: c.key, Channel: ch.name,
				})
			}
		}
		inChannel(ch.alternates.byKey.items, ReasonRandom)
		for i := range r.rules {
			if i != r.longRule {
				inChannel(ch.alternates.ruleMatches[i].items, r.rules[i].name)
			}
		}
	}
	return s
}

// Replacement chooses what replaces skipped, a pick of the agent whose
// conversation was in channel, from alternates (Result.Alternates of the
// run recomputed): the agent's next conversation for the same reason in
// that channel, so that the sample keeps covering it, or in any channel
// when that one has none left; never one in taken. Its rank comes after
// the highest of runPicks (the agent's picks in the run, replacements
// included): a replacement is an addition to the sample, not its first.
//
// An adaptive pick is one of the agent's next random candidates
// (Adaptive), so it is replaced by the next random alternate, recorded as
// adaptive again.
func Replacement(alternates []Pick, skipped Pick, channel string, taken map[string]bool, runPicks []Pick) (Pick, bool) {
	reason := skipped.Reason
	if reason == ReasonAdaptive {
		reason = ReasonRandom
	}
	in := func(channel string) func(Pick) bool {
		return func(alt Pick) bool {
			return alt.Channel == channel && alt.AgentID == skipped.AgentID && alt.Reason == reason && !taken[alt.ExternalID]
		}
	}
	i := -1
	if channel != "" {
		i = slices.IndexFunc(alternates, in(channel))
	}
	if i < 0 {
		i = slices.IndexFunc(alternates, in("")) // any channel, in picking order
	}
	if i < 0 {
		return Pick{}, false
	}
	out := alternates[i]
	out.Channel = ""
	out.Reason = skipped.Reason
	out.Rank = 1
	for _, p := range runPicks {
		out.Rank = max(out.Rank, p.Rank+1)
	}
	return out, true
}
