package sampler

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// sampleWith runs in through AddBatch (keys computed beforehand) or Add
// (keys computed as needed), with tweak applied to the run first.
func sampleWith(t *testing.T, in *Input, batch bool, tweak func(*Run)) *Result {
	t.Helper()
	r, err := NewRun(&in.Params)
	if err != nil {
		t.Fatal(err)
	}
	tweak(r)
	if batch {
		for cs := in.Conversations; len(cs) > 0; {
			n := min(4096, len(cs))
			r.AddBatch(cs[:n])
			cs = cs[n:]
		}
	} else {
		for i := range in.Conversations {
			r.Add(&in.Conversations[i])
		}
	}
	return r.Result()
}

// TestPickedFilterChangesNothing: the bit filter in front of AlreadyPicked
// and a top-up's earlier picks only saves lookups. A run with it gives
// the same picks, alternates, summaries and counts as one whose filter
// lets every conversation through to the maps, with picks for the
// conversation's author, for another agent, entries set to false, and
// a top-up's earlier picks.
func TestPickedFilterChangesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := makeWorld(rng, 300, 30_000, 12, weekStart)
	for _, topUp := range []bool{false, true} {
		in := input(DefaultPolicy(), w.agents, w.conversations)
		in.AlreadyPicked = map[PickKey]bool{}
		for range 4000 {
			c := w.conversations[rng.IntN(len(w.conversations))]
			in.AlreadyPicked[PickKey{ExternalID: c.ExternalID, AgentID: c.AgentIDs[0]}] = true
			other := w.agents[rng.IntN(len(w.agents))].ID
			in.AlreadyPicked[PickKey{ExternalID: c.ExternalID, AgentID: other}] = rng.IntN(2) == 0
		}
		if topUp {
			var earlier []Pick
			for i := range 2000 {
				c := w.conversations[(i*13)%len(w.conversations)]
				k := PickKey{ExternalID: c.ExternalID, AgentID: c.AgentIDs[0]}
				if in.AlreadyPicked[k] || pickKeys(earlier)[k] {
					continue
				}
				earlier = append(earlier, Pick{ExternalID: c.ExternalID, AgentID: c.AgentIDs[0], Reason: ReasonRandom, Rank: i + 1, Channel: c.Channel})
			}
			in.TopUp = &TopUp{Earlier: earlier}
		} else {
			in.Alternates = 4
		}
		for _, batch := range []bool{false, true} {
			filtered := sampleWith(t, in, batch, func(r *Run) {
				if len(r.pickedBits) == 0 {
					t.Fatal("no filter built")
				}
			})
			unfiltered := sampleWith(t, in, batch, func(r *Run) {
				for i := range r.pickedBits {
					r.pickedBits[i] = ^uint64(0)
				}
			})
			if filtered.Stats.AlreadyPicked == 0 {
				t.Fatal("nothing was already picked; the test tests nothing")
			}
			for _, c := range []struct {
				name      string
				got, want any
			}{
				{"picks", filtered.Picks, unfiltered.Picks},
				{"alternates", filtered.Alternates, unfiltered.Alternates},
				{"shortfalls", filtered.Shortfalls, unfiltered.Shortfalls},
				{"agents", filtered.Agents, unfiltered.Agents},
				{"stats", filtered.Stats, unfiltered.Stats},
			} {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Fatalf("top-up %v, batch %v: %s differ", topUp, batch, c.name)
				}
			}
		}
	}
}
