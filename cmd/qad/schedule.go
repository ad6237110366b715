package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"

	"qa-sampling/isoweek"
	"qa-sampling/server"
)

// maxCatchUpWeeks bounds how far back a server that was down catches up.
const maxCatchUpWeeks = 8

// startSchedule runs the weekly sampling on spec (standard 5-field cron) in
// the policy's time zone, each firing sampling the week before the one it
// fires in, and catches up on the weeks whose firing passed while no server
// ran. Runs are idempotent per week and policy version, so replicas that
// all fire (or catch up) produce one run. The returned function stops it.
func startSchedule(ctx context.Context, job *server.SamplingJob, spec string, log *slog.Logger) (func(), error) {
	policy, err := job.Policy(ctx)
	if err != nil {
		return nil, err
	}
	loc, err := policy.Location()
	if err != nil {
		return nil, err
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("--sample-schedule %q: %w", spec, err)
	}
	run := func(week isoweek.Week, trigger string) {
		r, created, err := job.RunWeek(ctx, week, trigger)
		if err != nil {
			log.Error("scheduled sampling failed", "week", week.String(), "err", err)
			return
		}
		log.Info("scheduled sampling", "week", week.String(), "run", r.ID, "created", created, "trigger", trigger)
	}
	c := cron.New(cron.WithLocation(loc))
	c.Schedule(sched, cron.FuncJob(func() {
		run(isoweek.Of(time.Now(), loc).Prev(), "schedule")
	}))
	c.Start()
	go func() {
		for _, w := range catchUpWeeks(ctx, job, sched, loc, time.Now()) {
			run(w, "catch-up")
		}
	}()
	return func() { <-c.Stop().Done() }, nil
}

// catchUpWeeks are the weeks whose firing time passed after the newest
// run's week, back to maxCatchUpWeeks. With no run at all there is nothing
// to catch up: the service did not exist at the last firing, and sampling
// last week now, before the platform pushed its history, would seal it as
// an empty run.
func catchUpWeeks(ctx context.Context, job *server.SamplingJob, sched cron.Schedule, loc *time.Location, now time.Time) []isoweek.Week {
	var last time.Time
	for t := sched.Next(now.Add(-8 * 24 * time.Hour).In(loc)); !t.After(now); t = sched.Next(t) {
		last = t
	}
	if last.IsZero() {
		return nil
	}
	target := isoweek.Of(last, loc).Prev()
	runs, err := job.Store.ListRuns(ctx, "")
	if err != nil || len(runs) == 0 {
		return nil
	}
	newest, err := isoweek.Parse(runs[0].Week)
	if err != nil {
		return nil
	}
	var weeks []isoweek.Week
	for w := target; len(weeks) < maxCatchUpWeeks && newest.String() < w.String(); w = w.Prev() {
		weeks = append([]isoweek.Week{w}, weeks...)
	}
	return weeks
}
