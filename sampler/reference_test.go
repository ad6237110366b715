package sampler

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/width"
)

// reference is the sampler written the obvious way, from doc.go's rules:
// every eligible conversation of every agent in memory, lists fully
// sorted, no bounded structures, no streaming. TestSampleMatchesReference
// holds Sample to it.
func reference(t *testing.T, in *Input) *Result {
	t.Helper()
	p := in.Policy
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		t.Fatal(err)
	}
	start, end := in.Week.Bounds(loc)
	directory := make(map[string]Agent)
	for _, a := range in.Agents {
		directory[a.ID] = a
	}
	teamOf := func(a Agent) string {
		if a.TeamID == "" {
			return "self:" + a.ID
		}
		return "team:" + a.TeamID
	}

	type conv struct {
		*Conversation
		key uint64
	}
	eligible := make(map[string][]conv)
	handled := make(map[string]int)
	teamHandles := make(map[string][]time.Duration)
	for i := range in.Conversations {
		c := &in.Conversations[i]
		if c.EndedAt.Before(start) || !c.EndedAt.Before(end) || c.ExternalID == "" || c.AgentMessageCount == 0 {
			continue
		}
		teams := make(map[string]bool)
		for _, id := range c.AgentIDs {
			a, ok := directory[id]
			if !ok {
				continue
			}
			teams[teamOf(a)] = true
		}
		for team := range teams {
			teamHandles[team] = append(teamHandles[team], c.HandleTime)
		}
		authors := slices.Compact(slices.Sorted(slices.Values(c.AgentIDs)))
		for _, id := range authors {
			a, ok := directory[id]
			if !ok || !a.Active {
				continue
			}
			handled[id]++
			if in.AlreadyPicked[PickKey{ExternalID: c.ExternalID, AgentID: id}] {
				continue
			}
			eligible[id] = append(eligible[id], conv{c, Key(in.Seed, c.ExternalID)})
		}
	}
	threshold := make(map[string]time.Duration)
	for team, hs := range teamHandles {
		slices.Sort(hs)
		rank := int(math.Ceil(p.HandleTimePercentile*float64(len(hs)) - 1e-9))
		threshold[team] = hs[min(max(rank, 1), len(hs))-1]
	}

	res := &Result{}
	agentIDs := slices.Sorted(func(yield func(string) bool) {
		for id := range handled {
			if !yield(id) {
				return
			}
		}
	})
	for _, id := range agentIDs {
		a := directory[id]
		cs := eligible[id]
		slices.SortFunc(cs, func(x, y conv) int {
			if c := cmp.Compare(x.key, y.key); c != 0 {
				return c
			}
			return strings.Compare(x.ExternalID, y.ExternalID)
		})
		// New hire: the Monday comes before the day NewHireDays after hiring.
		randomQuota := p.RandomPerAgent
		if !a.HiredOn.IsZero() && p.NewHireDays > 0 {
			y, m, d := a.HiredOn.Date()
			sy, sm, sd := start.Date()
			if time.Date(sy, sm, sd, 0, 0, 0, 0, time.UTC).Before(time.Date(y, m, d+p.NewHireDays, 0, 0, 0, 0, time.UTC)) {
				randomQuota += p.NewHireExtra
			}
		}
		var picks []Pick
		isPicked := func(c conv) bool {
			return slices.ContainsFunc(picks, func(p Pick) bool { return p.ExternalID == c.ExternalID })
		}
		take := func(c conv, reason string, backfill bool) {
			picks = append(picks, Pick{ExternalID: c.ExternalID, AgentID: id, Reason: reason, Rank: len(picks) + 1, Key: c.key, Backfill: backfill})
		}
		firstFree := func(list []conv) (conv, bool) {
			for _, c := range list {
				if !isPicked(c) {
					return c, true
				}
			}
			return conv{}, false
		}

		volume := make(map[string]int)
		for _, c := range cs {
			volume[c.Channel]++
		}
		channels := slices.Collect(func(yield func(string) bool) {
			for ch := range volume {
				if !yield(ch) {
					return
				}
			}
		})
		slices.SortFunc(channels, func(x, y string) int {
			if c := cmp.Compare(volume[y], volume[x]); c != 0 {
				return c
			}
			return strings.Compare(x, y)
		})
		for _, ch := range channels {
			if len(picks) == randomQuota {
				break
			}
			for _, c := range cs {
				if c.Channel == ch {
					take(c, ReasonRandom, false)
					break
				}
			}
		}
		for len(picks) < randomQuota {
			c, ok := firstFree(cs)
			if !ok {
				break
			}
			take(c, ReasonRandom, false)
		}

		matches := make([][]conv, len(p.Rules))
		for i, name := range p.Rules {
			for _, c := range cs {
				if referenceMatch(&p, name, c.Conversation, threshold[teamOf(a)]) {
					matches[i] = append(matches[i], c)
				}
			}
		}
		for targeted := 0; targeted < p.TargetedPerAgent; {
			before := targeted
			for i, name := range p.Rules {
				if targeted == p.TargetedPerAgent {
					break
				}
				if c, ok := firstFree(matches[i]); ok {
					take(c, name, false)
					targeted++
				}
			}
			if targeted == before {
				break
			}
		}
		for len(picks) < randomQuota+p.TargetedPerAgent {
			c, ok := firstFree(cs)
			if !ok {
				break
			}
			take(c, ReasonRandom, true)
		}

		alternates := func(list []conv, reason, channel string) {
			rank := 0
			for _, c := range list {
				if rank == in.Alternates {
					return
				}
				if !isPicked(c) && (channel == "" || c.Channel == channel) {
					rank++
					res.Alternates = append(res.Alternates, Pick{ExternalID: c.ExternalID, AgentID: id, Reason: reason, Rank: rank, Key: c.key, Channel: channel})
				}
			}
		}
		alternates(cs, ReasonRandom, "")
		for i, name := range p.Rules {
			alternates(matches[i], name, "")
		}
		// Then within each channel, but for the long-handle-time rule.
		for _, ch := range channels {
			if in.Alternates == 0 {
				break
			}
			alternates(cs, ReasonRandom, ch)
			for i, name := range p.Rules {
				if name != RuleLongHandleTime {
					alternates(matches[i], name, ch)
				}
			}
		}
		res.Picks = append(res.Picks, picks...)
		if wanted := randomQuota + p.TargetedPerAgent; len(picks) < wanted {
			res.Shortfalls = append(res.Shortfalls, Shortfall{AgentID: id, Wanted: wanted, Got: len(picks)})
		}
	}
	return res
}

// referenceMatch restates the rules of doc.go: tags and tiers compared
// lower-cased after width folding, and the one kind of named rule
// randomInput makes (tags in, csat ≤).
func referenceMatch(p *Policy, rule string, c *Conversation, threshold time.Duration) bool {
	norm := func(s string) string { return strings.ToLower(width.Fold.String(s)) }
	among := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(w string) bool { return norm(w) == norm(v) })
	}
	tagged := func(tags []string) bool {
		return slices.ContainsFunc(c.Tags, func(t string) bool { return among(tags, t) })
	}
	switch rule {
	case "complaint":
		return tagged(p.ComplaintTags)
	case "low_csat":
		return c.CSAT >= 1 && c.CSAT <= p.LowCSATMax
	case "escalated":
		return tagged(p.EscalationTags) || p.EscalationMinTransfers > 0 && c.TransferCount >= p.EscalationMinTransfers
	case "vip":
		return among(p.VIPTiers, c.CustomerTier)
	case "long_handle_time":
		return c.HandleTime > threshold
	}
	if tag, ok := strings.CutPrefix(rule, "tag:"); ok {
		return tagged([]string{tag})
	}
	for _, nr := range p.NamedRules {
		if nr.Name == rule {
			maxCSAT, _ := strconv.Atoi(nr.When[1].Value)
			return tagged(nr.When[0].Values) && c.CSAT >= 1 && c.CSAT <= maxCSAT
		}
	}
	flag, ok := strings.CutPrefix(rule, "check:")
	return ok && slices.Contains(c.Flags, flag)
}

// randomInput is a small week built to hit edge cases: ties in handle
// time, hire dates around the new-hire boundary, agents without a team,
// inactive and unknown agents, transfers, repeated authors, exclusions,
// conversations just outside the week, and random policies.
func randomInput(rng *rand.Rand) *Input {
	p := DefaultPolicy()
	p.RandomPerAgent = rng.IntN(5)
	p.TargetedPerAgent = max(rng.IntN(4), MinQuota-p.RandomPerAgent)
	p.NewHireExtra = rng.IntN(3)
	all := []string{"complaint", "low_csat", "escalated", "vip", "long_handle_time", "check:no_greeting", "check:slow", "tag:退款", "unhappy_refund"}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	p.Rules = all[:rng.IntN(len(all)+1)]
	if slices.Contains(p.Rules, "unhappy_refund") {
		p.NamedRules = []NamedRule{{Name: "unhappy_refund", When: []Condition{
			{Field: FieldTags, Op: OpIn, Values: []string{"退款", "Refund"}},
			{Field: FieldCSAT, Op: OpLe, Value: strconv.Itoa(1 + rng.IntN(3))},
		}}}
	}
	if rng.IntN(2) == 0 {
		p.ComplaintTags = []string{"complaint"}
		p.VIPTiers = []string{"ＧＯＬＤ", "vip"}
		p.EscalationMinTransfers = rng.IntN(3)
		p.LowCSATMax = 1 + rng.IntN(4)
	}
	p.HandleTimePercentile = []float64{0.5, 0.75, 0.9}[rng.IntN(3)]

	in := &Input{Params: Params{Policy: p, Week: testWeek, Seed: testSeed, Alternates: rng.IntN(4)}}
	nAgents := 1 + rng.IntN(8)
	for i := range nAgents {
		a := Agent{ID: fmt.Sprintf("a%d", i), TeamID: []string{"", "t1", "t2"}[rng.IntN(3)], Active: rng.IntN(6) != 0}
		if rng.IntN(4) != 0 {
			a.HiredOn = weekStart.AddDate(0, 0, 85-rng.IntN(10)-p.NewHireDays+rng.IntN(10)) // around the boundary
		}
		in.Agents = append(in.Agents, a)
	}
	author := func() string {
		if rng.IntN(15) == 0 {
			return "stranger"
		}
		return fmt.Sprintf("a%d", rng.IntN(nAgents))
	}
	n := rng.IntN(80)
	for i := range n {
		c := Conversation{
			ExternalID:        fmt.Sprintf("c%03d", i),
			AgentIDs:          []string{author()},
			Channel:           []string{"chat", "chat", "chat", "phone", "email"}[rng.IntN(5)],
			CustomerTier:      []string{"regular", "regular", "vip", "VIP", "gold", "ｖｉｐ"}[rng.IntN(6)],
			CSAT:              rng.IntN(6),
			TransferCount:     rng.IntN(3),
			HandleTime:        time.Duration(rng.IntN(8)) * time.Minute,
			EndedAt:           weekStart.Add(time.Duration(rng.IntN(7*24+2)-1) * time.Hour),
			AgentMessageCount: max(0, rng.IntN(12)-2),
			MessageCount:      rng.IntN(4),
		}
		for range rng.IntN(3) {
			c.AgentIDs = append(c.AgentIDs, author())
		}
		for _, tag := range []string{"complaint", "Complaint", "escalated", "refund", "投诉", "升级", "退款", "ＲＥＦＵＮＤ"} {
			if rng.IntN(6) == 0 {
				c.Tags = append(c.Tags, tag)
			}
		}
		for _, flag := range []string{"no_greeting", "slow"} {
			if rng.IntN(5) == 0 {
				c.Flags = append(c.Flags, flag)
			}
		}
		in.Conversations = append(in.Conversations, c)
	}
	if rng.IntN(2) == 0 && n > 0 {
		in.AlreadyPicked = make(map[PickKey]bool)
		for range rng.IntN(10) {
			c := in.Conversations[rng.IntN(n)]
			in.AlreadyPicked[PickKey{ExternalID: c.ExternalID, AgentID: c.AgentIDs[0]}] = true
		}
	}
	return in
}

func TestSampleMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for round := range 3000 {
		in := randomInput(rng)
		got := mustSample(t, in)
		want := reference(t, in)
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"picks", got.Picks, want.Picks},
			{"alternates", got.Alternates, want.Alternates},
			{"shortfalls", got.Shortfalls, want.Shortfalls},
		} {
			if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
				t.Fatalf("round %d (policy %+v, %d alternates): %s\n got %v\nwant %v",
					round, in.Policy, in.Alternates, c.name, c.got, c.want)
			}
		}
	}
}
