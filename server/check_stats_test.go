package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"qa-sampling/checks"
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

// orderedCounts answers call i of CountCheckFlags (from 1) with i chats
// once releases[i-1] closes, announcing each call on calls.
type orderedCounts struct {
	store.Store
	mu       sync.Mutex
	n        int
	calls    chan int
	releases []chan struct{}
}

func (s *orderedCounts) CountCheckFlags(ctx context.Context, from, to time.Time) ([]store.CheckFlagCount, error) {
	s.mu.Lock()
	s.n++
	i := s.n
	s.mu.Unlock()
	s.calls <- i
	<-s.releases[i-1]
	return []store.CheckFlagCount{{AgentID: "a1", Version: 1, Flags: 0b100, Chats: int64(i)}}, nil
}

// TestCheckRatesForgetReadsUnderWay: a count read before a re-run batch
// committed (forget) is neither joined by a request after it nor cached
// when it ends after the fresh one, so rates never go back to before the
// batch.
func TestCheckRatesForgetReadsUnderWay(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := (&checkBook{store: st, now: time.Now}).latest(t.Context()); err != nil {
		t.Fatal(err)
	}
	counts := &orderedCounts{Store: st, calls: make(chan int, 4), releases: []chan struct{}{make(chan struct{}), make(chan struct{})}}
	clock := func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }
	c := &checkStats{store: counts, book: &checkBook{store: counts, now: clock},
		job: &SamplingJob{Store: counts, Log: slog.New(slog.DiscardHandler), Now: clock}, now: clock}
	all := func(string) bool { return true }
	weeks := []string{"2026-W47"}
	if rates, err := c.rates(t.Context(), weeks, 20*time.Millisecond, all); err != nil || rates != nil {
		t.Fatalf("a week being counted: %v, %v; want no rates yet", rates, err)
	}
	if i := <-counts.calls; i != 1 {
		t.Fatalf("first read is call %d", i)
	}
	c.mu.Lock()
	var before *weekRead
	for _, r := range c.inflight {
		before = r
	}
	c.mu.Unlock()
	c.forget() // a re-run batch committed while read 1 was under way

	type answer struct {
		rates []checks.Rate
		err   error
	}
	got := make(chan answer, 1)
	go func() {
		rates, err := c.rates(t.Context(), weeks, 5*time.Second, all)
		got <- answer{rates, err}
	}()
	select {
	case i := <-counts.calls:
		if i != 2 {
			t.Fatalf("the read after forget is call %d", i)
		}
	case <-time.After(5 * time.Second):
		close(counts.releases[0])
		t.Fatalf("no new read after forget: the request joined the read from before it (%+v)", <-got)
	}
	close(counts.releases[1])
	a := <-got
	if a.err != nil || len(a.rates) != 6 || a.rates[2].Chats != 2 {
		t.Fatalf("rates after forget: %+v, %v; want read 2's 2 chats", a.rates, a.err)
	}
	close(counts.releases[0])
	<-before.done // read 1 ends last
	rates, err := c.rates(t.Context(), weeks, 5*time.Second, all)
	if err != nil || len(rates) != 6 || rates[2].Chats != 2 {
		t.Fatalf("rates once the read from before forget ended: %+v, %v; want read 2's 2 chats still", rates, err)
	}
	select {
	case i := <-counts.calls:
		t.Fatalf("read %d: the fresh count was not cached", i)
	default:
	}
}
