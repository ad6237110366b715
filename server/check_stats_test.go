package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// slowCounts holds CountCheckFlags until release closes.
type slowCounts struct {
	store.Store
	release chan struct{}
	calls   chan struct{}
}

func (s *slowCounts) CountCheckFlags(ctx context.Context, from, to time.Time) ([]store.CheckFlagCount, error) {
	s.calls <- struct{}{}
	<-s.release
	return []store.CheckFlagCount{{AgentID: "a1", Version: 1, Flags: 0b100, Chats: 3}}, nil
}

// TestCheckRatesDoNotHoldAReport: a week never counted makes a report
// wait at most its limit and answer without rates while the count goes
// on; the next request has them; a stale count is served while it is
// read again.
func TestCheckRatesDoNotHoldAReport(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := (&checkBook{store: st, now: time.Now}).latest(t.Context()); err != nil { // version 1, the counts' version
		t.Fatal(err)
	}
	slow := &slowCounts{Store: st, release: make(chan struct{}), calls: make(chan struct{}, 4)}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := &checkStats{store: slow, book: &checkBook{store: slow, now: clock},
		job: &SamplingJob{Store: slow, Log: slog.New(slog.DiscardHandler), Now: clock}, now: clock}
	all := func(string) bool { return true }
	weeks := []string{"2026-W47"}
	rates, err := c.rates(t.Context(), weeks, 20*time.Millisecond, all)
	if err != nil || rates != nil {
		t.Fatalf("a week being counted: %v, %v; want no rates yet", rates, err)
	}
	<-slow.calls
	close(slow.release)
	rates, err = c.rates(t.Context(), weeks, 5*time.Second, all)
	if err != nil || len(rates) != 6 || rates[2].Fired != 3 || rates[2].Chats != 3 {
		t.Fatalf("after the count: %+v, %v", rates, err)
	}
	select {
	case <-slow.calls:
		t.Fatal("a fresh count was read again")
	default:
	}
	now = now.Add(2 * checkRateTTL)
	if rates, err = c.rates(t.Context(), weeks, 5*time.Second, all); err != nil || len(rates) != 6 || rates[2].Fired != 3 {
		t.Fatalf("a stale count: %+v, %v; want it served", rates, err)
	}
	select {
	case <-slow.calls: // the refresh
	case <-time.After(5 * time.Second):
		t.Fatal("a stale count was not refreshed")
	}
	// Let the refresh finish before the test ends (goleak).
	for deadline := time.Now().Add(5 * time.Second); ; {
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
