package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"qa-sampling/server"
)

// scheduleFlags tune the weekly sampling's settle delay and top-ups.
type scheduleFlags struct {
	settle, topUpEvery time.Duration
	topUpWeeks         int
}

// startSchedule runs the weekly sampling (server.WeeklySampling) on spec,
// a standard 5-field cron spec read in the policy's time zone. The
// returned function stops it and waits for a run in progress to give up.
func startSchedule(ctx context.Context, job *server.SamplingJob, spec string, f scheduleFlags) (func(), error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("--sample-schedule %q: %w", spec, err)
	}
	if f.settle < 0 || f.topUpWeeks < 0 || f.topUpEvery < 0 {
		return nil, errors.New("--sample-settle, --top-up-weeks and --top-up-every must not be negative")
	}
	if f.topUpWeeks > 0 && f.topUpEvery < time.Minute {
		return nil, fmt.Errorf("--top-up-every %s: at least 1m while --top-up-weeks is on", f.topUpEvery)
	}
	weekly := &server.WeeklySampling{Job: job, Schedule: sched, SettleDelay: f.settle, TopUpWeeks: f.topUpWeeks, TopUpEvery: f.topUpEvery}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		weekly.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}
