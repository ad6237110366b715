package sampler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"qa-sampling/isoweek"
)

var (
	shanghai = mustLoad("Asia/Shanghai")
	// testWeek is 2026-W47: Monday 16 November to Sunday 22 November 2026.
	testWeek  = isoweek.Week{Year: 2026, Number: 47}
	weekStart = time.Date(2026, time.November, 16, 0, 0, 0, 0, shanghai)
	testSeed  = []byte("0123456789abcdef-test-seed")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// midweek is a time inside testWeek.
var midweek = weekStart.Add(50 * time.Hour)

// conv is a plain eligible conversation of testWeek for agents.
func conv(id string, agents ...string) Conversation {
	return Conversation{
		ExternalID:           id,
		AgentIDs:             agents,
		Channel:              "chat",
		CustomerTier:         "regular",
		HandleTime:           5 * time.Minute,
		EndedAt:              midweek,
		MessageCount:         6,
		AgentMessageCount:    3,
		CustomerMessageCount: 3,
	}
}

// convs is n plain conversations "<prefix>-000".. for agent.
func convs(prefix string, n int, agent string) []Conversation {
	out := make([]Conversation, n)
	for i := range out {
		out[i] = conv(fmt.Sprintf("%s-%03d", prefix, i), agent)
	}
	return out
}

func activeAgent(id, team string) Agent {
	return Agent{ID: id, TeamID: team, Active: true, HiredOn: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// input is a run of testWeek under policy p.
func input(p Policy, agents []Agent, cs []Conversation) *Input {
	return &Input{
		Params:        Params{Policy: p, Week: testWeek, Seed: testSeed, Agents: agents},
		Conversations: cs,
	}
}

func mustSample(t testing.TB, in *Input) *Result {
	t.Helper()
	res, err := Sample(in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// picksOf returns agent's picks in rank order.
func picksOf(res *Result, agent string) []Pick {
	var out []Pick
	for _, p := range res.Picks {
		if p.AgentID == agent {
			out = append(out, p)
		}
	}
	return out
}

func ids(ps []Pick) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ExternalID
	}
	return out
}

func reasons(ps []Pick) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Reason
	}
	return out
}

func summaryOf(t *testing.T, res *Result, agent string) AgentSummary {
	t.Helper()
	for _, s := range res.Agents {
		if s.AgentID == agent {
			return s
		}
	}
	t.Fatalf("no summary for agent %q", agent)
	return AgentSummary{}
}

// byKeyOrder returns the ids of cs sorted by their key under testSeed.
func byKeyOrder(cs []Conversation) []string {
	out := make([]string, len(cs))
	for i := range cs {
		out[i] = cs[i].ExternalID
	}
	slices.SortFunc(out, func(a, b string) int {
		ka, kb := Key(testSeed, a), Key(testSeed, b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return out
}

// world is a synthetic week: agents in teams, conversations over several
// channels with a realistic share of each rule's matches, transfers and
// exclusions.
type world struct {
	agents        []Agent
	conversations []Conversation
}

var worldChannels = []string{"chat", "chat", "chat", "chat", "chat", "chat", "phone", "phone", "email", "social"}

func makeWorld(rng *rand.Rand, agents, conversations, teams int, start time.Time) world {
	var w world
	for i := range agents {
		a := Agent{
			ID:     fmt.Sprintf("agent-%04d", i),
			TeamID: fmt.Sprintf("team-%02d", i%teams),
			Active: rng.IntN(50) != 0,
		}
		if rng.IntN(10) != 0 {
			a.HiredOn = start.AddDate(0, 0, -rng.IntN(400))
		}
		w.agents = append(w.agents, a)
	}
	w.conversations = make([]Conversation, conversations)
	for i := range w.conversations {
		c := &w.conversations[i]
		c.ExternalID = fmt.Sprintf("conv-%010d", i)
		c.AgentIDs = []string{w.agents[rng.IntN(agents)].ID}
		if rng.IntN(30) == 0 {
			c.AgentIDs = append(c.AgentIDs, w.agents[rng.IntN(agents)].ID)
			c.TransferCount = 1 + rng.IntN(2)
		}
		c.Channel = worldChannels[rng.IntN(len(worldChannels))]
		c.CustomerTier = "regular"
		if rng.IntN(20) == 0 {
			c.CustomerTier = "vip"
		}
		if rng.IntN(20) == 0 {
			c.Tags = append(c.Tags, "complaint")
		}
		if rng.IntN(50) == 0 {
			c.Tags = append(c.Tags, "escalated")
		}
		if rng.IntN(2) == 0 {
			c.CSAT = 1 + rng.IntN(5)
		}
		c.HandleTime = time.Duration(60+rng.ExpFloat64()*600) * time.Second
		c.EndedAt = start.Add(time.Duration(rng.Int64N(int64(7 * 24 * time.Hour))))
		c.AgentMessageCount = 1 + rng.IntN(20)
		c.CustomerMessageCount = 1 + rng.IntN(20)
		c.MessageCount = c.AgentMessageCount + c.CustomerMessageCount + rng.IntN(3)
		switch rng.IntN(100) {
		case 0:
			c.AgentMessageCount, c.CustomerMessageCount = 0, 0
		case 1:
			c.AgentMessageCount = 0
		}
	}
	return w
}
