package main

import (
	"context"
	"fmt"

	"github.com/robfig/cron/v3"

	"qa-sampling/server"
)

// startSchedule runs the weekly sampling (server.WeeklySampling) on spec,
// a standard 5-field cron spec read in the policy's time zone. The
// returned function stops it and waits for a run in progress to give up.
func startSchedule(ctx context.Context, job *server.SamplingJob, spec string) (func(), error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("--sample-schedule %q: %w", spec, err)
	}
	weekly := &server.WeeklySampling{Job: job, Schedule: sched}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		weekly.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}
