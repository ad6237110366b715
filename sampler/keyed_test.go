package sampler

import (
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
)

// keyedAs returns a copy of cs where the conversations keep says are
// keyed with key(id), the others unkeyed.
func keyedAs(cs []Conversation, keep func(i int) bool, key func(id string) uint64) []Conversation {
	out := make([]Conversation, len(cs))
	copy(out, cs)
	for i := range out {
		out[i].Key, out[i].Keyed = 0, false
		if keep(i) {
			out[i].Key, out[i].Keyed = key(out[i].ExternalID), true
		}
	}
	return out
}

// runOver runs params over cs through Add one at a time, or through
// AddBatch in batches of batch.
func runOver(t *testing.T, params Params, cs []Conversation, batch int) *Result {
	t.Helper()
	r, err := NewRun(&params)
	if err != nil {
		t.Fatal(err)
	}
	if batch == 0 {
		for i := range cs {
			r.Add(&cs[i])
		}
	} else {
		for rest := cs; len(rest) > 0; {
			n := min(batch, len(rest))
			r.AddBatch(rest[:n])
			rest = rest[n:]
		}
	}
	return r.Result()
}

// TestKeyedConversationsSampleAsUnkeyed: conversations that come with
// their keys under the run's seed (Conversation.Keyed, as SQLite's hour
// blocks hand them over) give the very result of the same conversations
// without keys, through Add and through AddBatch, whether a batch is
// keyed all, partly or not at all, and whether AddBatch keys the rest on
// several goroutines (more than 2 × minKeysPerWorker unkeyed) or on its
// own. The keys are used, not recomputed: keys under another seed give
// the other seed's picks.
func TestKeyedConversationsSampleAsUnkeyed(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 4 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	}
	rng := rand.New(rand.NewPCG(11, 12))
	w := makeWorld(rng, 200, 20_000, 8, weekStart)
	params := Params{Policy: DefaultPolicy(), Week: testWeek, Seed: testSeed, Agents: w.agents, Alternates: 3}
	otherSeed := []byte("another seed, another week")
	under := func(seed []byte) func(string) uint64 { return func(id string) uint64 { return Key(seed, id) } }

	want := runOver(t, params, keyedAs(w.conversations, func(int) bool { return false }, nil), 0)
	if len(want.Picks) < 100 || len(want.Alternates) == 0 {
		t.Fatalf("the reference run picked %d, %d alternates", len(want.Picks), len(want.Alternates))
	}
	for _, k := range want.Picks {
		if k.Key != Key(testSeed, k.ExternalID) {
			t.Fatalf("reference pick %s keyed %x", k.ExternalID, k.Key)
		}
	}
	mixes := []struct {
		name string
		keep func(i int) bool
	}{
		{"none keyed", func(int) bool { return false }},
		{"all keyed", func(int) bool { return true }},
		{"every other keyed", func(i int) bool { return i%2 == 0 }},
		{"a third keyed", func(i int) bool { return i%3 == 0 }},
		{"keyed in runs", func(i int) bool { return i/1500%2 == 0 }},
		{"a few unkeyed", func(i int) bool { return i%50 != 0 }},
	}
	for _, m := range mixes {
		cs := keyedAs(w.conversations, m.keep, under(testSeed))
		for _, batch := range []int{0, 1, 4096, 8192, len(cs)} {
			got := runOver(t, params, cs, batch)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, batch %d: the result differs from the unkeyed run's (%d picks, want %d)",
					m.name, batch, len(got.Picks), len(want.Picks))
			}
		}
	}

	// Trusted, not recomputed: every conversation keyed under another
	// seed samples as a run under that seed does, through Add and
	// through AddBatch's parallel and serial paths.
	other := params
	other.Seed = otherSeed
	wantOther := runOver(t, other, w.conversations, 4096)
	if reflect.DeepEqual(wantOther.Picks, want.Picks) {
		t.Fatal("two seeds picked alike")
	}
	for _, batch := range []int{0, 4096, len(w.conversations)} {
		got := runOver(t, params, keyedAs(w.conversations, func(int) bool { return true }, under(otherSeed)), batch)
		if !reflect.DeepEqual(got.Picks, wantOther.Picks) || !reflect.DeepEqual(got.Alternates, wantOther.Alternates) {
			t.Errorf("batch %d: conversations keyed under another seed did not sample as that seed does", batch)
		}
	}
	// Half keyed under the other seed: the keyed half's keys are the
	// other seed's in the picks (the parallel path takes them as given).
	cs := keyedAs(w.conversations, func(i int) bool { return i%2 == 0 }, under(otherSeed))
	keyedOther := map[string]bool{}
	for i, c := range cs {
		if i%2 == 0 {
			keyedOther[c.ExternalID] = true
		}
	}
	for _, batch := range []int{0, 8192} {
		for _, p := range runOver(t, params, cs, batch).Picks {
			seed := testSeed
			if keyedOther[p.ExternalID] {
				seed = otherSeed
			}
			if p.Key != Key(seed, p.ExternalID) {
				t.Errorf("batch %d: pick %s keyed %x, want its given key or the run's", batch, p.ExternalID, p.Key)
				break
			}
		}
	}
}
