package sampler

import (
	"math"
	"slices"
	"time"
)

// nearestRank returns the nearest-rank p-percentile of values: the
// ⌈p·n⌉-th smallest (1-based, at least the 1st). values is reordered.
// The tiny epsilon keeps a product like 0.9·10 that floating point
// makes 9.000000000000002 at rank 9, as a person would compute it.
func nearestRank(values []time.Duration, p float64) time.Duration {
	n := len(values)
	rank := int(math.Ceil(p*float64(n) - 1e-9))
	rank = min(max(rank, 1), n)
	return selectNth(values, rank-1)
}

// selectNth returns the (0-based) k-th smallest of v in expected O(n),
// reordering v. Pivots are medians of three; a deep recursion (adversarial
// input) falls back to sorting what is left, so the worst case is
// O(n log n).
func selectNth(v []time.Duration, k int) time.Duration {
	lo, hi := 0, len(v)-1
	for depth := 0; lo < hi; depth++ {
		if depth > 64 {
			slices.Sort(v[lo : hi+1])
			return v[k]
		}
		mid := lo + (hi-lo)/2
		// Median of three to v[mid].
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		// Hoare partition: afterwards v[lo..j] <= pivot <= v[i..hi].
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default: // j < k < i: v[k] equals the pivot
			return v[k]
		}
	}
	return v[k]
}

// durations is an append-only list kept in blocks, so that growing it
// never copies: a team can have hundreds of thousands of conversations a
// week. Blocks start small and double up to durationBlock: an agent
// without a team is a team of their own, and a week of 2,000 of them with
// a block each of the full size allocated (and zeroed) 64 MB for 8 MB of
// handle times.
type durations struct {
	blocks [][]time.Duration
	n      int
}

const (
	durationBlock      = 4096
	firstDurationBlock = 64
)

func (d *durations) add(v time.Duration) {
	if len(d.blocks) == 0 || len(d.blocks[len(d.blocks)-1]) == cap(d.blocks[len(d.blocks)-1]) {
		// Each new block is as large as all before it, so that at most
		// half of what is allocated is unused.
		d.blocks = append(d.blocks, make([]time.Duration, 0, min(max(d.n, firstDurationBlock), durationBlock)))
	}
	last := &d.blocks[len(d.blocks)-1]
	*last = append(*last, v)
	d.n++
}

// flatten returns all durations in one slice and releases the blocks.
func (d *durations) flatten() []time.Duration {
	out := make([]time.Duration, 0, d.n)
	for _, b := range d.blocks {
		out = append(out, b...)
	}
	d.blocks = nil
	return out
}
