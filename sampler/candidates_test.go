package sampler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestSmallestKeepsTheFirstInPickingOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 500 {
		limit := rng.IntN(8)
		n := rng.IntN(60)
		var offered []candidate
		for i := range n {
			// Few distinct keys, so that ties on key are broken by id.
			c := candidate{key: uint64(rng.IntN(20)), id: fmt.Sprint(i % 40)}
			offered = append(offered, c)
		}
		s := newSmallest(limit)
		for _, c := range offered {
			s.offer(c)
		}
		want := slices.Clone(offered)
		slices.SortFunc(want, compareCandidates)
		want = slices.Compact(want)
		want = want[:min(limit, len(want))]
		if !slices.Equal(s.items, want) {
			t.Fatalf("round %d: kept %v, want %v", round, s.items, want)
		}
	}
}

func compareCandidates(a, b candidate) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// TestSkylineAnswersEveryThreshold checks the skyline against brute force:
// for every threshold, the first limit candidates above it.
func TestSkylineAnswersEveryThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	maxKept := 0
	for round := range 1000 {
		limit := 1 + rng.IntN(6)
		n := rng.IntN(200)
		type offer struct {
			c candidate
			h time.Duration
		}
		var offers []offer
		for i := range n {
			// Handle times with many ties; a few exact repeats.
			o := offer{candidate{key: rng.Uint64N(1000), id: fmt.Sprint(i)}, time.Duration(rng.IntN(15))}
			offers = append(offers, o)
			if rng.IntN(20) == 0 {
				offers = append(offers, o)
			}
		}
		s := skyline{limit: limit}
		for _, o := range offers {
			s.offer(o.c, o.h)
		}
		maxKept = max(maxKept, len(s.heads))
		for threshold := time.Duration(-1); threshold <= 15; threshold++ {
			var want []candidate
			for _, o := range offers {
				if o.h > threshold && !slices.Contains(want, o.c) {
					want = append(want, o.c)
				}
			}
			slices.SortFunc(want, compareCandidates)
			want = want[:min(limit, len(want))]
			if got := s.above(threshold); !slices.Equal(got, want) {
				t.Fatalf("round %d, limit %d, threshold %d: got %v, want %v", round, limit, threshold, got, want)
			}
		}
	}
	t.Logf("largest skyline kept: %d of up to 210 offers", maxKept)
}

func TestNearestRank(t *testing.T) {
	minutes := func(ms ...int) []time.Duration {
		out := make([]time.Duration, len(ms))
		for i, m := range ms {
			out[i] = time.Duration(m) * time.Minute
		}
		return out
	}
	tests := []struct {
		name   string
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{"p90 of 1..10 is the 9th", minutes(10, 3, 1, 7, 2, 9, 4, 8, 6, 5), 0.9, 9 * time.Minute},
		{"p95 of 1..10 is the 10th", minutes(10, 3, 1, 7, 2, 9, 4, 8, 6, 5), 0.95, 10 * time.Minute},
		{"p90 of 1..20 is the 18th", minutes(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), 0.9, 18 * time.Minute},
		{"p90 of 1..11 is the 10th", minutes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 0.9, 10 * time.Minute},
		{"one value", minutes(4), 0.9, 4 * time.Minute},
		{"tiny p is the smallest", minutes(3, 1, 2), 0.01, 1 * time.Minute},
		{"ties", minutes(5, 5, 5, 5, 1), 0.5, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nearestRank(slices.Clone(tt.values), tt.p); got != tt.want {
				t.Errorf("nearestRank(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
			}
		})
	}
}

func TestSelectNthMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 2000 {
		n := 1 + rng.IntN(300)
		v := make([]time.Duration, n)
		spread := 1 + rng.IntN(n*2)
		for i := range v {
			v[i] = time.Duration(rng.IntN(spread))
		}
		switch round % 4 { // sorted and reversed inputs as well as random ones
		case 1:
			slices.Sort(v)
		case 2:
			slices.Sort(v)
			slices.Reverse(v)
		}
		sorted := slices.Sorted(slices.Values(v))
		k := rng.IntN(n)
		if got := selectNth(v, k); got != sorted[k] {
			t.Fatalf("round %d: selectNth(k=%d) = %v, want %v", round, k, got, sorted[k])
		}
	}
}
