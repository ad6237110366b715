package server

import (
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store"
	"qa-sampling/transcript"
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

// With a settle delay, Monday's firing leaves last week until it ended
// that long ago, and the schedule wakes up then rather than a week later.
func TestScheduleSettleDelay(t *testing.T) {
	srv, _ := samplingFixture(t)
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, shanghai) // Monday's firing for 2026-W47
	w := weekly(srv, &now)
	w.Since = time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	w.SettleDelay = 6 * time.Hour
	if got := dueWeeks(t, w); len(got) != 0 {
		t.Fatalf("no run yet, W47 ended 2 h ago: due %v, want none", got)
	}
	if wait, err := w.untilNext(t.Context()); err != nil || wait != 4*time.Hour {
		t.Errorf("untilNext = %s, %v; want 4h, when W47 has settled", wait, err)
	}
	if _, _, err := srv.Sampling.RunWeek(t.Context(), mustWeek(t, "2026-W45"), "manual:lead"); err != nil {
		t.Fatal(err)
	}
	if got, want := dueWeeks(t, w), []string{"2026-W46"}; !slices.Equal(got, want) {
		t.Errorf("W45 run, W47 not settled: due %v, want %v (settled long ago)", got, want)
	}
	now = time.Date(2026, 11, 23, 6, 0, 0, 0, shanghai)
	if got, want := dueWeeks(t, w), []string{"2026-W46", "2026-W47"}; !slices.Equal(got, want) {
		t.Errorf("at 06:00: due %v, want %v", got, want)
	}
	if wait, err := w.untilNext(t.Context()); err != nil || wait != 7*24*time.Hour-4*time.Hour {
		t.Errorf("untilNext once settled = %s, %v; want the next firing", wait, err)
	}
}

// Scheduled top-ups: of the last weeks, those whose run got late chats
// since it are topped up; a second check with nothing new does nothing.
func TestScheduleTopsUpLateWeeks(t *testing.T) {
	srv, _ := samplingFixture(t)
	ctx := t.Context()
	now := time.Date(2026, 11, 18, 12, 0, 0, 0, shanghai) // Wednesday of W47
	w := weekly(srv, &now)
	w.TopUpWeeks, w.TopUpEvery = 4, time.Hour
	if got, err := w.TopUpWeeksDue(ctx); err != nil || len(got) != 4 || got[3].String() != flowWeek || got[0].String() != "2026-W43" {
		t.Fatalf("TopUpWeeksDue = %v, %v; want W43..%s", got, err, flowWeek)
	}
	if ups, err := w.TopUpOnce(ctx); err != nil || len(ups) != 0 {
		t.Fatalf("TopUpOnce with no run = %v, %v; want nothing", ups, err)
	}
	run, _, err := srv.Sampling.RunWeek(ctx, mustWeek(t, flowWeek), "schedule")
	if err != nil {
		t.Fatal(err)
	}
	if ups, err := w.TopUpOnce(ctx); err != nil || len(ups) != 0 {
		t.Fatalf("TopUpOnce with no late chat = %v, %v; want nothing", ups, err)
	}
	if w.topUpsDue() {
		t.Error("top-ups due again right after a check")
	}
	if wait, err := w.untilNext(ctx); err != nil || wait != time.Hour {
		t.Errorf("untilNext = %s, %v; want the next top-up check in 1h", wait, err)
	}
	var late []*transcript.Prepared
	for i := range 3 {
		start := flowChatStart.Add(time.Duration(20+i) * time.Hour)
		late = append(late, transcript.Prepare(transcript.Transcript{
			ExternalID: "late" + strconv.Itoa(i), AgentID: "agent-a", Channel: "chat", StartedAt: start, EndedAt: start.Add(time.Minute),
			Messages: []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "还没到", SentAt: start.Add(time.Second)},
				{Role: transcript.RoleAgent, Text: "马上查", SentAt: start.Add(20 * time.Second)},
			},
		}))
	}
	if _, err := srv.store.UpsertTranscripts(ctx, late); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour)
	if !w.topUpsDue() {
		t.Fatal("top-ups not due an hour after the last check")
	}
	ups, err := w.TopUpOnce(ctx)
	if err != nil || len(ups) != 1 || ups[0].RunID != run.ID || ups[0].Trigger != "schedule" || ups[0].Picks != 1 || ups[0].Considered != 3 {
		t.Fatalf("TopUpOnce after 3 late chats = %+v, %v; want one top-up of run %d adding agent-a's fifth pick", ups, err, run.ID)
	}
	if ups, err := w.TopUpOnce(ctx); err != nil || len(ups) != 0 {
		t.Fatalf("TopUpOnce again = %+v, %v; want nothing (no chat since)", ups, err)
	}
}
