package sampler

import (
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

// TestShardsChangeNothing: a run whose shards add each batch at once
// (four of them, AddBatch) gives exactly the result of a run with one
// shard fed a conversation at a time (Add): picks, alternates,
// shortfalls, summaries, counts and thresholds. The world has transfers
// between agents of different shards and teams, inactive and unknown
// authors, excluded conversations, earlier picks, and conversations that
// come with their keys as well as without.
func TestShardsChangeNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	w := makeWorld(rng, 300, 30_000, 12, weekStart)
	for i := range w.conversations {
		c := &w.conversations[i]
		switch rng.IntN(40) {
		case 0:
			c.AgentIDs = append(c.AgentIDs, "agent-unknown")
		case 1:
			c.AgentMessageCount = 0
		case 2:
			c.EndedAt = weekStart.AddDate(0, 0, -1)
		}
	}
	seed := []byte("0123456789abcdef0123456789abcdef")
	in := input(DefaultPolicy(), w.agents, w.conversations)
	in.Seed = seed
	in.Alternates = 3
	in.AlreadyPicked = map[PickKey]bool{}
	for range 1000 {
		c := w.conversations[rng.IntN(len(w.conversations))]
		in.AlreadyPicked[PickKey{ExternalID: c.ExternalID, AgentID: c.AgentIDs[0]}] = true
	}

	sample := func(procs int, batch bool) *Result {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		r, err := NewRun(&in.Params)
		if err != nil {
			t.Fatal(err)
		}
		if want := min(procs, maxRunShards); len(r.shards) != want {
			t.Fatalf("%d shards with GOMAXPROCS %d, want %d", len(r.shards), procs, want)
		}
		cs := make([]Conversation, len(in.Conversations))
		copy(cs, in.Conversations)
		for i := range cs {
			if i%3 == 0 {
				cs[i].Key, cs[i].Keyed = Key(seed, cs[i].ExternalID), true
			}
		}
		if batch {
			for len(cs) > 0 {
				n := min(4096, len(cs))
				r.AddBatch(cs[:n])
				cs = cs[n:]
			}
		} else {
			for i := range cs {
				r.Add(&cs[i])
			}
		}
		return r.Result()
	}
	want := sample(1, false)
	got := sample(4, true)
	if want.Stats.UnknownAuthors == 0 || want.Stats.AlreadyPicked == 0 || want.Stats.OutsideWeek == 0 || len(want.Alternates) == 0 {
		t.Fatalf("the world lacks a case: %+v, %d alternates", want.Stats, len(want.Alternates))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("four shards differ from one:\n got stats %+v, %d picks\nwant stats %+v, %d picks", got.Stats, len(got.Picks), want.Stats, len(want.Picks))
	}
	if other := sample(4, false); !reflect.DeepEqual(other, want) {
		t.Fatal("four shards fed one at a time differ from one")
	}
}
