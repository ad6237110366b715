// Command scorebench measures issue 4's scoring figures against a running
// `qad serve`: it loads a team of agents and weeks of chats, samples every
// week, then has concurrent inspectors finalise every picked item while
// every supervisor watches their feedback stream, and finally times the
// team report over the whole range.
//
// Measured, all through the real gRPC API on loopback:
//
//  1. SubmitReview(final=true) latency and throughput with -inspectors
//     inspectors finalising their whole queues at once (closed loop: each
//     sends its next review as soon as the last one is answered).
//  2. Finalise to feedback record: from just before SubmitReview is sent
//     to the record arriving on the agent's supervisor's open
//     WatchFeedback stream, for every record (same process, same clock).
//  3. GetTeamReport over all agents and weeks: the first call, then
//     -report-calls more.
//
// scripts/bench-scoring.sh starts the server on a fresh database, creates
// the tokens (`qad token create`) and runs this; its flags pass through:
//
//	scripts/bench-scoring.sh -agents 40 -weeks 2     # smoke run, seconds
//	scripts/bench-scoring.sh                         # 2,000 agents × 12 weeks
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"qa-sampling/isoweek"

	"google.golang.org/grpc"
)

type config struct {
	addr, tokens, team, lastWeek, jsonOut  string
	agents, supervisors, inspectors, weeks int
	chatsMin, chatsMax, streams            int
	reportCalls, profileSeconds, serverPID int
	flagRate                               float64
	rates                                  []float64
	rateSeconds                            int
	open, pacedOnly                        bool
	seed                                   uint64
	pprof, profileDir                      string
	// http is the HTTP API's base URL; watchOver is grpc or http.
	http, watchOver string
}

type bench struct {
	cfg           config
	tokens        map[string]string
	admin, ingest *user
	conns         []*grpc.ClientConn
	loc           *time.Location
	lastWeek      isoweek.Week
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s scorebench: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "127.0.0.1:7591", "qad gRPC address")
	flag.StringVar(&c.tokens, "tokens", "", "file of \"role subject token\" lines: admin, ingest, every inspector and supervisor (scripts/bench-scoring.sh writes it)")
	flag.IntVar(&c.agents, "agents", 2000, "agents, all in one team")
	flag.IntVar(&c.supervisors, "supervisors", 20, "supervisors, each with a contiguous block of agents")
	flag.IntVar(&c.inspectors, "inspectors", 32, "inspectors finalising at once")
	flag.IntVar(&c.weeks, "weeks", 12, "ISO weeks of chats, each sampled")
	flag.StringVar(&c.lastWeek, "last-week", "", "the last week, e.g. 2026-W47 (default: the week before the current one, Asia/Shanghai)")
	flag.IntVar(&c.chatsMin, "chats-min", 5, "fewest chats per agent and week")
	flag.IntVar(&c.chatsMax, "chats-max", 7, "most chats per agent and week")
	flag.IntVar(&c.streams, "streams", -1, "open WatchFeedback streams; default one per supervisor, more: several per supervisor, 0: none")
	flag.IntVar(&c.reportCalls, "report-calls", 20, "GetTeamReport calls timed after the first")
	flag.Float64Var(&c.flagRate, "flag-rate", 0.02, "share of reviews that raise a critical flag")
	rates := flag.String("rates", "", "after the closed loop, finalise at each of these total rates per second in turn (Poisson arrivals, comma-separated), on items held back for it")
	flag.IntVar(&c.rateSeconds, "rate-seconds", 20, "how long each -rates phase runs")
	flag.BoolVar(&c.pacedOnly, "paced-only", false, "with -rates: skip the closed loop (its items stay unreviewed)")
	flag.BoolVar(&c.open, "open", false, "OpenItem each item before finalising it, as an inspector's client would (timed separately)")
	flag.StringVar(&c.http, "http", "", "base URL of qad's HTTP API, e.g. http://127.0.0.1:7590: also time the HTTP API's calls (issue 10)")
	flag.StringVar(&c.watchOver, "watch-over", "grpc", "hold the supervisors' feedback streams over grpc or http (JSON lines; needs -http)")
	flag.StringVar(&c.team, "team", "team-1", "team id")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed")
	flag.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file (- for stdout)")
	flag.StringVar(&c.pprof, "pprof", "", "base URL of the server's metrics listener with --pprof, e.g. http://127.0.0.1:7592")
	flag.StringVar(&c.profileDir, "profile-dir", ".", "where server CPU profiles go (finalise.cpu.pprof, report.cpu.pprof)")
	flag.IntVar(&c.profileSeconds, "profile-seconds", 0, "length of each server CPU profile; 0 takes none")
	flag.IntVar(&c.serverPID, "server-pid", 0, "qad's pid, to read its CPU time from /proc (same host)")
	flag.Parse()
	for _, r := range strings.Split(*rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "scorebench: -rates: %q is not a positive number\n", r)
			os.Exit(2)
		}
		c.rates = append(c.rates, v)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "scorebench:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	switch {
	case c.tokens == "":
		return errors.New("-tokens is required")
	case c.agents < 1 || c.supervisors < 1 || c.inspectors < 1 || c.weeks < 1 || c.weeks > 104:
		return errors.New("-agents, -supervisors, -inspectors must be positive and -weeks 1..104")
	case c.chatsMin < 1 || c.chatsMax < c.chatsMin:
		return errors.New("need 1 <= -chats-min <= -chats-max")
	case c.watchOver != "grpc" && c.watchOver != "http", c.watchOver == "http" && c.http == "":
		return errors.New("-watch-over is grpc or http, and http needs -http")
	}
	c.supervisors = min(c.supervisors, c.agents)
	if c.streams < 0 {
		c.streams = c.supervisors
	}
	b := &bench{cfg: c}
	var err error
	if b.loc, err = time.LoadLocation("Asia/Shanghai"); err != nil {
		return err
	}
	if c.lastWeek == "" {
		b.lastWeek = isoweek.Of(time.Now(), b.loc).Prev()
	} else if b.lastWeek, err = isoweek.Parse(c.lastWeek); err != nil {
		return fmt.Errorf("-last-week: %w", err)
	}
	if b.tokens, err = readTokens(c.tokens); err != nil {
		return err
	}
	defer func() {
		for _, cc := range b.conns {
			_ = cc.Close()
		}
	}()
	if b.admin, err = b.user("admin", "bench"); err != nil {
		return err
	}
	if b.ingest, err = b.user("ingest", "bench"); err != nil {
		return err
	}
	ctx := context.Background()
	out := struct {
		Config struct {
			Agents, Supervisors, Inspectors, Weeks, ChatsMin, ChatsMax, Streams int
			FirstWeek, LastWeek                                                 string
			OpenItem                                                            bool
		} `json:"config"`
		Setup struct {
			Transcripts      int       `json:"transcripts"`
			IngestPerSecond  float64   `json:"ingest_per_second"`
			Picks            int       `json:"picks"`
			RunWeekSeconds   []float64 `json:"run_week_seconds"`
			SetupWallSeconds float64   `json:"setup_seconds"`
		} `json:"setup"`
		Scoring *scoringResult  `json:"scoring"`
		Report  *reportResult   `json:"report"`
		HTTP    *httpCallResult `json:"http,omitempty"`
	}{}
	weeks := b.weekList()
	out.Config.Agents, out.Config.Supervisors, out.Config.Inspectors, out.Config.Weeks = c.agents, c.supervisors, c.inspectors, c.weeks
	out.Config.ChatsMin, out.Config.ChatsMax, out.Config.Streams, out.Config.OpenItem = c.chatsMin, c.chatsMax, c.streams, c.open
	out.Config.FirstWeek, out.Config.LastWeek = weeks[0].String(), weeks[len(weeks)-1].String()

	setupStart := time.Now()
	b.logf("directory: %d agents in %s under %d supervisors, %d inspectors", c.agents, c.team, c.supervisors, c.inspectors)
	if err := b.setupDirectory(ctx); err != nil {
		return err
	}
	b.logf("ingesting %d..%d chats per agent and week, %s..%s", c.chatsMin, c.chatsMax, weeks[0], weeks[len(weeks)-1])
	t0 := time.Now()
	n, err := b.ingestChats(ctx)
	if err != nil {
		return err
	}
	out.Setup.Transcripts = n
	out.Setup.IngestPerSecond = float64(n) / time.Since(t0).Seconds()
	b.logf("ingested %d transcripts in %s (%.0f/s)", n, time.Since(t0).Round(time.Millisecond), out.Setup.IngestPerSecond)
	picks, took, err := b.runWeeks(ctx)
	if err != nil {
		return err
	}
	out.Setup.Picks = picks
	for _, d := range took {
		out.Setup.RunWeekSeconds = append(out.Setup.RunWeekSeconds, d.Seconds())
	}
	out.Setup.SetupWallSeconds = time.Since(setupStart).Seconds()
	b.logf("sampled %d weeks: %d picks", c.weeks, picks)

	if c.http != "" {
		out.HTTP = &httpCallResult{}
		b.logf("HTTP API: ListQueue over HTTP and gRPC")
		if err := b.runHTTPQueue(ctx, out.HTTP); err != nil {
			return err
		}
	}
	b.logf("scoring: %d inspectors finalise their queues, %d feedback streams open over %s", c.inspectors, c.streams, c.watchOver)
	if out.Scoring, err = b.runScoring(ctx); err != nil {
		return err
	}
	b.logf("team report: 1 + %d calls", c.reportCalls)
	if out.Report, err = b.runReports(ctx); err != nil {
		return err
	}

	if c.http != "" {
		b.logf("HTTP API: GetFeedback and GetTeamReport")
		if err := b.runHTTPCalls(ctx, out.HTTP); err != nil {
			return err
		}
	}

	printSummary(os.Stdout, &b.cfg, out.Setup.Transcripts, out.Setup.Picks, took, out.Scoring, out.Report, out.HTTP)
	if c.jsonOut != "" {
		js, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		js = append(js, '\n')
		if c.jsonOut == "-" {
			_, err = os.Stdout.Write(js)
		} else {
			err = os.WriteFile(c.jsonOut, js, 0o644)
		}
		if err != nil {
			return err
		}
	}
	var errs, missing, wrong int
	for _, pr := range out.Scoring.Phases {
		errs, missing, wrong = errs+pr.Errors, missing+pr.Missing, wrong+pr.WrongSupervisor
	}
	if errs > 0 || missing > 0 || wrong > 0 {
		return fmt.Errorf("%d finalise errors, %d records missing, %d to the wrong supervisor", errs, missing, wrong)
	}
	return nil
}

func printSummary(w io.Writer, c *config, transcripts, picks int, runWeeks []time.Duration, s *scoringResult, r *reportResult, h *httpCallResult) {
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format+"\n", args...) }
	var maxRun time.Duration
	for _, d := range runWeeks {
		maxRun = max(maxRun, d)
	}
	p("== setup: %d agents, %d weeks, %d transcripts, %d picks (RunWeek slowest %.2f s)", c.agents, c.weeks, transcripts, picks, maxRun.Seconds())
	p("ListQueue: slowest %.1f ms (one inspector's whole queue, pages of 1000); %d WatchFeedback streams open throughout, over %s", s.ListQueueMax, s.Streams, c.watchOver)
	for _, pr := range s.Phases {
		p("== 1. SubmitReview(final), %d inspectors, %s", c.inspectors, phaseName(pr))
		p("finalised %d of %d items in %.1f s: %.0f/s, %d errors%s", pr.Finalised, pr.Items, pr.ElapsedS, pr.PerSecond, pr.Errors, firstErr(pr.FirstError))
		p("whole phase    %s", pr.Submit)
		if pr.Mode == "paced" {
			p("               (paced: from when the finalise was due)")
		}
		p("steady 10-90%%  %s", pr.SubmitSteady)
		if pr.SubmitFromSend != nil {
			p("from send      %s", *pr.SubmitFromSend)
		}
		if len(pr.SubmitByTenth) > 0 {
			var tenths []string
			for _, d := range pr.SubmitByTenth {
				tenths = append(tenths, fmt.Sprintf("%.1f/%.1f", d.P50, d.P99))
			}
			p("p50/p99 ms by tenth of the phase: %s", strings.Join(tenths, " "))
		}
		if pr.Open != nil {
			p("OpenItem       %s", *pr.Open)
		}
		p("CPU in use, in cores: qad %.2f, postgres %.2f, scorebench %.2f, other processes %.2f (of %d)", pr.ServerCores, pr.PostgresCores, pr.ClientCores, pr.OtherCores, runtime.NumCPU())
		p("per finalise: server CPU %.0f µs, scorebench CPU %.0f µs (streams included), server writes %.0f KiB to storage", pr.ServerCPUPerFinalise, pr.ClientCPUPerFinalise, pr.ServerWriteKiBPerFinalise)
		p("== 2. finalise sent -> record on the supervisor's stream, %s", phaseName(pr))
		p("delivered %d, missing %d, duplicates %d, to the wrong supervisor %d", pr.Delivered, pr.Missing, pr.Duplicates, pr.WrongSupervisor)
		p("whole phase    %s", pr.Delivery)
		p("steady 10-90%%  %s", pr.DeliverySteady)
		p("answer->record %s; %d records came before the answer", pr.AfterAnswer, pr.BeforeAnswerCount)
	}
	p("== 3. GetTeamReport %s, %d weeks, %d agents, %d reviews, %d KiB response", r.Team, r.Weeks, r.Agents, r.Reviews, r.ResponseBytes/1024)
	p("first call     %.1f ms", r.FirstMS)
	p("admin          %s", r.Calls)
	p("supervisor     %s (%d agents)", r.Supervisor, r.SupervisorSize)
	if h != nil {
		printHTTP(p, h)
	}
}

func firstErr(s string) string {
	if s == "" {
		return ""
	}
	return " (first: " + s + ")"
}

// profile starts a CPU profile of the server for seconds and returns a
// function that waits for it and saves it.
func (b *bench) profile(ctx context.Context, name string, seconds int) (wait func()) {
	if b.cfg.pprof == "" || seconds <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := strings.TrimRight(b.cfg.pprof, "/") + "/debug/pprof/profile?seconds=" + strconv.Itoa(seconds)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			b.logf("profile %s: %v", name, err)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.logf("profile %s: %v", name, err)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		path := filepath.Join(b.cfg.profileDir, name+".cpu.pprof")
		f, err := os.Create(path)
		if err != nil {
			b.logf("profile %s: %v", name, err)
			return
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			b.logf("profile %s: %v", name, err)
		}
		_ = f.Close()
		b.logf("server CPU profile (%d s) in %s", seconds, path)
	}()
	return func() { <-done }
}

// selfCPU is this process's user+system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineBusy is the CPU time all processes have used so far
// (/proc/stat: everything but idle and iowait), or 0 if unknown.
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fs := strings.Fields(line)
	if len(fs) < 5 || fs[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, f := range fs[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / 100 // USER_HZ
}

// postgresCPU is the CPU time used so far by the running processes named
// postgres (the database's backends: with PostgreSQL they are the
// server's other half), or 0 if there are none.
func postgresCPU() time.Duration {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var ticks int64
	for _, d := range dirs {
		if d.Name()[0] < '0' || d.Name()[0] > '9' {
			continue
		}
		raw, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "postgres" {
			continue
		}
		fs := strings.Fields(s[end+2:])
		if len(fs) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(fs[11], 10, 64)
		st, _ := strconv.ParseInt(fs[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * time.Second / 100
}

// serverWrites is the bytes the server has caused to be written to
// storage so far (/proc/PID/io write_bytes), or 0 if unknown.
func (b *bench) serverWrites() int64 {
	if b.cfg.serverPID == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", b.cfg.serverPID))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// serverCPU is the server's user+system CPU time so far, or 0 if unknown.
func (b *bench) serverCPU() time.Duration {
	if b.cfg.serverPID == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", b.cfg.serverPID))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(raw)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fs) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fs[11], 10, 64)
	stime, _ := strconv.ParseInt(fs[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}
