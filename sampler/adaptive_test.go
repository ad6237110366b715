package sampler

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestAdaptiveExtras(t *testing.T) {
	a := Adaptive{MaxExtra: 2, PassScore: 70, Weeks: 4}
	standings := []Standing{
		{AgentID: "above", Reviews: 12, Low: 82, High: 90, IntervalOK: true},        // clearly above: none
		{AgentID: "straddle-wide", Reviews: 4, Low: 55, High: 85, IntervalOK: true}, // straddles, wide
		{AgentID: "straddle", Reviews: 12, Low: 66, High: 74, IntervalOK: true},     // straddles, narrow
		{AgentID: "new", Reviews: 1},                                         // no interval: widest
		{AgentID: "below", Reviews: 12, Low: 40, High: 60, IntervalOK: true}, // clearly below: last
	}
	got := a.Extras(standings, testSeed, -1)
	want := map[string]int{"straddle-wide": 2, "straddle": 2, "new": 2, "below": 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("no budget limit: %v, want %v", got, want)
	}
	// A budget of 4: one pass over all four, widest first, straddling
	// before below: new (∞), straddle-wide (30), straddle (8), below (20).
	got = a.Extras(standings, testSeed, 4)
	want = map[string]int{"new": 1, "straddle-wide": 1, "straddle": 1, "below": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("budget 4: %v, want %v", got, want)
	}
	got = a.Extras(standings, testSeed, 2)
	want = map[string]int{"new": 1, "straddle-wide": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("budget 2: %v, want the two widest straddling %v", got, want)
	}
	if got := a.Extras(standings, testSeed, 0); len(got) != 0 {
		t.Errorf("budget 0: %v", got)
	}
	// Deterministic whatever the order of the standings; ties go by the
	// seed's keys, so another seed may break them differently.
	tied := []Standing{{AgentID: "x", Reviews: 0}, {AgentID: "y", Reviews: 0}, {AgentID: "z", Reviews: 0}}
	first := a.Extras(tied, testSeed, 1)
	for range 5 {
		rev := slices.Clone(tied)
		slices.Reverse(rev)
		if got := a.Extras(rev, testSeed, 1); !reflect.DeepEqual(got, first) {
			t.Fatalf("order changed the extras: %v vs %v", got, first)
		}
	}
	var winner string
	for id := range first {
		winner = id
	}
	lowest := slices.MinFunc(tied, func(x, y Standing) int {
		kx, ky := Key(testSeed, x.AgentID), Key(testSeed, y.AgentID)
		if kx < ky {
			return -1
		}
		return 1
	})
	if winner != lowest.AgentID {
		t.Errorf("tie went to %s, want the smallest key's %s", winner, lowest.AgentID)
	}
}

func TestApplyAdaptive(t *testing.T) {
	p := DefaultPolicy()
	p.Adaptive = &Adaptive{MaxExtra: 3, PassScore: 70, Weeks: 4}
	agents := []Agent{activeAgent("a1", "t"), activeAgent("a2", "t"), activeAgent("a3", "t")}
	cs := append(append(convs("a1", 20, "a1"), convs("a2", 20, "a2")...), convs("a3", 6, "a3")...)
	run := func() *Result {
		in := input(p, agents, cs)
		in.Alternates = p.Adaptive.MaxExtra
		res := mustSample(t, in)
		ApplyAdaptive(res, map[string]int{"a1": 3, "a3": 3})
		return res
	}
	res := run()
	if !reflect.DeepEqual(res, run()) {
		t.Fatal("the same input gave different samples")
	}
	base := mustSample(t, input(p, agents, cs))
	a1 := picksOf(res, "a1")
	if len(a1) != len(picksOf(base, "a1"))+3 {
		t.Fatalf("a1: %d picks, want the base %d + 3", len(a1), len(picksOf(base, "a1")))
	}
	// The extras are the agent's next random candidates in key order,
	// after the base picks, ranked after them.
	var random []string
	for _, id := range byKeyOrder(convs("a1", 20, "a1")) {
		if !slices.Contains(ids(picksOf(base, "a1")), id) {
			random = append(random, id)
		}
	}
	extra := a1[len(a1)-3:]
	for i, pk := range extra {
		if pk.Reason != ReasonAdaptive || pk.ExternalID != random[i] || pk.Rank != len(a1)-3+i+1 {
			t.Errorf("a1 extra %d: %+v, want %s adaptive at rank %d", i, pk, random[i], len(a1)-3+i+1)
		}
	}
	if got := picksOf(res, "a2"); !reflect.DeepEqual(got, picksOf(base, "a2")) {
		t.Errorf("a2 got no extras but its picks changed: %v", ids(got))
	}
	// a3 has 6 chats, all picked by the base quota of 5 bar one: one extra.
	if got := picksOf(res, "a3"); len(got) != 6 || got[5].Reason != ReasonAdaptive {
		t.Errorf("a3: %v %v, want all 6 chats, the last adaptive", ids(got), reasons(got))
	}
	// No extra pick stays an alternate.
	for _, alt := range res.Alternates {
		for _, pk := range res.Picks {
			if alt.AgentID == pk.AgentID && alt.ExternalID == pk.ExternalID {
				t.Errorf("%s is both a pick and an alternate of %s", pk.ExternalID, pk.AgentID)
			}
		}
	}
}

func TestAdaptiveValidate(t *testing.T) {
	p := DefaultPolicy()
	p.Adaptive = &Adaptive{MaxExtra: 0, PassScore: 170, Weeks: 0, InspectorCapacity: -1}
	err := p.Validate()
	for _, f := range []string{"adaptive.max_extra", "adaptive.pass_score", "adaptive.weeks"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate: %v, want it to name %s", err, f)
		}
	}
	p.Adaptive = &Adaptive{MaxExtra: 2, PassScore: 70, Weeks: 4, InspectorCapacity: -1}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "adaptive.inspector_capacity") {
		t.Errorf("Validate: %v, want it to name adaptive.inspector_capacity", err)
	}
	d := DefaultAdaptive()
	p.Adaptive = &d
	if err := p.Validate(); err != nil {
		t.Errorf("default adaptive: %v", err)
	}
}
