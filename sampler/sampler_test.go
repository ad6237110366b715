package sampler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"qa-sampling/isoweek"
)

// sortedByKey returns n conversations for agent, ordered so that the first
// has the smallest key: tests give the later ones rule matches, so that the
// random part (smallest keys) leaves them to the targeted part.
func sortedByKey(prefix string, n int, agent string) []Conversation {
	cs := convs(prefix, n, agent)
	order := byKeyOrder(cs)
	out := make([]Conversation, n)
	for i, id := range order {
		out[i] = conv(id, agent)
	}
	return out
}

func TestDeterministicAndOrderIndependent(t *testing.T) {
	w := makeWorld(rand.New(rand.NewPCG(21, 22)), 60, 6000, 4, weekStart)
	in := input(DefaultPolicy(), w.agents, w.conversations)
	in.Alternates = 2
	want := mustSample(t, in)
	if len(want.Picks) < 200 {
		t.Fatalf("only %d picks; the world is too small to test anything", len(want.Picks))
	}
	if again := mustSample(t, in); !reflect.DeepEqual(again, want) {
		t.Fatal("the same input gave a different result")
	}

	// Shuffle conversations, agents, each conversation's authors, tags and
	// flags; feed them one at a time instead of in batches.
	rng := rand.New(rand.NewPCG(23, 24))
	shuffled := input(DefaultPolicy(), slices.Clone(w.agents), slices.Clone(w.conversations))
	shuffled.Alternates = 2
	rng.Shuffle(len(shuffled.Conversations), func(i, j int) {
		shuffled.Conversations[i], shuffled.Conversations[j] = shuffled.Conversations[j], shuffled.Conversations[i]
	})
	rng.Shuffle(len(shuffled.Agents), func(i, j int) { shuffled.Agents[i], shuffled.Agents[j] = shuffled.Agents[j], shuffled.Agents[i] })
	for i := range shuffled.Conversations {
		c := &shuffled.Conversations[i]
		c.AgentIDs = slices.Clone(c.AgentIDs)
		slices.Reverse(c.AgentIDs)
		c.Tags = slices.Clone(c.Tags)
		slices.Reverse(c.Tags)
	}
	r, err := NewRun(&shuffled.Params)
	if err != nil {
		t.Fatal(err)
	}
	for i := range shuffled.Conversations {
		r.Add(&shuffled.Conversations[i])
	}
	if got := r.Result(); !reflect.DeepEqual(got, want) {
		t.Error("shuffled input gave a different result")
	}

	other := input(DefaultPolicy(), w.agents, w.conversations)
	other.Seed = []byte("a different seed, same week")
	if got := mustSample(t, other); reflect.DeepEqual(ids(got.Picks), ids(want.Picks)) {
		t.Error("another seed picked the same conversations")
	}
}

func TestResultIsOrderedAndAuditable(t *testing.T) {
	w := makeWorld(rand.New(rand.NewPCG(25, 26)), 40, 3000, 3, weekStart)
	res := mustSample(t, input(DefaultPolicy(), w.agents, w.conversations))
	for i, p := range res.Picks {
		if !p.KeyMatches(testSeed) {
			t.Errorf("pick %+v: key does not match the seed", p)
		}
		if i == 0 || res.Picks[i-1].AgentID != p.AgentID {
			if p.Rank != 1 {
				t.Errorf("agent %s: first pick has rank %d", p.AgentID, p.Rank)
			}
			continue
		}
		prev := res.Picks[i-1]
		if prev.AgentID > p.AgentID || p.Rank != prev.Rank+1 {
			t.Errorf("picks out of order: %+v then %+v", prev, p)
		}
	}
	for i := 1; i < len(res.Agents); i++ {
		if res.Agents[i-1].AgentID >= res.Agents[i].AgentID {
			t.Errorf("summaries out of order at %d", i)
		}
	}
}

func TestQuotasAndShortfalls(t *testing.T) {
	monday := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	hired := func(daysBeforeMonday int) Agent {
		return Agent{ID: "a", TeamID: "t", Active: true, HiredOn: monday.AddDate(0, 0, -daysBeforeMonday)}
	}
	tests := []struct {
		name          string
		agent         Agent
		policy        func(*Policy)
		conversations int
		wantPicks     int
		wantNewHire   bool
		wantShortfall *Shortfall
	}{
		{name: "full quota: 3 random + 2 backfilled", agent: hired(400), conversations: 20, wantPicks: 5},
		{name: "exactly the quota", agent: hired(400), conversations: 5, wantPicks: 5},
		{name: "fewer than the quota: all, with a shortfall", agent: hired(400), conversations: 4, wantPicks: 4,
			wantShortfall: &Shortfall{AgentID: "a", Wanted: 5, Got: 4}},
		{name: "fewer than the random part", agent: hired(400), conversations: 2, wantPicks: 2,
			wantShortfall: &Shortfall{AgentID: "a", Wanted: 5, Got: 2}},
		{name: "one conversation", agent: hired(400), conversations: 1, wantPicks: 1,
			wantShortfall: &Shortfall{AgentID: "a", Wanted: 5, Got: 1}},
		{name: "new hire: 89 days", agent: hired(89), conversations: 20, wantPicks: 7, wantNewHire: true},
		{name: "exactly 90 days is not a new hire", agent: hired(90), conversations: 20, wantPicks: 5},
		{name: "hired during the week", agent: hired(-3), conversations: 20, wantPicks: 7, wantNewHire: true},
		{name: "new hire with a shortfall", agent: hired(10), conversations: 6, wantPicks: 6, wantNewHire: true,
			wantShortfall: &Shortfall{AgentID: "a", Wanted: 7, Got: 6}},
		{name: "unknown hire date is not a new hire", agent: Agent{ID: "a", TeamID: "t", Active: true}, conversations: 20, wantPicks: 5},
		{name: "new_hire_days 0 turns the extra off", agent: hired(-3), policy: func(p *Policy) { p.NewHireDays = 0 },
			conversations: 20, wantPicks: 5},
		{name: "larger quotas", agent: hired(400), policy: func(p *Policy) { p.RandomPerAgent, p.TargetedPerAgent = 6, 4 },
			conversations: 30, wantPicks: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			res := mustSample(t, input(p, []Agent{tt.agent}, convs("c", tt.conversations, "a")))
			picks := picksOf(res, "a")
			if len(picks) != tt.wantPicks {
				t.Errorf("%d picks, want %d: %v", len(picks), tt.wantPicks, ids(picks))
			}
			if got := len(slices.Compact(slices.Sorted(slices.Values(ids(picks))))); got != len(picks) {
				t.Errorf("a conversation was picked twice: %v", ids(picks))
			}
			sum := summaryOf(t, res, "a")
			if sum.NewHire != tt.wantNewHire {
				t.Errorf("NewHire = %v, want %v", sum.NewHire, tt.wantNewHire)
			}
			if sum.Random+sum.Targeted+sum.Backfilled != len(picks) || sum.Eligible != tt.conversations {
				t.Errorf("summary %+v does not add up", sum)
			}
			switch {
			case tt.wantShortfall == nil && len(res.Shortfalls) > 0:
				t.Errorf("Shortfalls = %+v, want none", res.Shortfalls)
			case tt.wantShortfall != nil && (len(res.Shortfalls) != 1 || res.Shortfalls[0] != *tt.wantShortfall):
				t.Errorf("Shortfalls = %+v, want [%+v]", res.Shortfalls, *tt.wantShortfall)
			}
		})
	}
}

func TestBackfillTakesTheNextKeys(t *testing.T) {
	cs := sortedByKey("c", 10, "a")
	res := mustSample(t, input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, cs))
	picks := picksOf(res, "a")
	want := []string{cs[0].ExternalID, cs[1].ExternalID, cs[2].ExternalID, cs[3].ExternalID, cs[4].ExternalID}
	if !slices.Equal(ids(picks), want) {
		t.Errorf("picks %v, want the five smallest keys %v", ids(picks), want)
	}
	for i, p := range picks {
		if p.Reason != ReasonRandom || p.Backfill != (i >= 3) {
			t.Errorf("pick %d: reason %q backfill %v, want random, backfill only for the targeted slots", i, p.Reason, p.Backfill)
		}
	}
	if s := summaryOf(t, res, "a"); s.Random != 3 || s.Backfilled != 2 || s.Targeted != 0 {
		t.Errorf("summary %+v, want 3 random and 2 backfilled", s)
	}
}

func TestCoverageSkipsInactiveAndUnknownAgents(t *testing.T) {
	agents := []Agent{activeAgent("active", "t"), {ID: "gone", TeamID: "t", Active: false}, activeAgent("idle", "t")}
	cs := append(convs("x", 6, "active"), convs("y", 6, "gone")...)
	cs = append(cs, convs("z", 2, "stranger")...)
	res := mustSample(t, input(DefaultPolicy(), agents, cs))
	if n := len(picksOf(res, "active")); n != 5 {
		t.Errorf("active agent: %d picks, want 5", n)
	}
	for _, a := range []string{"gone", "stranger", "idle"} {
		if n := len(picksOf(res, a)); n != 0 {
			t.Errorf("agent %s: %d picks, want none", a, n)
		}
	}
	if len(res.Agents) != 1 || len(res.Shortfalls) != 0 {
		t.Errorf("Agents %+v, Shortfalls %+v: want only the active agent, no shortfall", res.Agents, res.Shortfalls)
	}
	if res.Stats.InactiveAuthors != 6 || res.Stats.UnknownAuthors != 2 {
		t.Errorf("Stats = %+v, want 6 inactive and 2 unknown authors", res.Stats)
	}
}

func TestChannelCoverageFirst(t *testing.T) {
	var cs []Conversation
	add := func(channel string, n int) {
		for i := range n {
			c := conv(fmt.Sprintf("%s-%02d", channel, i), "a")
			c.Channel = channel
			cs = append(cs, c)
		}
	}
	add("chat", 30)
	add("phone", 6)
	add("email", 3)
	add("social", 3)
	firstOf := func(channel string) string {
		var in []Conversation
		for _, c := range cs {
			if c.Channel == channel {
				in = append(in, c)
			}
		}
		return byKeyOrder(in)[0]
	}

	tests := []struct {
		name   string
		random int
		want   []string
	}{
		// Busiest first; email and social tie at 3 and go by name.
		{"quota covers all channels", 4, []string{firstOf("chat"), firstOf("phone"), firstOf("email"), firstOf("social")}},
		{"quota runs out", 3, []string{firstOf("chat"), firstOf("phone"), firstOf("email")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.RandomPerAgent = tt.random
			res := mustSample(t, input(p, []Agent{activeAgent("a", "t")}, cs))
			got := ids(picksOf(res, "a"))[:tt.random]
			if !slices.Equal(got, tt.want) {
				t.Errorf("random picks %v, want %v", got, tt.want)
			}
		})
	}

	// With more random slots than channels, the rest go by key over all
	// channels, skipping the coverage picks.
	p := DefaultPolicy()
	p.RandomPerAgent = 6
	res := mustSample(t, input(p, []Agent{activeAgent("a", "t")}, cs))
	got := ids(picksOf(res, "a"))[:6]
	covered := []string{firstOf("chat"), firstOf("phone"), firstOf("email"), firstOf("social")}
	var rest []string
	for _, id := range byKeyOrder(cs) {
		if !slices.Contains(covered, id) && len(rest) < 2 {
			rest = append(rest, id)
		}
	}
	if want := append(covered, rest...); !slices.Equal(got, want) {
		t.Errorf("random picks %v, want %v", got, want)
	}
}

// targetedPicks samples an agent with 10 plain conversations (smallest
// keys, so the random part takes from them) and one more per edit, and
// returns the targeted picks.
func targetedPicks(t *testing.T, p Policy, edits ...func(*Conversation)) []Pick {
	t.Helper()
	cs := sortedByKey("c", 10+len(edits), "a")
	for i, edit := range edits {
		edit(&cs[10+i])
	}
	res := mustSample(t, input(p, []Agent{activeAgent("a", "t")}, cs))
	var out []Pick
	for _, pk := range picksOf(res, "a") {
		if pk.Reason != ReasonRandom {
			out = append(out, pk)
		}
	}
	return out
}

func tag(tags ...string) func(*Conversation) {
	return func(c *Conversation) { c.Tags = append(c.Tags, tags...) }
}

func vip(c *Conversation) { c.CustomerTier = "vip" }

func csat(n int) func(*Conversation) { return func(c *Conversation) { c.CSAT = n } }

func TestTargetedPriorityAndRoundRobin(t *testing.T) {
	tests := []struct {
		name     string
		targeted int
		edits    []func(*Conversation)
		want     []string
	}{
		{"round-robin: a VIP chat is looked at despite many complaints", 2,
			[]func(*Conversation){tag("complaint"), tag("complaint"), tag("complaint"), vip},
			[]string{"complaint", "vip"}},
		{"a rule fills several slots when the others have nothing", 2,
			[]func(*Conversation){tag("complaint"), tag("complaint"), tag("complaint")},
			[]string{"complaint", "complaint"}},
		{"priority order decides who goes first", 1,
			[]func(*Conversation){vip, csat(1), tag("escalated")},
			[]string{"low_csat"}},
		{"second pass after every rule had one", 3,
			[]func(*Conversation){vip, tag("complaint"), tag("complaint")},
			[]string{"complaint", "vip", "complaint"}},
		{"one conversation matching two rules is picked once, for the first", 2,
			[]func(*Conversation){func(c *Conversation) { c.Tags = []string{"complaint"}; c.CustomerTier = "vip" }},
			[]string{"complaint"}},
		{"no matches: no targeted picks (backfilled instead)", 2, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.TargetedPerAgent = tt.targeted
			got := targetedPicks(t, p, tt.edits...)
			if !slices.Equal(reasons(got), tt.want) {
				t.Errorf("targeted reasons %q, want %q", reasons(got), tt.want)
			}
		})
	}
}

func TestTargetedWithinARuleBySmallestKey(t *testing.T) {
	cs := sortedByKey("c", 20, "a")
	// Complaints at positions 12, 15, 18: the random part takes 0..2.
	for _, i := range []int{18, 12, 15} {
		cs[i].Tags = []string{"complaint"}
	}
	p := DefaultPolicy()
	res := mustSample(t, input(p, []Agent{activeAgent("a", "t")}, cs))
	picks := picksOf(res, "a")
	if got, want := ids(picks[3:]), []string{cs[12].ExternalID, cs[15].ExternalID}; !slices.Equal(got, want) {
		t.Errorf("targeted %v, want the complaints with the smallest keys %v", got, want)
	}
}

func TestRandomPartIsNotRelabelled(t *testing.T) {
	// Every conversation is a complaint: the random part still takes its
	// three (reason random), and the targeted part the next two.
	cs := sortedByKey("c", 8, "a")
	for i := range cs {
		cs[i].Tags = []string{"complaint"}
	}
	res := mustSample(t, input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, cs))
	got := reasons(picksOf(res, "a"))
	if want := []string{"random", "random", "random", "complaint", "complaint"}; !slices.Equal(got, want) {
		t.Errorf("reasons %q, want %q", got, want)
	}
}

func TestRulePredicates(t *testing.T) {
	tests := []struct {
		rule  string
		edit  func(*Conversation)
		match bool
	}{
		{"complaint", tag("complaint"), true},
		{"complaint", tag("Complaint"), true},
		{"complaint", tag("refund"), false},
		{"low_csat", csat(1), true},
		{"low_csat", csat(2), true},
		{"low_csat", csat(3), false},
		{"low_csat", csat(0), false}, // no rating is not a low rating
		{"escalated", tag("escalated"), true},
		{"escalated", func(c *Conversation) { c.TransferCount = 2 }, true},
		{"escalated", func(c *Conversation) { c.TransferCount = 1 }, false},
		{"vip", vip, true},
		{"vip", func(c *Conversation) { c.CustomerTier = "VIP" }, true},
		{"vip", func(c *Conversation) { c.CustomerTier = "gold" }, false},
		{"check:no_greeting", func(c *Conversation) { c.Flags = []string{"slow", "no_greeting"} }, true},
		{"check:no_greeting", func(c *Conversation) { c.Flags = []string{"slow"} }, false},
	}
	for _, tt := range tests {
		c := conv("x", "a")
		tt.edit(&c)
		t.Run(fmt.Sprintf("%s %+v", tt.rule, c), func(t *testing.T) {
			p := DefaultPolicy()
			p.Rules = []string{tt.rule}
			got := targetedPicks(t, p, tt.edit)
			if matched := len(got) == 1 && got[0].Reason == tt.rule; matched != tt.match {
				t.Errorf("targeted picks %v, want a match: %v", got, tt.match)
			}
		})
	}
}

func TestCSATZeroIsNotLow(t *testing.T) {
	cs := sortedByKey("c", 12, "a") // the last is not in the random part
	for i := range cs {
		cs[i].CSAT = 0
	}
	cs[11].CSAT = 2
	p := DefaultPolicy()
	p.Rules = []string{RuleLowCSAT}
	res := mustSample(t, input(p, []Agent{activeAgent("a", "t")}, cs))
	var low []string
	for _, pk := range picksOf(res, "a") {
		if pk.Reason == RuleLowCSAT {
			low = append(low, pk.ExternalID)
		}
	}
	if want := []string{cs[11].ExternalID}; !slices.Equal(low, want) {
		t.Errorf("low_csat picks %v, want only the rated-2 one %v", low, want)
	}
}

func TestLongHandleTimeIsStrictlyAboveTheTeamPercentile(t *testing.T) {
	// Team t: agent a has ten plain chats of 1 minute plus chats of 9 and
	// 10 minutes; agent b has eight of 1..8 minutes. Team o is elsewhere
	// and much slower, which must not matter.
	cs := sortedByKey("a", 12, "a")
	for i := range cs {
		cs[i].HandleTime = time.Minute
	}
	nine, ten := cs[10].ExternalID, cs[11].ExternalID
	cs[10].HandleTime, cs[11].HandleTime = 9*time.Minute, 10*time.Minute
	for i := 1; i <= 8; i++ {
		c := conv(fmt.Sprintf("b%d", i), "b")
		c.HandleTime = time.Duration(i) * time.Minute
		cs = append(cs, c)
	}
	for i := range 5 {
		c := conv(fmt.Sprintf("o%d", i), "o")
		c.HandleTime = time.Hour
		cs = append(cs, c)
	}
	agents := []Agent{activeAgent("a", "t"), activeAgent("b", "t"), activeAgent("o", "other")}
	// Team t's 20 handle times, sorted: 1m eleven times (a's ten and b1),
	// then 2m..8m, 9m, 10m.
	tests := []struct {
		percentile float64
		threshold  time.Duration
		want       []string // a's long_handle_time picks
	}{
		{0.90, 8 * time.Minute, []string{nine, ten}}, // 18th of 20 is 8m: 9m and 10m are above
		{0.95, 9 * time.Minute, []string{ten}},       // 19th is 9m: only 10m is strictly above
		{0.99, 10 * time.Minute, nil},                // 20th is 10m: nothing is above the maximum
		{0.50, 1 * time.Minute, []string{nine, ten}}, // two slots
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.percentile), func(t *testing.T) {
			p := DefaultPolicy()
			p.Rules = []string{RuleLongHandleTime}
			p.HandleTimePercentile = tt.percentile
			res := mustSample(t, input(p, agents, cs))
			var got []string
			for _, pk := range picksOf(res, "a") {
				if pk.Reason == RuleLongHandleTime {
					got = append(got, pk.ExternalID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("long_handle_time picks %v, want %v", got, tt.want)
			}
			s := summaryOf(t, res, "a")
			if s.HandleTimeThreshold != tt.threshold || s.TeamConversations != 20 {
				t.Errorf("threshold %v over %d conversations, want %v over 20", s.HandleTimeThreshold, s.TeamConversations, tt.threshold)
			}
		})
	}
}

func TestTeamPercentileCountsEachConversationOncePerTeam(t *testing.T) {
	// Four 1-minute conversations shared by a and b of team t, and a's own
	// 10-minute one: the team had 5 conversations, not 9. At p=0.85 the
	// 5th of 5 is 10m; counting the shared ones twice would make it the
	// 8th of 9, 1m.
	var cs []Conversation
	for i := range 4 {
		c := conv(fmt.Sprintf("b%d", i), "a", "b")
		c.HandleTime = time.Minute
		cs = append(cs, c)
	}
	long := conv("long", "a")
	long.HandleTime = 10 * time.Minute
	cs = append(cs, long)
	p := DefaultPolicy()
	p.Rules = []string{RuleLongHandleTime}
	p.HandleTimePercentile = 0.85
	res := mustSample(t, input(p, []Agent{activeAgent("a", "t"), activeAgent("b", "t")}, cs))
	s := summaryOf(t, res, "a")
	if s.TeamConversations != 5 || s.HandleTimeThreshold != 10*time.Minute {
		t.Errorf("team percentile over %d conversations = %v, want over 5 = 10m", s.TeamConversations, s.HandleTimeThreshold)
	}
}

func TestExclusions(t *testing.T) {
	botOnly := conv("bot-only", "a")
	botOnly.MessageCount, botOnly.AgentMessageCount, botOnly.CustomerMessageCount = 4, 0, 0
	silent := conv("no-agent-message", "a")
	silent.MessageCount, silent.AgentMessageCount, silent.CustomerMessageCount = 2, 0, 2
	picked := conv("picked-before", "a")
	shared := conv("picked-before-for-a-only", "a", "b")
	cs := []Conversation{botOnly, silent, picked, shared, conv("ok-1", "a"), conv("ok-2", "a")}

	in := input(DefaultPolicy(), []Agent{activeAgent("a", "t"), activeAgent("b", "t")}, cs)
	in.AlreadyPicked = map[PickKey]bool{
		{ExternalID: "picked-before", AgentID: "a"}:            true,
		{ExternalID: "picked-before-for-a-only", AgentID: "a"}: true,
	}
	res := mustSample(t, in)
	if got := ids(picksOf(res, "a")); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"ok-1", "ok-2"}) {
		t.Errorf("a's picks %v, want only ok-1 and ok-2", got)
	}
	if got := ids(picksOf(res, "b")); !slices.Equal(got, []string{"picked-before-for-a-only"}) {
		t.Errorf("b's picks %v: an earlier pick for a must not exclude b's part", got)
	}
	want := Stats{Conversations: 6, NoAgentMessage: 1, BotOnly: 1, AlreadyPicked: 2, Candidates: 3}
	if res.Stats != want {
		t.Errorf("Stats = %+v, want %+v", res.Stats, want)
	}
	if s := summaryOf(t, res, "a"); s.Handled != 4 || s.AlreadyPicked != 2 || s.Eligible != 2 {
		t.Errorf("a's summary %+v, want 4 handled, 2 already picked, 2 eligible", s)
	}
	if len(res.Shortfalls) != 2 || res.Shortfalls[0] != (Shortfall{AgentID: "a", Wanted: 5, Got: 2}) {
		t.Errorf("Shortfalls = %+v", res.Shortfalls)
	}

	// An agent whose only chats had no agent message handled nothing.
	res = mustSample(t, input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, []Conversation{botOnly, silent}))
	if len(res.Agents) != 0 || len(res.Shortfalls) != 0 {
		t.Errorf("agent with only excluded chats: Agents %+v, Shortfalls %+v, want none", res.Agents, res.Shortfalls)
	}
}

func TestTransfers(t *testing.T) {
	// One conversation written by a, b and (repeated) a again.
	transferred := conv("transferred", "a", "b", "a")
	cs := []Conversation{transferred, conv("a-own", "a"), conv("b-own", "b")}
	res := mustSample(t, input(DefaultPolicy(), []Agent{activeAgent("a", "t"), activeAgent("b", "u")}, cs))
	for agent, want := range map[string][]string{"a": {"a-own", "transferred"}, "b": {"b-own", "transferred"}} {
		got := slices.Sorted(slices.Values(ids(picksOf(res, agent))))
		if !slices.Equal(got, want) {
			t.Errorf("agent %s picks %v, want %v (counted once each)", agent, got, want)
		}
		if s := summaryOf(t, res, agent); s.Handled != 2 {
			t.Errorf("agent %s handled %d, want 2", agent, s.Handled)
		}
	}
	if res.Stats.Candidates != 4 {
		t.Errorf("Candidates = %d, want 4", res.Stats.Candidates)
	}
}

func TestWeekBoundariesInThePolicyZone(t *testing.T) {
	utc := func(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		ended time.Time
		in    bool
	}{
		{"Monday 00:00 Shanghai starts the week", time.Date(2026, 11, 16, 0, 0, 0, 0, shanghai), true},
		{"Sunday 23:59 Shanghai before the week", time.Date(2026, 11, 15, 23, 59, 0, 0, shanghai), false},
		{"Sunday 23:30 Shanghai = Sunday 15:30 UTC", utc(22, 15, 30), true},
		{"Monday 00:10 Shanghai = Sunday 16:10 UTC is next week", utc(22, 16, 10), false},
		{"last nanosecond", time.Date(2026, 11, 23, 0, 0, 0, 0, shanghai).Add(-1), true},
		{"next Monday 00:00", time.Date(2026, 11, 23, 0, 0, 0, 0, shanghai), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conv("c", "a")
			c.EndedAt = tt.ended
			res := mustSample(t, input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, []Conversation{c}))
			if in := len(res.Picks) == 1; in != tt.in {
				t.Errorf("picked = %v, want %v (stats %+v)", in, tt.in, res.Stats)
			}
			if !tt.in && res.Stats.OutsideWeek != 1 {
				t.Errorf("OutsideWeek = %d, want 1", res.Stats.OutsideWeek)
			}
			if got := isoweek.Of(tt.ended, shanghai) == testWeek; got != tt.in {
				t.Errorf("WeekOf disagrees with the run: %v", got)
			}
		})
	}
}

func TestAlternates(t *testing.T) {
	cs := sortedByKey("c", 30, "a")
	for _, i := range []int{20, 22, 24, 26} {
		cs[i].Tags = []string{"complaint"}
	}
	plain := mustSample(t, input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, cs))
	in := input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, cs)
	in.Alternates = 3
	res := mustSample(t, in)
	if !reflect.DeepEqual(res.Picks, plain.Picks) {
		t.Fatal("asking for alternates changed the picks")
	}
	var random, complaint []string
	for _, p := range res.Alternates {
		if p.Channel != "" {
			continue // drawn within a channel; see TestReplacementKeepsTheChannel
		}
		switch p.Reason {
		case ReasonRandom:
			random = append(random, p.ExternalID)
		case RuleComplaint:
			complaint = append(complaint, p.ExternalID)
		}
	}
	// Picks: 0, 1, 2 random; 20, 22 complaint; alternates continue.
	want := []string{cs[3].ExternalID, cs[4].ExternalID, cs[5].ExternalID}
	if !slices.Equal(random, want) {
		t.Errorf("random alternates %v, want %v", random, want)
	}
	if want := []string{cs[24].ExternalID, cs[26].ExternalID}; !slices.Equal(complaint, want) {
		t.Errorf("complaint alternates %v, want %v (only two left)", complaint, want)
	}
}

// A skipped phone pick was replaced by the next conversation in picking
// order, an email one, although another phone chat was eligible, and the
// replacement took rank 1 again.
// TestReplacementOfAnAdaptivePick: a skipped adaptive pick (one of the
// agent's next random candidates) is replaced by the next random
// alternate not taken, recorded as adaptive.
func TestReplacementOfAnAdaptivePick(t *testing.T) {
	cs := sortedByKey("c", 30, "a")
	in := input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, cs)
	in.Alternates = 5
	res := mustSample(t, in)
	picks := picksOf(res, "a")
	taken := map[string]bool{}
	for _, p := range picks {
		taken[p.ExternalID] = true
	}
	var next []string // random alternates in picking order, not taken
	for _, alt := range res.Alternates {
		if alt.AgentID == "a" && alt.Reason == ReasonRandom && !taken[alt.ExternalID] {
			next = append(next, alt.ExternalID)
		}
	}
	if len(next) < 2 {
		t.Fatalf("want two random alternates, have %v", next)
	}
	// The first of them was taken as an adaptive extra; it is skipped.
	adaptive := Pick{ExternalID: next[0], AgentID: "a", Reason: ReasonAdaptive, Rank: len(picks) + 1}
	taken[next[0]] = true
	got, ok := Replacement(res.Alternates, adaptive, "", taken, append(picks, adaptive))
	if !ok || got.ExternalID != next[1] || got.Reason != ReasonAdaptive || got.Rank != len(picks)+2 {
		t.Fatalf("replacement of adaptive pick %s: %+v (%v); want %s, adaptive, rank %d", adaptive.ExternalID, got, ok, next[1], len(picks)+2)
	}
}

func TestReplacementKeepsTheChannel(t *testing.T) {
	cs := sortedByKey("c", 30, "a")
	for i := range cs {
		cs[i].Channel = "email"
	}
	cs[2].Channel, cs[10].Channel = "phone", "phone"
	in := input(DefaultPolicy(), []Agent{activeAgent("a", "t")}, cs)
	in.Alternates = 5
	res := mustSample(t, in)
	// Random: email's first (0), phone's first (2), then by key (1);
	// targeted slots, no rule matching, backfilled by key (3, 4).
	picks := picksOf(res, "a")
	var ids []string
	for _, p := range picks {
		ids = append(ids, p.ExternalID)
	}
	if want := []string{cs[0].ExternalID, cs[2].ExternalID, cs[1].ExternalID, cs[3].ExternalID, cs[4].ExternalID}; !slices.Equal(ids, want) {
		t.Fatalf("picks %v, want %v", ids, want)
	}
	taken := map[string]bool{}
	for _, id := range ids {
		taken[id] = true
	}
	skipped := picks[1]
	got, ok := Replacement(res.Alternates, skipped, "phone", taken, picks)
	if !ok || got.ExternalID != cs[10].ExternalID || got.Reason != ReasonRandom || got.Rank != 6 || got.Channel != "" {
		t.Fatalf("replacement of phone pick %s: %+v (%v); want %s, random, rank 6", skipped.ExternalID, got, ok, cs[10].ExternalID)
	}
	if got.Key != Key(testSeed, got.ExternalID) {
		t.Errorf("replacement key %x, want its own", got.Key)
	}

	// No phone chat left: the next in picking order, whatever its channel,
	// after the highest rank so far (the first replacement's).
	taken[got.ExternalID] = true
	again, ok := Replacement(res.Alternates, got, "phone", taken, append(picks, got))
	if !ok || again.ExternalID != cs[5].ExternalID || again.Rank != 7 {
		t.Fatalf("replacement with no phone chat left: %+v (%v); want %s, rank 7", again, ok, cs[5].ExternalID)
	}
}

func TestNewRunRejects(t *testing.T) {
	bad := DefaultPolicy()
	bad.RandomPerAgent = -1
	tests := []struct {
		name   string
		params Params
		inErr  string
	}{
		{"invalid policy", Params{Policy: bad, Week: testWeek, Seed: testSeed}, "policy: random_per_agent"},
		{"zero week", Params{Policy: DefaultPolicy(), Seed: testSeed}, "week:"},
		{"week 53 of a 52-week year", Params{Policy: DefaultPolicy(), Week: isoweek.Week{Year: 2025, Number: 53}, Seed: testSeed}, "week:"},
		{"short seed", Params{Policy: DefaultPolicy(), Week: testWeek, Seed: []byte("short")}, "seed:"},
		{"negative alternates", Params{Policy: DefaultPolicy(), Week: testWeek, Seed: testSeed, Alternates: -1}, "alternates:"},
		{"empty agent id", Params{Policy: DefaultPolicy(), Week: testWeek, Seed: testSeed, Agents: []Agent{{}}}, "agents:"},
		{"duplicate agent", Params{Policy: DefaultPolicy(), Week: testWeek, Seed: testSeed,
			Agents: []Agent{activeAgent("a", "t"), activeAgent("a", "u")}}, `"a" listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRun(&tt.params)
			if err == nil || !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("NewRun() = %v, want an error containing %q", err, tt.inErr)
			}
		})
	}
}

func TestAgentWithoutTeamIsItsOwnTeam(t *testing.T) {
	cs := sortedByKey("c", 10, "solo")
	for i := range cs {
		cs[i].HandleTime = time.Duration(i+1) * time.Minute
	}
	other := conv("other", "b")
	other.HandleTime = time.Hour
	cs = append(cs, other)
	p := DefaultPolicy()
	p.Rules = []string{RuleLongHandleTime}
	solo := activeAgent("solo", "")
	res := mustSample(t, input(p, []Agent{solo, activeAgent("b", "")}, cs))
	if s := summaryOf(t, res, "solo"); s.TeamConversations != 10 || s.HandleTimeThreshold != 9*time.Minute {
		t.Errorf("solo's percentile over %d = %v, want over their own 10 = 9m", s.TeamConversations, s.HandleTimeThreshold)
	}
}
