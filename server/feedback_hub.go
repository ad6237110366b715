package server

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// feedbackHub tells open WatchFeedback streams that new records exist, so
// that a stream reads the database only when there is something for it:
// never a poll per subscriber. A record written by this process wakes the
// streams of its supervisor and the unfiltered (admin) streams at once;
// waking every stream on every record made 20 supervisors' streams run 20
// queries per finalise, which on PostgreSQL cost more than the finalise.
// Records written by other replicas are noticed by one query per process
// per poll interval (feedbackPoller), which wakes every stream.
type feedbackHub struct {
	mu sync.Mutex
	// polled is the highest record id the poller has seen.
	polled int64
	// all is closed, and replaced, on every change.
	all chan struct{}
	// bySupervisor holds the channel of each supervisor with a waiting
	// stream; it is closed and removed on a change for that supervisor.
	bySupervisor map[string]chan struct{}
	// closed is closed when the server shuts down: streams end so that
	// graceful shutdown need not wait for subscribers that never leave.
	closed    chan struct{}
	closeOnce sync.Once
}

func newFeedbackHub() *feedbackHub {
	return &feedbackHub{all: make(chan struct{}), bySupervisor: make(map[string]chan struct{}), closed: make(chan struct{})}
}

// published wakes the streams that may show a record this process just
// wrote for supervisor.
func (h *feedbackHub) published(supervisor string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.all)
	h.all = make(chan struct{})
	if c, ok := h.bySupervisor[supervisor]; ok {
		close(c)
		delete(h.bySupervisor, supervisor)
	}
}

// polledUpTo records that ids up to id exist and, if that is news, wakes
// every stream: the poll cannot tell whose records appeared.
func (h *feedbackHub) polledUpTo(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id <= h.polled {
		return
	}
	h.polled = id
	close(h.all)
	h.all = make(chan struct{})
	for supervisor, c := range h.bySupervisor {
		close(c)
		delete(h.bySupervisor, supervisor)
	}
}

// wait returns a channel closed at the next change that concerns
// supervisor's records ("" for every record). Take it before reading the
// database, so that a record committed between the read and the wait
// still wakes the stream.
func (h *feedbackHub) wait(supervisor string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if supervisor == "" {
		return h.all
	}
	c, ok := h.bySupervisor[supervisor]
	if !ok {
		c = make(chan struct{})
		h.bySupervisor[supervisor] = c
	}
	return c
}

// close ends every stream.
func (h *feedbackHub) close() { h.closeOnce.Do(func() { close(h.closed) }) }

// feedbackPoller learns of records written by other processes sharing the
// database (replicas behind a load balancer) with one query per interval,
// and wakes the hub's streams when there are any.
type feedbackPoller struct {
	hub      *feedbackHub
	lastID   func(context.Context) (int64, error)
	interval time.Duration // <= 0 disables
	log      *slog.Logger
}

// Run polls every interval until ctx ends or the hub closes. A failed poll
// is logged and the next one tried.
func (p *feedbackPoller) Run(ctx context.Context) {
	if p.interval <= 0 {
		return
	}
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.hub.closed:
			return
		case <-t.C:
		}
		if err := p.RunOnce(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("feedback poll failed", "err", err)
		}
	}
}

// RunOnce reads the newest record id and wakes every stream if it is new.
func (p *feedbackPoller) RunOnce(ctx context.Context) error {
	id, err := p.lastID(ctx)
	if err != nil {
		return err
	}
	p.hub.polledUpTo(id)
	return nil
}
