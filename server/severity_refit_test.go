package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// heldSeverityStore is a real store whose first severity read waits for
// release, and whose newest feedback record the test sets.
type heldSeverityStore struct {
	Storage
	feedback atomic.Int64
	reads    atomic.Int32
	entered  chan struct{}
	release  chan struct{}
}

func (s *heldSeverityStore) LastFeedbackID(context.Context, string) (int64, error) {
	return s.feedback.Load(), nil
}

func (s *heldSeverityStore) SeverityRows(ctx context.Context, from, to string) ([]store.SeverityRow, error) {
	if s.reads.Add(1) == 1 {
		close(s.entered)
		<-s.release
	}
	return s.Storage.SeverityRows(ctx, from, to)
}

// TestExactFitDoesNotJoinAnOlderRefit: the inspectors report asks for the
// fit counting every record so far; a refit started before the newest
// record (the background one) is still reading when it asks. It must not
// answer with that refit's result.
func TestExactFitDoesNotJoinAnOlderRefit(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	held := &heldSeverityStore{Storage: st, entered: make(chan struct{}), release: make(chan struct{})}
	held.feedback.Store(1)
	m := newSeverityModel(held, &rubricBook{store: st}, time.Now, slog.New(slog.DiscardHandler))
	weeks := []string{"2026-W43", "2026-W44"}

	m.refitInBackground(weeks[0]+"/"+weeks[1], weeks, 1)
	<-held.entered
	held.feedback.Store(2) // a review is finalised while the refit reads
	done := make(chan *severityEntry, 1)
	go func() {
		e, err := m.exact(context.Background(), weeks)
		if err != nil {
			t.Error(err)
		}
		done <- e
	}()
	// Give exact the time to join the flight (if it has not, it computes
	// its own fit and the test passes without having tested anything; it
	// can never fail because of this wait).
	time.Sleep(100 * time.Millisecond)
	close(held.release)
	e := <-done
	m.wait()
	if e == nil {
		t.Fatal("no fit")
	}
	if e.feedback != 2 {
		t.Errorf("exact answered with the fit of record %d, want 2 (the newest)", e.feedback)
	}
}
