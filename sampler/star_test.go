package sampler

import (
	"maps"
	"slices"
	"testing"
	"time"

	"qa-sampling/internal/stardata"
	"qa-sampling/isoweek"
	"qa-sampling/transcript"
)

// starWeek loads the repository's STAR subset (real service chats; see
// internal/stardata) as a directory and conversations.
func starData(t *testing.T) ([]Agent, []Conversation) {
	t.Helper()
	ds, err := stardata.LoadSubset()
	if err != nil {
		t.Fatal(err)
	}
	var agents []Agent
	for _, a := range stardata.Agents(ds) {
		hired, err := time.Parse(time.DateOnly, a.HiredOn)
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, Agent{ID: a.AgentID, TeamID: a.TeamID, HiredOn: hired, Active: a.Active == nil || *a.Active})
	}
	cs := make([]Conversation, len(ds))
	for i := range ds {
		tr := stardata.Convert(ds[i])
		m := transcript.Derive(&tr)
		cs[i] = FromTranscript(&tr, &m, transcript.Authors(&tr), nil)
	}
	return agents, cs
}

// TestSTARWeeks samples every ISO week of the STAR subset and checks
// coverage, quotas, shortfalls and exclusions against the data itself.
func TestSTARWeeks(t *testing.T) {
	agents, cs := starData(t)
	p := DefaultPolicy()
	loc, err := p.Location()
	if err != nil {
		t.Fatal(err)
	}
	byID := make(map[string]*Conversation)
	weeks := make(map[isoweek.Week]bool)
	noAgentMessage := 0
	for i := range cs {
		byID[cs[i].ExternalID] = &cs[i]
		weeks[isoweek.Of(cs[i].EndedAt, loc)] = true
		if cs[i].AgentMessageCount == 0 {
			noAgentMessage++
		}
	}
	if noAgentMessage == 0 {
		t.Fatal("the subset has no dialogue without an agent message; the exclusion is untested")
	}

	var excluded, picks, shortfalls, newHires int
	reasonsSeen := make(map[string]int)
	for _, week := range slices.SortedFunc(maps.Keys(weeks), func(a, b isoweek.Week) int { return (a.Year*100 + a.Number) - (b.Year*100 + b.Number) }) {
		in := &Input{Params: Params{Policy: p, Week: week, Seed: testSeed, Agents: agents}, Conversations: cs}
		res := mustSample(t, in)
		excluded += res.Stats.NoAgentMessage + res.Stats.BotOnly

		// What each agent handled this week, straight from the data.
		handled := make(map[string]int)
		for i := range cs {
			c := &cs[i]
			if isoweek.Of(c.EndedAt, loc) == week && c.AgentMessageCount > 0 {
				handled[c.AgentIDs[0]]++
			}
		}
		summaries := make(map[string]AgentSummary)
		for _, s := range res.Agents {
			summaries[s.AgentID] = s
			if s.NewHire {
				newHires++
			}
		}
		if len(summaries) != len(handled) {
			t.Errorf("%v: %d agents sampled, %d handled chats", week, len(summaries), len(handled))
		}
		got := make(map[string]int)
		seen := make(map[PickKey]bool)
		for _, pk := range res.Picks {
			c := byID[pk.ExternalID]
			switch {
			case c == nil:
				t.Fatalf("%v: pick %+v is no conversation", week, pk)
			case isoweek.Of(c.EndedAt, loc) != week:
				t.Errorf("%v: pick %s ended in %v", week, pk.ExternalID, isoweek.Of(c.EndedAt, loc))
			case c.AgentMessageCount == 0:
				t.Errorf("%v: pick %s has no agent message", week, pk.ExternalID)
			case !slices.Contains(c.AgentIDs, pk.AgentID):
				t.Errorf("%v: pick %s is not %s's", week, pk.ExternalID, pk.AgentID)
			case seen[PickKey{ExternalID: pk.ExternalID, AgentID: pk.AgentID}]:
				t.Errorf("%v: %s picked twice for %s", week, pk.ExternalID, pk.AgentID)
			}
			seen[PickKey{ExternalID: pk.ExternalID, AgentID: pk.AgentID}] = true
			got[pk.AgentID]++
			reasonsSeen[pk.Reason]++
		}
		// A targeted slot is backfilled only when no rule matches any of
		// the agent's unpicked chats.
		for _, s := range res.Agents {
			if s.Backfilled == 0 {
				continue
			}
			for i := range cs {
				c := &cs[i]
				if isoweek.Of(c.EndedAt, loc) != week || c.AgentMessageCount == 0 || c.AgentIDs[0] != s.AgentID ||
					seen[PickKey{ExternalID: c.ExternalID, AgentID: s.AgentID}] {
					continue
				}
				for _, rule := range p.Rules {
					if referenceMatch(&p, rule, c, s.HandleTimeThreshold) {
						t.Errorf("%v: agent %s backfilled while %s matches %s", week, s.AgentID, c.ExternalID, rule)
					}
				}
			}
		}
		wantShortfalls := 0
		for agent, n := range handled {
			s, ok := summaries[agent]
			if !ok {
				t.Errorf("%v: agent %s handled %d chats but was not sampled", week, agent, n)
				continue
			}
			if want := min(n, s.Wanted); got[agent] != want {
				t.Errorf("%v: agent %s: %d picks of %d chats, want %d", week, agent, got[agent], n, want)
			}
			if n < s.Wanted {
				wantShortfalls++
			}
		}
		if len(res.Shortfalls) != wantShortfalls {
			t.Errorf("%v: %d shortfalls, want %d", week, len(res.Shortfalls), wantShortfalls)
		}
		for _, sf := range res.Shortfalls {
			if sf.Got != handled[sf.AgentID] || sf.Wanted != summaries[sf.AgentID].Wanted {
				t.Errorf("%v: shortfall %+v, agent handled %d", week, sf, handled[sf.AgentID])
			}
		}
		picks += len(res.Picks)
		shortfalls += len(res.Shortfalls)

		// A second run that excludes the first one's picks picks none of them.
		in.AlreadyPicked = seen
		in.Seed = []byte("a second run's seed for the same week")
		for _, pk := range mustSample(t, in).Picks {
			if seen[PickKey{ExternalID: pk.ExternalID, AgentID: pk.AgentID}] {
				t.Errorf("%v: %s picked again for %s", week, pk.ExternalID, pk.AgentID)
			}
		}
	}
	if excluded != noAgentMessage {
		t.Errorf("%d conversations excluded for no agent message, the data has %d", excluded, noAgentMessage)
	}
	if reasonsSeen[ReasonRandom] == 0 || len(reasonsSeen) < 2 {
		t.Errorf("picks by reason %v: want random and targeted ones", reasonsSeen)
	}
	if newHires == 0 || shortfalls == 0 {
		t.Errorf("%d new hires and %d shortfalls: the subset should exercise both", newHires, shortfalls)
	}
	t.Logf("%d weeks, %d picks (%v), %d shortfalls, %d new-hire agent-weeks, %d excluded",
		len(weeks), picks, reasonsSeen, shortfalls, newHires, excluded)
}
