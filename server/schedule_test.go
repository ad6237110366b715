package server

import (
	"database/sql"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// weekly is the schedule of srv's job on a fake clock set to now.
func weekly(srv *Server, now *time.Time) *WeeklySampling {
	srv.Sampling.Now = func() time.Time { return *now }
	sched, err := cron.ParseStandard("0 2 * * 1") // the default --sample-schedule
	if err != nil {
		panic(err)
	}
	return &WeeklySampling{Job: srv.Sampling, Schedule: sched, Since: *now}
}

func dueWeeks(t *testing.T, w *WeeklySampling) []string {
	t.Helper()
	weeks, _, err := w.DueWeeks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, wk := range weeks {
		out = append(out, wk.String())
	}
	return out
}

func mustWeek(t *testing.T, s string) isoweek.Week {
	t.Helper()
	w, err := isoweek.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestScheduleCatchUp(t *testing.T) {
	srv, _ := samplingFixture(t)
	// Wednesday of 2026-W48: the last firing was Monday 2026-11-23 02:00,
	// which samples 2026-W47.
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, shanghai)
	w := weekly(srv, &now)
	if got := dueWeeks(t, w); len(got) != 0 {
		t.Fatalf("no run, service started after the firing: due %v, want none (the service did not exist at the firing)", got)
	}
	w.Since = time.Date(2026, 11, 20, 0, 0, 0, 0, shanghai)
	if got, want := dueWeeks(t, w), []string{"2026-W47"}; !slices.Equal(got, want) {
		t.Fatalf("no run, the firing passed while the service ran: due %v, want %v", got, want)
	}
	if _, _, err := srv.Sampling.RunWeek(t.Context(), mustWeek(t, "2026-W44"), "manual:lead"); err != nil {
		t.Fatal(err)
	}
	// An old week run by hand afterwards is the newest run, not the
	// newest week: it must not send catch-up back eight weeks.
	if _, _, err := srv.Sampling.RunWeek(t.Context(), mustWeek(t, "2020-W21"), "manual:lead"); err != nil {
		t.Fatal(err)
	}
	if got, want := dueWeeks(t, w), []string{"2026-W45", "2026-W46", "2026-W47"}; !slices.Equal(got, want) {
		t.Fatalf("down since W44's run: due %v, want %v", got, want)
	}
	runs, err := w.RunOnce(t.Context())
	if err != nil || len(runs) != 3 {
		t.Fatalf("RunOnce = %d runs, %v; want W45..W47", len(runs), err)
	}
	for _, r := range runs {
		if r.CompletedAt.IsZero() || r.Trigger != "schedule" {
			t.Errorf("run %+v: want complete, triggered by the schedule", r)
		}
	}
	if got := dueWeeks(t, w); len(got) != 0 {
		t.Fatalf("after catching up: due %v, want none", got)
	}
	// Monday 01:00, before the firing: last week is not due yet.
	now = time.Date(2026, 11, 30, 1, 0, 0, 0, shanghai)
	if got := dueWeeks(t, w); len(got) != 0 {
		t.Fatalf("before Monday's firing: due %v, want none", got)
	}
	now = time.Date(2026, 11, 30, 2, 0, 0, 0, shanghai)
	if got, want := dueWeeks(t, w), []string{"2026-W48"}; !slices.Equal(got, want) {
		t.Fatalf("at Monday's firing: due %v, want %v", got, want)
	}
}

// On start, a run left incomplete by a runner that died is completed
// under its own policy version, although a newer one exists by then.
func TestScheduleCompletesUnfinishedRuns(t *testing.T) {
	srv, _ := samplingFixture(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, shanghai)
	w := weekly(srv, &now)
	ctx := t.Context()
	v1, err := srv.Sampling.LatestPolicy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale, _, err := srv.store.CreateRun(ctx, store.Run{Week: flowWeek, PolicyVersion: v1.Version, Seed: make([]byte, 32), Trigger: "schedule", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	p := sampler.DefaultPolicy()
	p.RandomPerAgent = 1
	doc, _ := json.Marshal(p)
	if _, err := srv.store.AddPolicyVersion(ctx, doc, "lead"); err != nil {
		t.Fatal(err)
	}
	runs, err := w.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done, err := srv.store.GetRun(ctx, stale.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.CompletedAt.IsZero() || done.Picks == 0 || done.PolicyVersion != v1.Version {
		t.Fatalf("the unfinished %s run after RunOnce: %+v; want it complete with picks under version %d", flowWeek, done, v1.Version)
	}
	if len(runs) != 2 || runs[1].Week != "2026-W47" {
		t.Fatalf("RunOnce returned %+v; want the completed %s run, then 2026-W47", runs, flowWeek)
	}
}

// A pass that cannot read the runs says so; it used to find no week due
// and say nothing.
func TestScheduleSurfacesStoreErrors(t *testing.T) {
	srv, path := samplingFixture(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, shanghai)
	w := weekly(srv, &now)
	if _, err := srv.Sampling.LatestPolicy(t.Context()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec("ALTER TABLE sampling_runs RENAME TO sampling_runs_gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(t.Context()); err == nil {
		t.Fatal("RunOnce without a runs table reported no error")
	}
}

func TestRetryWait(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := retryWait(i + 1); got != w {
			t.Errorf("retryWait(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := retryWait(1000); got != time.Hour {
		t.Errorf("retryWait(1000) = %s, want an hour at most", got)
	}
}
