package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"qa-sampling/isoweek"
	"qa-sampling/sampler"
	"qa-sampling/store/sqlstore"
)

func zzCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZPreview(t *testing.T) {
	path := os.Getenv("ZZ_DB")
	if path == "" {
		t.Skip()
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	week, _ := isoweek.New(2026, 47)
	from, end := week.Bounds(time.UTC)
	policy := sampler.DefaultPolicy()
	policy.TimeZone = "UTC"
	doc, _ := json.Marshal(policy)
	pv, err := st.AddPolicyVersion(ctx, doc, "zz")
	if err != nil {
		t.Fatal(err)
	}
	policy.Version = pv.Version
	job := &SamplingJob{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return end.Add(time.Hour) }}
	seed, err := job.WeekSeed(ctx, week)
	if err != nil {
		t.Fatal(err)
	}
	if p := os.Getenv("ZZ_PROF"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var first *sampler.Result
	for i := 0; i < 5; i++ {
		w0, c0 := time.Now(), zzCPU()
		n, err := st.BareScanWeek(ctx, from, end)
		if err != nil {
			t.Fatal(err)
		}
		bw, bc := time.Since(w0), zzCPU()-c0
		w0, c0 = time.Now(), zzCPU()
		res, _, err := job.Compute(ctx, week, policy, seed, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		pw, pc := time.Since(w0), zzCPU()-c0
		t.Logf("bare %v (cpu %v, %d) preview %v (cpu %v) ratio %.2f picks %d", bw.Round(time.Millisecond), bc.Round(time.Millisecond), n, pw.Round(time.Millisecond), pc.Round(time.Millisecond), float64(pw)/float64(bw), len(res.Picks))
		if first == nil {
			first = res
		}
	}
	if h := os.Getenv("ZZ_HASH"); h != "" {
		b, _ := json.Marshal(first.Picks)
		os.WriteFile(h, b, 0o644)
	}
}
