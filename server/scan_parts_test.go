package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"qa-sampling/sampler"
	"qa-sampling/store"
)

// scanInParts reads each row of the week once, across its parts, and
// hands every row on.
func TestScanInPartsReadsTheWeekOnce(t *testing.T) {
	from := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	to := from.Add(7 * 24 * time.Hour)
	const rows = 10_007 // more than two batches, not a multiple of one
	step := to.Sub(from) / rows
	scan := func(_ context.Context, lo, hi time.Time, _ store.ScanOptions, fn func(store.SampleRow) error) error {
		for i := range rows {
			if at := from.Add(time.Duration(i) * step); !at.Before(lo) && at.Before(hi) {
				if err := fn(store.SampleRow{ExternalID: "c", EndedAt: at, AgentIDs: []string{"a"}}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var mu sync.Mutex
	seen := map[time.Time]int{}
	err := scanInParts(t.Context(), weekParts(scan, from, to, store.ScanOptions{}), nil, func(b []sampler.Conversation) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range b {
			seen[c.EndedAt]++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != rows {
		t.Errorf("%d distinct rows handed on, want %d", len(seen), rows)
	}
	for at, n := range seen {
		if n != 1 {
			t.Errorf("row at %s handed on %d times", at, n)
		}
	}
}

// A part that fails stops the others and its error is the one returned.
func TestScanInPartsStopsOnError(t *testing.T) {
	from := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	to := from.Add(7 * 24 * time.Hour)
	broken := errors.New("disk on fire")
	scan := func(ctx context.Context, lo, _ time.Time, _ store.ScanOptions, _ func(store.SampleRow) error) error {
		if lo.Equal(from) {
			return broken
		}
		<-ctx.Done() // the other part runs until stopped
		return ctx.Err()
	}
	err := scanInParts(t.Context(), weekParts(scan, from, to, store.ScanOptions{}), nil, func([]sampler.Conversation) {})
	if !errors.Is(err, broken) {
		t.Errorf("err = %v, want %v", err, broken)
	}
}

// idParts cuts the ids after a top-up's basis, up to its high water, into
// scanParts consecutive ranges over the whole week: every id once, none
// outside, no part for an empty range.
func TestIDPartsCoverTheLateIDsOnce(t *testing.T) {
	from := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	to := from.Add(7 * 24 * time.Hour)
	for _, c := range [][2]int64{{100, 1_101}, {0, 7}, {5, 6}, {41, 41}, {50, 40}} {
		after, through := c[0], c[1]
		seen := map[int64]int{}
		var mu sync.Mutex
		scan := func(_ context.Context, lo, hi time.Time, a, b int64, _ store.ScanOptions, _ func(store.SampleRow) error) error {
			if !lo.Equal(from) || !hi.Equal(to) {
				t.Errorf("a part reads [%v, %v), want the whole week", lo, hi)
			}
			mu.Lock()
			defer mu.Unlock()
			for id := a + 1; id <= b; id++ {
				seen[id]++
			}
			return nil
		}
		parts := idParts(scan, from, to, after, through, store.ScanOptions{})
		if through <= after {
			if len(parts) != 0 {
				t.Errorf("(%d, %d]: %d parts, want none", after, through, len(parts))
			}
			continue
		}
		if err := scanInParts(t.Context(), parts, nil, func([]sampler.Conversation) {}); err != nil {
			t.Fatal(err)
		}
		if len(seen) != int(through-after) {
			t.Errorf("(%d, %d]: %d ids read, want %d", after, through, len(seen), through-after)
		}
		for id, n := range seen {
			if n != 1 || id <= after || id > through {
				t.Errorf("(%d, %d]: id %d read %d times", after, through, id, n)
			}
		}
	}
}
