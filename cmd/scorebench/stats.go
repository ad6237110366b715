package main

import (
	"fmt"
	"slices"
	"time"
)

// Dist is a latency distribution from every sample, sorted: exact
// percentiles, no histogram buckets.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	Avg float64 `json:"mean_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// quantile is the nearest-rank quantile of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// distOf sorts xs in place and summarises it.
func distOf(xs []time.Duration) Dist {
	if len(xs) == 0 {
		return Dist{}
	}
	slices.Sort(xs)
	var sum time.Duration
	for _, x := range xs {
		sum += x
	}
	return Dist{
		N: len(xs), P50: ms(quantile(xs, .50)), P90: ms(quantile(xs, .90)), P95: ms(quantile(xs, .95)), P99: ms(quantile(xs, .99)),
		Max: ms(xs[len(xs)-1]), Avg: ms(sum / time.Duration(len(xs))),
	}
}

func (d Dist) String() string {
	return fmt.Sprintf("n=%d p50 %.2f ms  p90 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.1f ms  mean %.2f ms", d.N, d.P50, d.P90, d.P95, d.P99, d.Max, d.Avg)
}

// sample is one timed call: when it started, relative to the phase's
// start, and how long it took.
type sample struct {
	at, took time.Duration
}

// window returns the durations of the samples that started in [from, to).
func window(ss []sample, from, to time.Duration) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		if s.at >= from && s.at < to {
			out = append(out, s.took)
		}
	}
	return out
}

func durations(ss []sample) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = s.took
	}
	return out
}
