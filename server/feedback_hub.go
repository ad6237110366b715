package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// feedbackHub tells open WatchFeedback streams that new records exist, so
// that a stream reads the database only when there is something to read:
// never a poll per subscriber. A record written by this process wakes the
// streams at once; records written by other replicas are noticed by one
// query per process per poll interval (pollOthers).
type feedbackHub struct {
	mu sync.Mutex
	// last is the highest record id known to exist.
	last int64
	// changed is closed, and replaced, whenever last grows.
	changed chan struct{}
	// closed is closed when the server shuts down: streams end so that
	// graceful shutdown need not wait for subscribers that never leave.
	closed    chan struct{}
	closeOnce sync.Once
}

func newFeedbackHub() *feedbackHub {
	return &feedbackHub{changed: make(chan struct{}), closed: make(chan struct{})}
}

// published records that id exists and wakes the streams if it is new.
func (h *feedbackHub) published(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id > h.last {
		h.last = id
		close(h.changed)
		h.changed = make(chan struct{})
	}
}

// wait returns a channel closed at the next change. Take it before
// reading the database, so that a record committed between the read and
// the wait still wakes the stream.
func (h *feedbackHub) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// close ends every stream.
func (h *feedbackHub) close() { h.closeOnce.Do(func() { close(h.closed) }) }

// pollOthers learns of records written by other processes sharing the
// database (replicas behind a load balancer) with one query per interval,
// until ctx ends. interval <= 0 disables it.
func (h *feedbackHub) pollOthers(ctx context.Context, lastID func(context.Context) (int64, error), interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.closed:
			return
		case <-t.C:
		}
		id, err := lastID(ctx)
		if err != nil {
			log.Warn("feedback poll failed", "err", err)
			continue
		}
		h.published(id)
	}
}
