package server

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// endlessWeek is a store whose week never ends: its scan hands over rows
// until its context is cancelled, and its earlier picks fail when asked.
type endlessWeek struct {
	*sqlstore.Store
	pickedErr error
	scanEnded chan error
}

func (s *endlessWeek) ScanWeek(ctx context.Context, from, _ time.Time, _ store.ScanOptions, fn func(store.SampleRow) error) error {
	for {
		if err := ctx.Err(); err != nil {
			s.scanEnded <- err
			return err
		}
		if err := fn(store.SampleRow{ExternalID: "c", AgentIDs: []string{"a1"}, EndedAt: from, AgentMessageCount: 1}); err != nil {
			return err
		}
	}
}

func (s *endlessWeek) PickedInWeek(ctx context.Context, from, to time.Time) (map[[2]string]bool, error) {
	if s.pickedErr != nil {
		return nil, s.pickedErr
	}
	return s.Store.PickedInWeek(ctx, from, to)
}

// TestComputeStopsItsScanOnError: the week's scan starts before the
// earlier picks are read and the run is made; when either fails, Compute
// returns that error, and its scan, blocked on batches nobody takes, is
// cancelled and drained (goleak checks that nothing is left running).
func TestComputeStopsItsScanOnError(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	week, _ := isoweek.New(2026, 47)
	policy := sampler.DefaultPolicy()
	seed := make([]byte, 32)
	for _, c := range []struct {
		name      string
		pickedErr error
		seed      []byte
		want      string
	}{
		{"earlier picks fail", errors.New("picks unreadable"), seed, "picks unreadable"},
		{"the run cannot be made", nil, seed[:4], "seed: 4 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &endlessWeek{Store: st, pickedErr: c.pickedErr, scanEnded: make(chan error, scanParts)}
			job := &SamplingJob{Store: s, Log: slog.New(slog.DiscardHandler), Now: time.Now}
			_, _, err := job.Compute(t.Context(), week, policy, c.seed, 0, 0)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Compute: %v, want %q", err, c.want)
			}
			for range scanParts {
				select {
				case scanErr := <-s.scanEnded:
					if !errors.Is(scanErr, context.Canceled) {
						t.Fatalf("a part of the scan ended with %v, want it cancelled", scanErr)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the scan goes on after Compute returned")
				}
			}
		})
	}
}
