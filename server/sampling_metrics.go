package server

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"qa-sampling/store"
)

// lastSuccessWeeks bounds the week label of
// qa_sampling_last_success_timestamp_seconds: the newest weeks only, as
// many as catch-up reaches back, so the series count stays constant over
// the years.
const lastSuccessWeeks = 8

// samplingMetrics are what an operator watches of the weekly sampling.
type samplingMetrics struct {
	duration    prometheus.Histogram
	picks       prometheus.Counter
	shortfalls  prometheus.Counter
	lastSuccess *prometheus.GaugeVec

	mu    sync.Mutex
	weeks map[string]time.Time // the weeks lastSuccess holds
}

func newSamplingMetrics(reg prometheus.Registerer) *samplingMetrics {
	m := &samplingMetrics{
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qa_sampling_run_duration_seconds",
			Help:    "Time to compute, assign and store one sampling run completed by this process.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50 ms .. 7 min
		}),
		picks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qa_sampling_run_picks_total",
			Help: "Picks stored by the sampling runs this process completed.",
		}),
		shortfalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "qa_sampling_run_shortfall_total",
			Help: "Agents short of their quota, summed over the sampling runs this process completed.",
		}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qa_sampling_last_success_timestamp_seconds",
			Help: "When the newest sampling run of each week completed (Unix seconds), for the newest 8 weeks with a run.",
		}, []string{"week"}),
		weeks: make(map[string]time.Time),
	}
	reg.MustRegister(m.duration, m.picks, m.shortfalls, m.lastSuccess)
	return m
}

// completed records a run this process completed, which took took.
func (m *samplingMetrics) completed(run store.Run, took time.Duration) {
	if m == nil {
		return
	}
	m.duration.Observe(took.Seconds())
	m.picks.Add(float64(run.Picks))
	m.shortfalls.Add(float64(run.Shortfalls))
	m.succeeded(run)
}

// succeeded sets the week's last success to run's completion, if later,
// and drops the oldest week beyond lastSuccessWeeks. ISO week strings sort
// in time order.
func (m *samplingMetrics) succeeded(run store.Run) {
	if m == nil || run.CompletedAt.IsZero() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.weeks[run.Week]; ok && !run.CompletedAt.After(t) {
		return
	}
	m.weeks[run.Week] = run.CompletedAt
	m.lastSuccess.WithLabelValues(run.Week).Set(float64(run.CompletedAt.UnixMilli()) / 1000)
	for len(m.weeks) > lastSuccessWeeks {
		oldest := slices.Min(slices.Collect(maps.Keys(m.weeks)))
		delete(m.weeks, oldest)
		m.lastSuccess.DeleteLabelValues(oldest)
	}
}

// seedMetrics sets the last success of the newest weeks from the stored
// runs, so that a restarted process reports them before its next run.
func (j *SamplingJob) seedMetrics(ctx context.Context) {
	if j.metrics == nil {
		return
	}
	runs, err := j.Store.ListRuns(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			j.Log.Warn("reading past sampling runs for the metrics failed", "err", err)
		}
		return
	}
	for _, r := range runs {
		j.metrics.succeeded(r)
	}
}
