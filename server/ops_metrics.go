package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"qa-sampling/store"
)

// opsMetrics are the business metrics of review and feedback an operator
// watches beside ingest's and sampling's: the counters the handlers feed,
// and the backlog read from the store at scrape time.
type opsMetrics struct {
	// finalised counts reviews this process finalised.
	finalised prometheus.Counter
	// watchers counts the WatchFeedback streams open on this process.
	watchers atomic.Int64
}

// Scrapes read the backlog at most once per backlogMaxAge, so that many
// scrapers (or a scrape storm) cost the database one query per interval,
// and give up after backlogTimeout rather than hold a scrape on a slow
// database.
const (
	backlogMaxAge  = 5 * time.Second
	backlogTimeout = 3 * time.Second
)

func newOpsMetrics(reg prometheus.Registerer, st store.BacklogStore, now func() time.Time, log *slog.Logger) *opsMetrics {
	m := &opsMetrics{
		finalised: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qa_reviews_finalised_total",
			Help: "Reviews finalised by this process, re-scorings after a dispute included.",
		}),
	}
	reg.MustRegister(m.finalised,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "qa_feedback_watch_subscribers",
			Help: "WatchFeedback streams open on this process.",
		}, func() float64 { return float64(m.watchers.Load()) }),
		&backlogCollector{store: st, now: now, log: log},
	)
	return m
}

// watching counts one open WatchFeedback stream until the returned
// function is called.
func (m *opsMetrics) watching() (done func()) {
	m.watchers.Add(1)
	return func() { m.watchers.Add(-1) }
}

var (
	openItemsDesc = prometheus.NewDesc("qa_review_items_open",
		"Sampled items waiting for a final review, by status (assigned, pool, disputed); whole database.", []string{"status"}, nil)
	unackedDesc = prometheus.NewDesc("qa_feedback_unacked",
		"Feedback records no supervisor has acknowledged; whole database.", nil, nil)
	unackedAgeDesc = prometheus.NewDesc("qa_feedback_unacked_oldest_age_seconds",
		"Age of the oldest unacknowledged feedback record; 0 when there is none.", nil, nil)
	openDisputesDesc = prometheus.NewDesc("qa_disputes_open",
		"Disputes not yet resolved; whole database.", nil, nil)
)

// backlogCollector reports the store's backlog at scrape time: the state
// lives in the database, shared by every replica, so each replica reports
// the same values (aggregate them with max, not sum).
type backlogCollector struct {
	store store.BacklogStore
	now   func() time.Time
	log   *slog.Logger

	// mu is held through the query, so concurrent scrapes share one.
	mu     sync.Mutex
	cached store.Backlog
	at     time.Time // when cached was read; zero before the first read
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- openItemsDesc
	ch <- unackedDesc
	ch <- unackedAgeDesc
	ch <- openDisputesDesc
}

// Collect reports the backlog; when the store cannot answer it reports
// nothing (the series go absent, which an alert can see) and logs why.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	b, ok := c.backlog()
	if !ok {
		return
	}
	for _, st := range store.OpenPickStatuses {
		ch <- prometheus.MustNewConstMetric(openItemsDesc, prometheus.GaugeValue, float64(b.OpenPicks[st]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(unackedDesc, prometheus.GaugeValue, float64(b.UnackedFeedback))
	age := 0.0
	if !b.OldestUnacked.IsZero() {
		age = max(0, c.now().Sub(b.OldestUnacked).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(unackedAgeDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(openDisputesDesc, prometheus.GaugeValue, float64(b.OpenDisputes))
}

// backlog returns the cached backlog, reading it again once it is older
// than backlogMaxAge.
func (c *backlogCollector) backlog() (store.Backlog, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.at.IsZero() && now.Sub(c.at) < backlogMaxAge {
		return c.cached, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	b, err := c.store.Backlog(ctx)
	if err != nil {
		c.log.Warn("metrics: reading the backlog failed", "err", err)
		return store.Backlog{}, false
	}
	c.cached, c.at = b, now
	return b, true
}
