package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/store"
)

// MaxCatchUpWeeks bounds how far back a server that was down catches up.
const MaxCatchUpWeeks = 8

// Schedule says when the weekly sampling fires: the first firing after a
// time, in that time's location. A parsed cron spec (robfig/cron's
// Schedule) is one; cmd wires it.
type Schedule interface {
	Next(time.Time) time.Time
}

// WeeklySampling is the weekly job (SPEC §2 step 2). Each firing samples
// the week before the one it fires in, read in the policy's time zone, and
// catches up on what a server that was down, or a firing that failed,
// left undone. Runs are idempotent per week and policy version, so
// replicas that all fire produce one run.
type WeeklySampling struct {
	Job      *SamplingJob
	Schedule Schedule
	// Since is when the service began to keep the schedule (Run sets it to
	// the job's clock when zero). A firing before it, when no run is stored
	// at all, is not caught up: the service did not exist then, and
	// sampling last week before the platform pushed its history would seal
	// it as an empty run.
	Since time.Time
	// SettleDelay holds a week's run back until the week ended at least
	// this long ago, for the chats that finish syncing after the week ends
	// (a firing before that runs it once it has settled).
	SettleDelay time.Duration
	// TopUpWeeks is how many of the weeks before the current one have
	// their run topped up (SamplingJob.TopUp) when chats arrived for them
	// since it or its last top-up, checked every TopUpEvery; 0 or a zero
	// interval turns scheduled top-ups off.
	TopUpWeeks int
	TopUpEvery time.Duration

	// lastTopUps is when the top-ups were last checked.
	lastTopUps time.Time
}

// Run passes once at once (catching up), then at every firing, until ctx
// ends. A failed pass is logged and tried again after retryWait, before
// the next firing if that is further off.
func (w *WeeklySampling) Run(ctx context.Context) {
	if w.Since.IsZero() {
		w.Since = w.Job.Now()
	}
	failures := 0
	for {
		failures++
		if _, err := w.RunOnce(ctx); err == nil {
			failures = 0
		} else if ctx.Err() == nil {
			w.Job.Log.Error("scheduled sampling failed", "err", err, "retry_in", retryWait(failures).String())
		}
		if w.topUpsDue() {
			// A failure is logged and tried at the next check.
			if _, err := w.TopUpOnce(ctx); err != nil && ctx.Err() == nil {
				w.Job.Log.Error("scheduled top-ups failed", "err", err, "retry_in", w.TopUpEvery.String())
			}
		}
		wait, err := w.untilNext(ctx)
		if err != nil {
			failures = max(failures, 1)
			w.Job.Log.Error("scheduled sampling: reading the policy failed", "err", err, "retry_in", retryWait(failures).String())
			wait = retryWait(failures)
		}
		if failures > 0 {
			wait = min(wait, retryWait(failures))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// retryWait is the pause after the nth failed pass in a row: a minute,
// doubling up to an hour, so that a database that was down at start does
// not leave the catch-up for a week.
func retryWait(failures int) time.Duration {
	return min(time.Minute<<min(max(failures-1, 0), 6), time.Hour)
}

// untilNext is the time to the next firing, in the policy's time zone,
// or sooner to the moment the last firing's week settles (SettleDelay),
// or to the next top-up check.
func (w *WeeklySampling) untilNext(ctx context.Context) (time.Duration, error) {
	loc, err := w.location(ctx)
	if err != nil {
		return 0, err
	}
	now := w.Job.Now()
	next := w.Schedule.Next(now.In(loc))
	if last := w.lastFiring(now, loc); !last.IsZero() {
		_, end := isoweek.Of(last, loc).Prev().Bounds(loc)
		if settled := end.Add(w.SettleDelay); settled.After(now) && settled.Before(next) {
			next = settled
		}
	}
	if w.topUpsOn() {
		if check := w.lastTopUps.Add(w.TopUpEvery); check.Before(next) {
			next = check
		}
	}
	return max(next.Sub(now), 0), nil
}

// lastFiring is the schedule's last firing at or before now (within the
// last eight days), or zero.
func (w *WeeklySampling) lastFiring(now time.Time, loc *time.Location) time.Time {
	var last time.Time
	for t := w.Schedule.Next(now.Add(-8 * 24 * time.Hour).In(loc)); !t.After(now); t = w.Schedule.Next(t) {
		last = t
	}
	return last
}

func (w *WeeklySampling) location(ctx context.Context) (*time.Location, error) {
	policy, err := w.Job.Policy(ctx)
	if err != nil {
		return nil, err
	}
	return policy.Location()
}

// RunOnce samples every week due now (DueWeeks) and completes the
// unfinished runs of those weeks, under their own policy versions. It
// returns the runs it completed or found, and every failure, joined: one
// week failing does not stop the others.
func (w *WeeklySampling) RunOnce(ctx context.Context) ([]store.Run, error) {
	weeks, unfinished, err := w.DueWeeks(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Run
	var errs []error
	for _, r := range unfinished {
		done, err := w.Job.Resume(ctx, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("completing run %d of %s: %w", r.ID, r.Week, err))
			continue
		}
		out = append(out, done)
	}
	for _, week := range weeks {
		r, created, err := w.Job.RunWeek(ctx, week, "schedule")
		if err != nil {
			errs = append(errs, fmt.Errorf("sampling %s: %w", week, err))
			continue
		}
		w.Job.Log.Info("scheduled sampling", "week", week.String(), "run", r.ID, "created", created)
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// DueWeeks are, at the job's clock, the weeks to sample and the
// unfinished runs to complete. A week is due when a firing that samples it
// passed after the newest week with a run (back to MaxCatchUpWeeks);
// with no run stored, only a firing since Since counts. A run is
// unfinished when it is incomplete and its week within that window.
func (w *WeeklySampling) DueWeeks(ctx context.Context) ([]isoweek.Week, []store.Run, error) {
	loc, err := w.location(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := w.Job.Now()
	last := w.lastFiring(now, loc)
	if last.IsZero() {
		return nil, nil, nil
	}
	target := isoweek.Of(last, loc).Prev()
	_, end := target.Bounds(loc)
	settled := !now.Before(end.Add(w.SettleDelay))
	runs, err := w.Job.Store.ListRuns(ctx, "")
	if err != nil {
		return nil, nil, fmt.Errorf("listing runs for catch-up: %w", err)
	}
	if len(runs) == 0 {
		if last.Before(w.Since) || !settled {
			return nil, nil, nil
		}
		return []isoweek.Week{target}, nil, nil
	}
	// The week the last firing samples waits until it has settled; the
	// ones before it have.
	if !settled {
		target = target.Prev()
	}
	// The newest week with a run (ISO week strings sort as text): not
	// runs[0], the newest run, which may be an old week run by hand.
	newest := slices.MaxFunc(runs, func(a, b store.Run) int { return strings.Compare(a.Week, b.Week) }).Week
	oldest := target
	var weeks []isoweek.Week
	for wk := target; len(weeks) < MaxCatchUpWeeks; wk = wk.Prev() {
		oldest = wk
		if strings.Compare(wk.String(), newest) <= 0 {
			break
		}
		weeks = append(weeks, wk)
	}
	slices.Reverse(weeks)
	var unfinished []store.Run
	for _, r := range runs {
		if r.CompletedAt.IsZero() && strings.Compare(r.Week, oldest.String()) >= 0 && strings.Compare(r.Week, target.String()) <= 0 {
			unfinished = append(unfinished, r)
		}
	}
	return weeks, unfinished, nil
}

func (w *WeeklySampling) topUpsOn() bool { return w.TopUpWeeks > 0 && w.TopUpEvery > 0 }

// topUpsDue reports whether the top-ups are to be checked now.
func (w *WeeklySampling) topUpsDue() bool {
	return w.topUpsOn() && !w.Job.Now().Before(w.lastTopUps.Add(w.TopUpEvery))
}

// TopUpWeeksDue are the TopUpWeeks weeks before the current one (in the
// policy's time zone), oldest first.
func (w *WeeklySampling) TopUpWeeksDue(ctx context.Context) ([]isoweek.Week, error) {
	loc, err := w.location(ctx)
	if err != nil {
		return nil, err
	}
	weeks := make([]isoweek.Week, 0, w.TopUpWeeks)
	for wk := isoweek.Of(w.Job.Now(), loc).Prev(); len(weeks) < w.TopUpWeeks; wk = wk.Prev() {
		weeks = append(weeks, wk)
	}
	slices.Reverse(weeks)
	return weeks, nil
}

// TopUpOnce tops up the completed run of each of the last TopUpWeeks
// weeks (SamplingJob.WeekRun) for which chats arrived since it or its
// last top-up (SamplingJob.LateChats); weeks without a run are left to
// RunOnce. It returns the top-ups made and every failure, joined.
func (w *WeeklySampling) TopUpOnce(ctx context.Context) ([]store.TopUp, error) {
	w.lastTopUps = w.Job.Now()
	weeks, err := w.TopUpWeeksDue(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.TopUp
	var errs []error
	for _, week := range weeks {
		run, err := w.Job.WeekRun(ctx, week)
		if noRun := (*NoRunError)(nil); errors.As(err, &noRun) {
			continue
		}
		if err == nil && run.CompletedAt.IsZero() {
			continue // RunOnce completes it
		}
		var late bool
		if err == nil {
			late, err = w.Job.LateChats(ctx, run)
		}
		if err == nil && late {
			var up store.TopUp
			if up, err = w.Job.TopUp(ctx, run, "schedule"); err == nil {
				out = append(out, up)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("topping up %s: %w", week, err))
		}
	}
	return out, errors.Join(errs...)
}
