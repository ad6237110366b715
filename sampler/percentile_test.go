package sampler

import (
	"slices"
	"testing"
	"time"
)

// TestDurationsKeepsEveryValue checks the block list across its block
// sizes: every value comes back in order, and what it allocates stays
// within twice what it holds (plus the first block), however many values.
func TestDurationsKeepsEveryValue(t *testing.T) {
	for _, n := range []int{0, 1, firstDurationBlock - 1, firstDurationBlock, firstDurationBlock + 1, 500, durationBlock, 3*durationBlock + 7, 20_000} {
		var d durations
		want := make([]time.Duration, n)
		for i := range n {
			want[i] = time.Duration(i*7919%1000) * time.Millisecond
			d.add(want[i])
		}
		if d.n != n {
			t.Fatalf("n = %d after %d adds", d.n, n)
		}
		allocated := 0
		for _, b := range d.blocks {
			allocated += cap(b)
			if cap(b) > durationBlock {
				t.Fatalf("%d values: a block of %d, above %d", n, cap(b), durationBlock)
			}
		}
		if allocated > 2*n+firstDurationBlock {
			t.Fatalf("%d values: %d allocated", n, allocated)
		}
		if got := d.flatten(); !slices.Equal(got, want) && n > 0 {
			t.Fatalf("%d values: flatten differs", n)
		}
	}
}
