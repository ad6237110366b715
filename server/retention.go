package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"qa-sampling/store"
)

// RetentionOptions say how long chats are kept (SPEC §7, Privacy). Zero
// keeps them for ever, the default: deleting is for the operator to
// choose.
type RetentionOptions struct {
	// Unsampled deletes chats no run picked once they ended this long ago.
	Unsampled time.Duration
	// Reviewed empties picked chats once their picks are all closed
	// (reviewed or skipped) and unchanged for this long.
	Reviewed time.Duration
	// Every is the time between passes; Batch the most chats one write
	// transaction removes; Pause the wait between batches, in which
	// ingest writes.
	Every time.Duration
	Batch int
	Pause time.Duration
}

// Enabled reports whether any retention is configured.
func (o RetentionOptions) Enabled() bool { return o.Unsampled > 0 || o.Reviewed > 0 }

// DefaultRetentionOptions are the pass settings of `qad serve`, retention
// itself off.
func DefaultRetentionOptions() RetentionOptions {
	return RetentionOptions{Every: time.Hour, Batch: 500, Pause: 50 * time.Millisecond}
}

// retentionFullScan is how often a pass starts again from the oldest chat
// rather than where the last pass stopped: chats pushed late with old end
// times (a backfill) fall behind the cursor and are found then.
const retentionFullScan = 24 * time.Hour

// retentionJob removes expired chats in the background, a small batch at
// a time.
type retentionJob struct {
	store   store.RetentionStore
	opts    RetentionOptions
	now     func() time.Time
	log     *slog.Logger
	removed *prometheus.CounterVec

	// mu serialises passes (Run's, and tests').
	mu sync.Mutex
	// Where each kind's next pass starts, and when they last started over.
	unsampledFrom, reviewedFrom store.RetentionCursor
	lastFullScan                time.Time
}

func newRetentionJob(st store.RetentionStore, opts RetentionOptions, now func() time.Time, log *slog.Logger, reg prometheus.Registerer) *retentionJob {
	removed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qa_retention_removed_total",
		Help: "Chats removed by retention: kind unsampled (deleted) or reviewed (content emptied).",
	}, []string{"kind"})
	reg.MustRegister(removed)
	removed.WithLabelValues("unsampled")
	removed.WithLabelValues("reviewed")
	return &retentionJob{store: st, opts: opts, now: now, log: log, removed: removed}
}

// Run passes at once and then every opts.Every until ctx ends; nothing
// when retention is off.
func (j *retentionJob) Run(ctx context.Context) {
	if !j.opts.Enabled() {
		return
	}
	for {
		if err := j.Pass(ctx); err != nil && ctx.Err() == nil {
			j.log.Error("retention pass failed; tried again at the next", "err", err, "next_in", j.opts.Every.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(j.opts.Every):
		}
	}
}

// Pass removes what has expired by now, batch by batch. Another replica
// at it (ErrConflict) ends the pass quietly: that one does the work.
func (j *retentionJob) Pass(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	if now.Sub(j.lastFullScan) >= retentionFullScan {
		j.unsampledFrom, j.reviewedFrom, j.lastFullScan = store.RetentionCursor{}, store.RetentionCursor{}, now
	}
	var err error
	if j.opts.Unsampled > 0 {
		j.unsampledFrom, err = j.drain(ctx, "unsampled", j.unsampledFrom, now.Add(-j.opts.Unsampled), j.store.DeleteUnsampledTranscripts)
	}
	if err == nil && j.opts.Reviewed > 0 {
		j.reviewedFrom, err = j.drain(ctx, "reviewed", j.reviewedFrom, now.Add(-j.opts.Reviewed), j.store.PurgeReviewedTranscripts)
	}
	if errors.Is(err, store.ErrConflict) {
		j.log.Debug("retention: another replica is removing chats; this pass stops", "err", err)
		return nil
	}
	return err
}

// drain runs remove from cursor until the range up to cutoff is
// exhausted and returns where the next pass starts: the cursor reached,
// or before the earliest chat still waiting on an open pick.
func (j *retentionJob) drain(ctx context.Context, kind string, from store.RetentionCursor, cutoff time.Time,
	remove func(context.Context, store.RetentionCursor, time.Time, int) (store.RetentionBatch, error)) (store.RetentionCursor, error) {
	cur := from
	var waiting time.Time
	total := 0
	for {
		b, err := remove(ctx, cur, cutoff, j.opts.Batch)
		if err != nil {
			return from, err
		}
		if b.Removed > 0 {
			total += b.Removed
			j.removed.WithLabelValues(kind).Add(float64(b.Removed))
		}
		if !b.Waiting.IsZero() && (waiting.IsZero() || b.Waiting.Before(waiting)) {
			waiting = b.Waiting
		}
		if b.Examined == 0 {
			break
		}
		cur = b.Next
		select {
		case <-ctx.Done():
			return cur, ctx.Err()
		case <-time.After(j.opts.Pause):
		}
	}
	if total > 0 {
		j.log.Info("retention removed chats", "kind", kind, "count", total, "before", cutoff)
	}
	if !waiting.IsZero() {
		// Just before the earliest waiting chat: (waiting - 1 ms, any id).
		return store.RetentionCursor{EndedAt: waiting.Add(-time.Millisecond), ID: 1<<63 - 1}, nil
	}
	return cur, nil
}
