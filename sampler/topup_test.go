package sampler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// withChannels gives the earlier picks of res their conversations'
// channels, as the caller of a top-up passes them.
func withChannels(picks []Pick, cs ...[]Conversation) []Pick {
	channel := map[string]string{}
	for _, list := range cs {
		for _, c := range list {
			channel[c.ExternalID] = c.Channel
		}
	}
	out := slices.Clone(picks)
	for i := range out {
		out[i].Channel = channel[out[i].ExternalID]
		out[i].Backfill = false // the store does not keep it
	}
	return out
}

// topUp samples cs as a top-up of a run that made earlier.
func topUp(t *testing.T, p Policy, agents []Agent, earlier []Pick, thresholds map[string]time.Duration, cs []Conversation) *Result {
	t.Helper()
	in := input(p, agents, cs)
	in.TopUp = &TopUp{Earlier: earlier, HandleTimeThresholds: thresholds}
	return mustSample(t, in)
}

func pickKeys(ps []Pick) map[PickKey]bool {
	out := map[PickKey]bool{}
	for _, p := range ps {
		out[PickKey{ExternalID: p.ExternalID, AgentID: p.AgentID}] = true
	}
	return out
}

// TestTopUpFillsTheQuotaFromLateChatsOnly: an agent short in the run gets
// the rest of the quota from late chats, ranked after the run's picks; an
// agent at quota gets nothing; nothing is picked twice.
func TestTopUpFillsTheQuotaFromLateChatsOnly(t *testing.T) {
	agents := []Agent{activeAgent("short", "t"), activeAgent("full", "t")}
	run := append(convs("s", 2, "short"), convs("f", 8, "full")...)
	res := mustSample(t, input(DefaultPolicy(), agents, run))
	if n := len(picksOf(res, "short")); n != 2 {
		t.Fatalf("run: short has %d picks, want 2", n)
	}
	late := append(convs("late-s", 10, "short"), convs("late-f", 10, "full")...)
	up := topUp(t, DefaultPolicy(), agents, withChannels(res.Picks, run), res.HandleTimeThresholds, late)

	added := picksOf(up, "short")
	if len(added) != 3 {
		t.Fatalf("top-up added %d picks for short, want 3: %+v", len(added), added)
	}
	for i, p := range added {
		if !slices.ContainsFunc(late, func(c Conversation) bool { return c.ExternalID == p.ExternalID }) {
			t.Errorf("top-up picked %s, not a late chat", p.ExternalID)
		}
		if p.Rank != 3+i {
			t.Errorf("pick %d has rank %d, want %d (after the run's 1, 2)", i, p.Rank, 3+i)
		}
	}
	// The random part had one slot left, then the two targeted slots
	// (no rule matches plain chats: backfilled).
	if got := reasons(added); !slices.Equal(got, []string{ReasonRandom, ReasonRandom, ReasonRandom}) || added[0].Backfill || !added[1].Backfill {
		t.Errorf("added %+v, want one random pick and two backfills", added)
	}
	if n := len(picksOf(up, "full")); n != 0 {
		t.Errorf("full, at quota in the run, got %d more picks", n)
	}
	if len(up.Shortfalls) != 0 {
		t.Errorf("Shortfalls after = %+v, want none", up.Shortfalls)
	}
	for k := range pickKeys(up.Picks) {
		if pickKeys(res.Picks)[k] {
			t.Errorf("%v picked again", k)
		}
	}
}

// TestTopUpIsIdempotent: a second top-up with no new chats, or reading the
// same late chats again, adds nothing; reading the whole week instead of
// the late chats only picks the same.
func TestTopUpIsIdempotent(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	w := makeWorld(rng, 60, 1200, 4, weekStart)
	run, late := w.conversations[:600], w.conversations[600:]
	// The run sees the first half; some agents are short there.
	res := mustSample(t, input(DefaultPolicy(), w.agents, run))
	earlier := withChannels(res.Picks, w.conversations)

	first := topUp(t, DefaultPolicy(), w.agents, earlier, res.HandleTimeThresholds, late)
	if len(first.Picks) == 0 {
		t.Fatal("the first top-up added nothing; the test world is too full")
	}
	whole := topUp(t, DefaultPolicy(), w.agents, earlier, res.HandleTimeThresholds, w.conversations)
	if !slices.Equal(first.Picks, whole.Picks) {
		t.Errorf("top-up over the whole week differs from the one over the late chats:\n%v\n%v", first.Picks, whole.Picks)
	}
	all := append(slices.Clone(earlier), withChannels(first.Picks, w.conversations)...)
	for _, cs := range [][]Conversation{nil, late, w.conversations} {
		again := topUp(t, DefaultPolicy(), w.agents, all, first.HandleTimeThresholds, cs)
		if len(again.Picks) != 0 {
			t.Errorf("second top-up over %d chats added %d picks: %+v", len(cs), len(again.Picks), again.Picks)
		}
		if len(again.Shortfalls) != len(first.Shortfalls) {
			t.Errorf("second top-up: %d shortfalls, the first left %d", len(again.Shortfalls), len(first.Shortfalls))
		}
	}
	// Nothing is picked twice for an agent, and each has as many picks as
	// a run over the whole week would give them: min(quota, eligible).
	count := map[string]int{}
	seen := map[PickKey]bool{}
	for _, p := range all {
		count[p.AgentID]++
		k := PickKey{ExternalID: p.ExternalID, AgentID: p.AgentID}
		if seen[k] {
			t.Errorf("%v picked twice", k)
		}
		seen[k] = true
	}
	full := mustSample(t, input(DefaultPolicy(), w.agents, w.conversations))
	for _, a := range w.agents {
		if got, want := count[a.ID], len(picksOf(full, a.ID)); got != want {
			t.Errorf("%s: %d picks after run and top-up, a run over the whole week makes %d", a.ID, got, want)
		}
	}
}

// TestTopUpOfAnAgentNewToTheRun: an agent with no pick in the run gets
// what a run would give them from the late chats.
func TestTopUpOfAnAgentNewToTheRun(t *testing.T) {
	agents := []Agent{activeAgent("old", "t"), activeAgent("new", "t")}
	run := convs("o", 3, "old")
	res := mustSample(t, input(DefaultPolicy(), agents, run))
	late := convs("n", 12, "new")
	late[4].Tags = []string{"complaint"}
	late[7].Channel = "phone"
	up := topUp(t, DefaultPolicy(), agents, withChannels(res.Picks, run), res.HandleTimeThresholds, late)
	alone := mustSample(t, input(DefaultPolicy(), agents, late))
	if got, want := picksOf(up, "new"), picksOf(alone, "new"); !slices.Equal(got, want) {
		t.Errorf("top-up picks for new:\n%+v\nwant a run's:\n%+v", got, want)
	}
}

// TestTopUpCoverageAndRoundRobin: channels of earlier picks count as
// covered, and a rule that already took a slot waits for the others.
func TestTopUpCoverageAndRoundRobin(t *testing.T) {
	agents := []Agent{activeAgent("a", "t")}
	earlier := []Pick{
		{ExternalID: "r1", AgentID: "a", Reason: ReasonRandom, Rank: 1, Channel: "chat"},
		{ExternalID: "r2", AgentID: "a", Reason: ReasonRandom, Rank: 2, Channel: "chat"},
		{ExternalID: "t1", AgentID: "a", Reason: RuleComplaint, Rank: 3, Channel: "chat"},
	}
	late := convs("late", 6, "a")
	late[0].Channel = "phone"
	late[1].Tags = []string{"complaint"}
	late[2].CustomerTier = "vip"
	late[3].Channel = "chat"
	up := topUp(t, DefaultPolicy(), agents, earlier, nil, late)
	got := picksOf(up, "a")
	if len(got) != 2 {
		t.Fatalf("added %+v, want 2 picks (one random, one targeted)", got)
	}
	if got[0].ExternalID != "late-000" || got[0].Reason != ReasonRandom || got[0].Rank != 4 {
		t.Errorf("random pick %+v, want late-000 (the uncovered phone channel) at rank 4", got[0])
	}
	if got[1].ExternalID != "late-002" || got[1].Reason != RuleVIP || got[1].Rank != 5 {
		t.Errorf("targeted pick %+v, want late-002 for vip (complaint already had its slot) at rank 5", got[1])
	}
}

// TestTopUpCountsBackfillAsTargeted: random picks beyond the random quota
// filled targeted slots, so an agent at 3 random + 2 backfilled is full.
func TestTopUpCountsBackfillAsTargeted(t *testing.T) {
	agents := []Agent{activeAgent("a", "t")}
	var earlier []Pick
	for i := range 5 {
		earlier = append(earlier, Pick{ExternalID: fmt.Sprintf("e%d", i), AgentID: "a", Reason: ReasonRandom, Rank: i + 1, Channel: "chat"})
	}
	late := convs("late", 4, "a")
	late[0].Tags = []string{"complaint"}
	if up := topUp(t, DefaultPolicy(), agents, earlier, nil, late); len(up.Picks) != 0 {
		t.Errorf("added %+v to a full agent", up.Picks)
	}
}

// TestTopUpKeepsTheRunsHandleTimeThreshold: a late chat is long when it is
// above the threshold the run computed, not above its own percentile.
func TestTopUpKeepsTheRunsHandleTimeThreshold(t *testing.T) {
	p := DefaultPolicy()
	p.Rules = []string{RuleLongHandleTime}
	p.RandomPerAgent = 1
	agents := []Agent{activeAgent("a", "t")}
	earlier := []Pick{{ExternalID: "e", AgentID: "a", Reason: ReasonRandom, Rank: 1, Channel: "chat"}}
	late := convs("late", 10, "a")
	for i := range late {
		late[i].HandleTime = time.Duration(i+1) * time.Minute
	}
	up := topUp(t, p, agents, earlier, map[string]time.Duration{"team:t": 9*time.Minute + 30*time.Second}, late)
	got := picksOf(up, "a")
	if len(got) != 2 || got[0].ExternalID != "late-009" || got[0].Reason != RuleLongHandleTime {
		t.Errorf("picks %+v, want late-009 (10 min, the only one above the run's 9.5 min) for long_handle_time, then a backfill", got)
	}
	if up.HandleTimeThresholds["team:t"] != 9*time.Minute+30*time.Second {
		t.Errorf("thresholds %v, want the run's kept", up.HandleTimeThresholds)
	}
}

func TestTopUpRejectsAlternatesAndDuplicates(t *testing.T) {
	in := input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, nil)
	in.TopUp = &TopUp{}
	in.Alternates = 2
	if _, err := Sample(in); err == nil {
		t.Error("a top-up with alternates was accepted")
	}
	in.Alternates = 0
	in.TopUp.Earlier = []Pick{{ExternalID: "x", AgentID: "a"}, {ExternalID: "x", AgentID: "a"}}
	if _, err := Sample(in); err == nil {
		t.Error("an earlier pick listed twice was accepted")
	}
}
