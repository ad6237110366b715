package main

import (
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"qa-sampling/server"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

func TestCatchUpWeeks(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	job := &server.SamplingJob{Store: st, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	sched, err := cron.ParseStandard("0 2 * * 1")
	if err != nil {
		t.Fatal(err)
	}
	// Wednesday of 2026-W48: the last firing was Monday 2026-11-23 02:00,
	// which samples 2026-W47.
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, loc)
	weeks := func() []string {
		var out []string
		for _, w := range catchUpWeeks(t.Context(), job, sched, loc, now) {
			out = append(out, w.String())
		}
		return out
	}
	if got := weeks(); len(got) != 0 {
		t.Fatalf("no run yet: catch-up %v, want none (the service did not exist at the firing)", got)
	}
	addRun := func(week string) {
		if _, _, err := st.CreateRun(t.Context(), store.Run{Week: week, PolicyVersion: 1, Seed: make([]byte, 32), Trigger: "test", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	addRun("2026-W44")
	if got, want := weeks(), []string{"2026-W45", "2026-W46", "2026-W47"}; !slices.Equal(got, want) {
		t.Fatalf("down since W44's run: catch-up %v, want %v", got, want)
	}
	addRun("2026-W47")
	if got := weeks(); len(got) != 0 {
		t.Fatalf("W47 already run: catch-up %v, want none", got)
	}
	// Monday 01:00, before the firing: last week is not due yet.
	early := time.Date(2026, 11, 30, 1, 0, 0, 0, loc)
	if got := catchUpWeeks(t.Context(), job, sched, loc, early); len(got) != 0 {
		t.Fatalf("before Monday's firing: catch-up %v, want none", got)
	}
}
