package sampler

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// benchWorld is a week of 1,000,000 conversations from 2,000 agents in 20
// teams; made once, as it takes longer than sampling it.
var benchWorld = sync.OnceValue(func() world {
	return makeWorld(rand.New(rand.NewPCG(1, 2)), 2000, 1_000_000, 20, weekStart)
})

// BenchmarkSample1M samples benchWorld under the default policy (all five
// rules, so the team percentile and the handle-time skyline are included)
// with Sample, which computes keys on all CPUs.
func BenchmarkSample1M(b *testing.B) {
	w := benchWorld()
	in := input(DefaultPolicy(), w.agents, w.conversations)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Sample(in)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Picks) < 9000 {
			b.Fatalf("%d picks", len(res.Picks))
		}
	}
}

// BenchmarkRunAdd1M is the same week fed one conversation at a time, as a
// database cursor would: one goroutine does everything.
func BenchmarkRunAdd1M(b *testing.B) {
	w := benchWorld()
	in := input(DefaultPolicy(), w.agents, w.conversations)
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewRun(&in.Params)
		if err != nil {
			b.Fatal(err)
		}
		for i := range in.Conversations {
			r.Add(&in.Conversations[i])
		}
		if res := r.Result(); len(res.Picks) < 9000 {
			b.Fatalf("%d picks", len(res.Picks))
		}
	}
}

// ownTeamsWorld is benchWorld's size with every agent in a team of their
// own, as agents without a team are (TeamKey): 2,000 handle-time lists.
var ownTeamsWorld = sync.OnceValue(func() world {
	return makeWorld(rand.New(rand.NewPCG(1, 2)), 2000, 1_000_000, 2000, weekStart)
})

// BenchmarkRunAddOwnTeams1M is BenchmarkRunAdd1M over ownTeamsWorld.
func BenchmarkRunAddOwnTeams1M(b *testing.B) {
	w := ownTeamsWorld()
	in := input(DefaultPolicy(), w.agents, w.conversations)
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewRun(&in.Params)
		if err != nil {
			b.Fatal(err)
		}
		for i := range in.Conversations {
			r.Add(&in.Conversations[i])
		}
		if res := r.Result(); len(res.Picks) < 9000 {
			b.Fatalf("%d picks", len(res.Picks))
		}
	}
}
