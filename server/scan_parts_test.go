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
	err := scanInParts(t.Context(), scan, from, to, store.ScanOptions{}, nil, func(b []sampler.Conversation) {
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
	err := scanInParts(t.Context(), scan, from, to, store.ScanOptions{}, nil, func([]sampler.Conversation) {})
	if !errors.Is(err, broken) {
		t.Errorf("err = %v, want %v", err, broken)
	}
}
