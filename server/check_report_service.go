package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/checks"
	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// checkRateTTL is how long a week's grouped check counts are served
// without being read again: the report pages ask for the same weeks again
// and again, and a week of a million conversations is a scan of seconds
// (BENCHMARKS.md); counts a minute old are fine for rates. Older counts
// are still served while a refresh reads them again in the background.
const checkRateTTL = time.Minute

// reportRatesWait is how long an agent or team report waits for weeks
// whose counts were never read; past it the report answers without
// check_rates (the reading goes on and the next request has them), so
// that a report stays fast on a large database.
const reportRatesWait = 2 * time.Second

// checkCountTimeout bounds one week's grouped count in the background.
const checkCountTimeout = 5 * time.Minute

// checkStats reads check rates and agreement for the check report and
// the agent and team reports.
type checkStats struct {
	store Storage
	book  *checkBook
	job   *SamplingJob
	now   func() time.Time

	mu       sync.Mutex
	weeks    map[string]weekCounts
	inflight map[string]*weekRead
	ran      ranMasks
}

// ranMasks remembers which checks each check set version ran: its enabled
// ones. Versions never change, so a mask once read holds for good. The
// zero value is ready.
type ranMasks struct {
	mu    sync.Mutex
	masks map[int64]uint64
}

// of returns the checks version ran (bit i = checks.Keys[i]); none for
// version 0, conversations never checked.
func (r *ranMasks) of(ctx context.Context, st store.CheckSetStore, version int64) (uint64, error) {
	if version == 0 {
		return 0, nil
	}
	r.mu.Lock()
	mask, ok := r.masks[version]
	r.mu.Unlock()
	if ok {
		return mask, nil
	}
	v, err := st.GetCheckSet(ctx, version)
	if err != nil {
		return 0, err
	}
	set, err := decodeCheckSet(v)
	if err != nil {
		return 0, err
	}
	mask = set.EnabledMask()
	r.mu.Lock()
	if r.masks == nil {
		r.masks = make(map[int64]uint64)
	}
	r.masks[version] = mask
	r.mu.Unlock()
	return mask, nil
}

type weekCounts struct {
	counts []store.CheckFlagCount
	read   time.Time
}

// weekRead is a week's count being read; done closes when it ends.
type weekRead struct {
	done   chan struct{}
	counts []store.CheckFlagCount
	err    error
}

// location is the sampling policy's zone, in which weeks are counted.
func (c *checkStats) location(ctx context.Context) (*time.Location, error) {
	p, err := c.job.Policy(ctx)
	if err != nil {
		return nil, err
	}
	return p.Location()
}

// read starts reading key's week unless a read of it is under way, and
// returns the read.
func (c *checkStats) read(ctx context.Context, key string, from, to time.Time) *weekRead {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.inflight[key]; ok {
		return r
	}
	if c.inflight == nil {
		c.inflight = make(map[string]*weekRead)
	}
	r := &weekRead{done: make(chan struct{})}
	c.inflight[key] = r
	// Not the caller's context: a caller that stops waiting leaves the
	// count to finish for the next one.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkCountTimeout)
	go func() {
		defer cancel()
		started := c.now()
		r.counts, r.err = c.store.CountCheckFlags(bg, from, to)
		c.mu.Lock()
		// A read that forget dropped meanwhile may predate a re-run's
		// batch: its waiters have it, the cache does not.
		current := c.inflight[key] == r
		if current {
			delete(c.inflight, key)
		}
		if r.err == nil && current {
			if c.weeks == nil || len(c.weeks) > 1000 {
				c.weeks = make(map[string]weekCounts)
			}
			c.weeks[key] = weekCounts{counts: r.counts, read: started}
		}
		c.mu.Unlock()
		close(r.done)
	}()
	return r
}

// counts returns each week's grouped counts. Counts read in the last
// checkRateTTL are used as they are, older ones too while a background
// read refreshes them; weeks never read are read, waiting for them at
// most wait (0: until they are read). complete is false when wait ran
// out first.
func (c *checkStats) counts(ctx context.Context, weeks []string, wait time.Duration) (out map[string][]store.CheckFlagCount, complete bool, err error) {
	loc, err := c.location(ctx)
	if err != nil {
		return nil, false, err
	}
	out = make(map[string][]store.CheckFlagCount, len(weeks))
	now := c.now()
	var pending []*weekRead
	var pendingWeeks []string
	for _, w := range weeks {
		key := w + "@" + loc.String()
		week, err := isoweek.Parse(w)
		if err != nil {
			return nil, false, err
		}
		from, to := week.Bounds(loc)
		c.mu.Lock()
		cached, ok := c.weeks[key]
		c.mu.Unlock()
		if ok {
			out[w] = cached.counts
			if now.Sub(cached.read) >= checkRateTTL {
				c.read(ctx, key, from, to) // served stale meanwhile
			}
			continue
		}
		pending = append(pending, c.read(ctx, key, from, to))
		pendingWeeks = append(pendingWeeks, w)
	}
	var timeout <-chan time.Time
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timeout = timer.C
	}
	for i, r := range pending {
		select {
		case <-r.done:
		case <-timeout:
			return out, false, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
		if r.err != nil {
			return nil, false, r.err
		}
		out[pendingWeeks[i]] = r.counts
	}
	return out, true, nil
}

// forget drops the cached counts: a re-run changed them. Reads under way
// may have read before the change, so it drops them too: the next
// request reads again rather than join one, and they cache nothing.
func (c *checkStats) forget() {
	c.mu.Lock()
	c.weeks = nil
	c.inflight = nil
	c.mu.Unlock()
}

// flagCounts turns the weeks' counts of the agents keep accepts into the
// rates' input, each with the checks its version ran, keyed by agent.
// Conversations never checked count for no check.
func (c *checkStats) flagCounts(ctx context.Context, weeks []string, byWeek map[string][]store.CheckFlagCount, keep func(agentID string) bool) (map[string][]checks.FlagCount, error) {
	out := make(map[string][]checks.FlagCount)
	for _, w := range weeks {
		for _, fc := range byWeek[w] {
			if fc.Version == 0 || !keep(fc.AgentID) {
				continue
			}
			ran, err := c.ran.of(ctx, c.store, fc.Version)
			if err != nil {
				return nil, err
			}
			out[fc.AgentID] = append(out[fc.AgentID], checks.FlagCount{Week: w, Ran: ran, Flags: fc.Flags, Chats: fc.Chats})
		}
	}
	return out, nil
}

// rates gives each check's rates over weeks for the agents keep accepts;
// nil when the weeks' counts were not read within wait (see counts).
func (c *checkStats) rates(ctx context.Context, weeks []string, wait time.Duration, keep func(agentID string) bool) ([]checks.Rate, error) {
	byWeek, complete, err := c.counts(ctx, weeks, wait)
	if err != nil || !complete {
		return nil, err
	}
	perAgent, err := c.flagCounts(ctx, weeks, byWeek, keep)
	if err != nil {
		return nil, err
	}
	var flat []checks.FlagCount
	for _, f := range perAgent {
		flat = append(flat, f...)
	}
	return checks.Rates(weeks, flat), nil
}

// checked counts the weeks' conversations that a check set ran on, each
// check or not (each author counts a transfer once).
func (c *checkStats) checked(ctx context.Context, weeks []string) (int64, error) {
	byWeek, _, err := c.counts(ctx, weeks, 0)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, w := range weeks {
		for _, fc := range byWeek[w] {
			if fc.Version != 0 {
				n += fc.Chats
			}
		}
	}
	return n, nil
}

// perAgent gives each agent's rates over weeks (no weekly breakdown); nil
// when the weeks' counts were not read within wait.
func (c *checkStats) perAgent(ctx context.Context, weeks []string, wait time.Duration, keep func(agentID string) bool) (map[string][]checks.Rate, error) {
	byWeek, complete, err := c.counts(ctx, weeks, wait)
	if err != nil || !complete {
		return nil, err
	}
	flat, err := c.flagCounts(ctx, weeks, byWeek, keep)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]checks.Rate, len(flat))
	for id, f := range flat {
		out[id] = checks.Rates(weeks, f)
	}
	return out, nil
}

func ratesToProto(rs []checks.Rate, withWeeks bool) []*qav1.CheckRate {
	out := make([]*qav1.CheckRate, len(rs))
	for i, r := range rs {
		out[i] = &qav1.CheckRate{Check: r.Check, Chats: r.Chats, Fired: r.Fired, Rate: r.Rate}
		if withWeeks {
			out[i].ByWeek = weekRatesToProto(r.ByWeek)
		}
	}
	return out
}

func weekRatesToProto(ws []checks.WeekRate) []*qav1.CheckWeekRate {
	out := make([]*qav1.CheckWeekRate, len(ws))
	for i, w := range ws {
		out[i] = &qav1.CheckWeekRate{Week: w.Week, Chats: w.Chats, Fired: w.Fired, Rate: w.Rate}
	}
	return out
}

// checkReportService serves CheckReportService.
type checkReportService struct {
	qav1.UnimplementedCheckReportServiceServer
	stats   *checkStats
	reports *reportService
	rerun   *checkRerunner
	log     *slog.Logger
}

func (s *checkReportService) GetCheckReport(ctx context.Context, req *qav1.GetCheckReportRequest) (*qav1.GetCheckReportResponse, error) {
	weeks, err := s.reports.weeks(ctx, req.GetLastWeek(), req.GetWeeks())
	if err != nil {
		return nil, err
	}
	rates, err := s.stats.rates(ctx, weeks, 0, func(string) bool { return true })
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	latest, err := s.stats.book.current(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	set := latest.Set()
	rows, err := s.stats.store.ReviewedChecks(ctx, weeks[0], weeks[len(weeks)-1])
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	reviewed, err := reviewedChats(ctx, s.stats.store, rows)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	agreement := checks.Agree(&set, reviewed)
	out := &qav1.GetCheckReportResponse{Weeks: weeks, CheckSetVersion: set.Version, Reviews: int64(len(rows)),
		GeneratedAt: timestamppb.New(s.stats.now())}
	if out.Chats, err = s.stats.checked(ctx, weeks); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	for i, a := range agreement {
		r := rates[i]
		ca := &qav1.CheckAgreement{
			Check: a.Check, Dimension: a.Dimension, Chats: r.Chats, Fired: r.Fired, Rate: r.Rate,
			Tp: a.TP, Fp: a.FP, Fn: a.FN, Tn: a.TN, ByWeek: weekRatesToProto(r.ByWeek),
		}
		if !math.IsNaN(a.Precision) {
			ca.Precision, ca.HasPrecision = a.Precision, true
		}
		if !math.IsNaN(a.Recall) {
			ca.Recall, ca.HasRecall = a.Recall, true
		}
		out.Checks = append(out.Checks, ca)
	}
	return out, nil
}

// reviewedChats pairs each review's ratings with the checks that ran on
// its conversation: the enabled checks of the version that computed them.
func reviewedChats(ctx context.Context, st store.CheckSetStore, rows []store.ReviewedChecks) ([]checks.ReviewedChat, error) {
	var ran ranMasks
	out := make([]checks.ReviewedChat, len(rows))
	for i, r := range rows {
		mask, err := ran.of(ctx, st, r.CheckVersion)
		if err != nil {
			return nil, err
		}
		rc := checks.ReviewedChat{Flags: r.CheckFlags, Ran: mask, Ratings: make([]checks.Rating, len(r.Ratings))}
		for j, rt := range r.Ratings {
			rc.Ratings[j] = checks.Rating{Key: rt.Key, Value: rt.Value, Max: rt.Max, NA: rt.NA}
		}
		out[i] = rc
	}
	return out, nil
}

func (s *checkReportService) StartCheckRerun(ctx context.Context, req *qav1.StartCheckRerunRequest) (*qav1.StartCheckRerunResponse, error) {
	week, err := isoweek.Parse(req.GetWeek())
	if err != nil {
		return nil, invalid("week", err)
	}
	who, _ := PrincipalFrom(ctx)
	job, err := s.rerun.start(ctx, week, who.Subject)
	var busy *rerunBusyError
	var future *rerunFutureError
	if errors.As(err, &busy) || errors.As(err, &future) {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.StartCheckRerunResponse{Rerun: rerunToProto(job)}, nil
}

func (s *checkReportService) GetCheckRerun(ctx context.Context, req *qav1.GetCheckRerunRequest) (*qav1.GetCheckRerunResponse, error) {
	if req.GetId() <= 0 {
		return nil, badField("id", "required (a re-run's id, from StartCheckRerun)")
	}
	job, err := s.stats.store.GetCheckRerun(ctx, req.GetId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "check re-run %d not found", req.GetId())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetCheckRerunResponse{Rerun: rerunToProto(job)}, nil
}

func (s *checkReportService) ListCheckReruns(ctx context.Context, req *qav1.ListCheckRerunsRequest) (*qav1.ListCheckRerunsResponse, error) {
	limit := req.GetLimit()
	switch {
	case limit == 0:
		limit = 20
	case limit < 0 || limit > 100:
		return nil, badField("limit", "must be 1..100, got %d", limit)
	}
	jobs, err := s.stats.store.ListCheckReruns(ctx, false, int(limit))
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListCheckRerunsResponse{}
	for _, j := range jobs {
		out.Reruns = append(out.Reruns, rerunToProto(j))
	}
	return out, nil
}

func rerunToProto(j store.CheckRerun) *qav1.CheckRerun {
	out := &qav1.CheckRerun{
		Id: j.ID, Week: j.Week, CheckSetVersion: j.CheckVersion, Status: string(j.Status), Done: j.Done, Total: j.Total,
		Changed: j.Changed, Error: j.Error, CreatedBy: j.CreatedBy,
		CreatedAt: timestamppb.New(j.CreatedAt), UpdatedAt: timestamppb.New(j.UpdatedAt),
	}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = timestamppb.New(j.FinishedAt)
	}
	out.Owner = j.Owner
	if !j.LeaseUntil.IsZero() && j.Status == store.CheckRerunRunning {
		out.LeaseExpiresAt = timestamppb.New(j.LeaseUntil)
	}
	return out
}

// rerunBatch is how many conversations a re-run checks and stores per
// transaction: each batch's results commit with the job's cursor.
const rerunBatch = 2000

// rerunAttempts bounds how often run tries a batch that fails on a
// transient lock conflict (store.ErrTransient), waiting rerunRetryBackoff,
// then twice as long, ... in between, before it fails the job.
const rerunAttempts = 4

var rerunRetryBackoff = 200 * time.Millisecond

// DefaultCheckRerunLease is how long a replica holds a check re-run
// without committing a batch before another replica may take it over: a
// batch takes well under a second (BENCHMARKS.md), so only a replica that
// died or hung lets its lease run out.
const DefaultCheckRerunLease = 30 * time.Second

// rerunBusyError refuses a re-run of a week while another version's job
// runs for it: one week runs one job at a time.
type rerunBusyError struct{ running store.CheckRerun }

func (e *rerunBusyError) Error() string {
	j := e.running
	return fmt.Sprintf("check re-run %d of week %s (check set version %d) is running, %d of %d done; "+
		"wait for it to end (qactl checks rerun-status %d), then start again", j.ID, j.Week, j.CheckVersion, j.Done, j.Total, j.ID)
}

// checkRerunner runs re-run jobs in the background, one goroutine per
// job. Replicas sharing a database share the jobs: each job is held by
// one replica at a time under a lease (store.ClaimCheckRerun) that every
// committed batch renews and that fences the commits, so a job runs once
// even when several replicas serve, and a replica that died leaves its
// job to another after the lease, which continues after the cursor.
type checkRerunner struct {
	store Storage
	book  *checkBook
	job   *SamplingJob
	stats *checkStats
	log   *slog.Logger
	// owner names this process in the jobs it holds (replicaID).
	owner string
	// lease is how long a hold lasts without a commit; 0 means
	// DefaultCheckRerunLease. serve looks for free or expired jobs every
	// third of it.
	lease time.Duration
	now   func() time.Time
	// batch is how many conversations a batch takes; 0 means rerunBatch.
	batch int
	// beforeSave and saved, when set (tests), are called with a batch's
	// ids before it is committed and after it was.
	beforeSave, saved func(job int64, ids []int64)

	mu      sync.Mutex
	ctx     context.Context // ends at shutdown; nil before Serve
	running map[int64]bool
	wg      sync.WaitGroup
}

// replicaID names this process among the replicas: host, process id and
// a random part, so that a restarted process does not take its
// predecessor's lease for its own.
func replicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "qad"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// leaseFrom is this process's lease taken or renewed now.
func (r *checkRerunner) leaseFrom() store.RerunLease {
	now := r.now()
	return store.RerunLease{Owner: r.owner, At: now, Until: now.Add(cmp.Or(r.lease, DefaultCheckRerunLease))}
}

// serve takes up the running jobs no replica holds (left by a previous
// process, or by a replica whose lease expired) and lets start run new
// ones until ctx ends; it returns once they have stopped.
func (r *checkRerunner) serve(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
	defer r.wg.Wait()
	tick := time.NewTicker(cmp.Or(r.lease, DefaultCheckRerunLease) / 3)
	defer tick.Stop()
	for {
		r.adopt(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// adopt claims and launches the running jobs that are free, expired or
// already this process's but not running here.
func (r *checkRerunner) adopt(ctx context.Context) {
	jobs, err := r.store.ListCheckReruns(ctx, true, 100)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("listing unfinished check re-runs", "err", err)
		}
		return
	}
	for _, j := range jobs {
		r.mu.Lock()
		busy := r.running[j.ID]
		r.mu.Unlock()
		lease := r.leaseFrom()
		if busy || (j.Owner != r.owner && j.LeaseUntil.After(lease.At)) {
			continue // worked here, or held by a live replica
		}
		claimed, err := r.store.ClaimCheckRerun(ctx, j.ID, lease)
		if errors.Is(err, store.ErrConflict) {
			continue // another replica was first, or it ended
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("claiming a check re-run", "rerun", j.ID, "err", err)
			}
			continue
		}
		if j.Owner != "" && j.Owner != r.owner && !j.LeaseUntil.IsZero() {
			r.log.Warn("taking over a check re-run whose replica stopped renewing its lease", "rerun", j.ID, "week", j.Week,
				"from", j.Owner, "lease_expired_at", j.LeaseUntil, "done", claimed.Done, "total", claimed.Total)
		} else {
			r.log.Info("continuing a check re-run", "rerun", j.ID, "week", j.Week, "done", claimed.Done, "total", claimed.Total)
		}
		r.launch(claimed)
	}
}

// rerunFutureError refuses a re-run of a week that has not begun.
type rerunFutureError struct {
	week isoweek.Week
	from time.Time
}

func (e *rerunFutureError) Error() string {
	return fmt.Sprintf("week %s starts %s: no chat of it can have been pushed yet", e.week, e.from.Format(time.RFC3339))
}

// start creates a job for week under the newest check set, held by this
// process, or returns the one already running for them (joined); a job
// of the week under another version refuses it (*rerunBusyError).
func (r *checkRerunner) start(ctx context.Context, week isoweek.Week, who string) (store.CheckRerun, error) {
	checker, err := r.book.current(ctx)
	if err != nil {
		return store.CheckRerun{}, err
	}
	// The newest, even if this process read it up to checkRefresh ago.
	latest, err := r.book.latest(ctx)
	if err != nil {
		return store.CheckRerun{}, err
	}
	version := max(latest.Version, checker.Set().Version)
	running := func() (store.CheckRerun, bool, error) {
		jobs, err := r.store.ListCheckReruns(ctx, true, 100)
		if err != nil {
			return store.CheckRerun{}, false, err
		}
		for _, j := range jobs {
			if j.Week == week.String() {
				if j.CheckVersion != version {
					return store.CheckRerun{}, false, &rerunBusyError{running: j}
				}
				return j, true, nil
			}
		}
		return store.CheckRerun{}, false, nil
	}
	if j, ok, err := running(); ok || err != nil {
		return j, err
	}
	p, err := r.job.Policy(ctx)
	if err != nil {
		return store.CheckRerun{}, err
	}
	loc, err := p.Location()
	if err != nil {
		return store.CheckRerun{}, err
	}
	from, to := week.Bounds(loc)
	// A week that starts beyond the pushes' one-day tolerance holds no
	// chat yet: a job would be "done 0 of 0" and say nothing.
	if now := r.now(); from.After(now.Add(24 * time.Hour)) {
		return store.CheckRerun{}, &rerunFutureError{week: week, from: from}
	}
	lease := r.leaseFrom()
	j, err := r.store.CreateCheckRerun(ctx, store.CheckRerun{Week: week.String(), From: from, To: to, CheckVersion: version, CreatedBy: who,
		Owner: lease.Owner, LeaseUntil: lease.Until})
	if errors.Is(err, store.ErrConflict) {
		// Another replica started one for the week meanwhile.
		if j, ok, err := running(); ok || err != nil {
			return j, err
		}
	}
	if err != nil {
		return store.CheckRerun{}, err
	}
	r.launch(j)
	return j, nil
}

// launch runs j, which this process holds, unless it runs here already.
func (r *checkRerunner) launch(j store.CheckRerun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil || r.ctx.Err() != nil || r.running[j.ID] {
		if !r.running[j.ID] {
			r.release(j) // for the next process or another replica at once
		}
		return
	}
	if r.running == nil {
		r.running = make(map[int64]bool)
	}
	r.running[j.ID] = true
	ctx := r.ctx
	r.wg.Go(func() {
		defer func() {
			r.mu.Lock()
			delete(r.running, j.ID)
			r.mu.Unlock()
		}()
		err := r.run(ctx, j)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrConflict):
			// ErrLeaseLost, or the job ended meanwhile: in either case
			// another replica has it, and this one must not touch it.
			r.log.Warn("check re-run taken over by another replica; this one stops", "rerun", j.ID, "week", j.Week, "err", err)
		case ctx.Err() != nil:
			r.release(j)
			r.log.Info("check re-run stopped; the next start or another replica continues it", "rerun", j.ID, "week", j.Week)
		default:
			r.log.Error("check re-run failed", "rerun", j.ID, "week", j.Week, "err", err)
			if ferr := r.store.FailCheckRerun(context.WithoutCancel(ctx), j.ID, r.owner, err.Error()); ferr != nil {
				r.log.Error("recording a failed check re-run", "rerun", j.ID, "err", ferr)
			}
		}
	})
}

// release frees j if this process holds it, so that whoever serves next
// takes it up without waiting for the lease to run out.
func (r *checkRerunner) release(j store.CheckRerun) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.store.ReleaseCheckRerun(ctx, j.ID, r.owner); err != nil {
		r.log.Warn("releasing a check re-run; another replica takes it over once its lease expires", "rerun", j.ID, "err", err)
	}
}

// run checks the job's conversations after its cursor, in id order, a
// batch per transaction, each renewing this process's lease; it returns
// store.ErrLeaseLost once another replica has taken the job over.
func (r *checkRerunner) run(ctx context.Context, j store.CheckRerun) error {
	v, err := r.store.GetCheckSet(ctx, j.CheckVersion)
	if err != nil {
		return err
	}
	set, err := decodeCheckSet(v)
	if err != nil {
		return err
	}
	checker, err := checks.Compile(set)
	if err != nil {
		return fmt.Errorf("check set version %d: %w", j.CheckVersion, err)
	}
	ids, err := r.store.RecheckIDs(ctx, j.From, j.To, j.Cursor)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		_, err := r.store.SaveRecheck(ctx, j.ID, store.RecheckBatch{Lease: r.leaseFrom(), After: j.Cursor, Cursor: j.Cursor, Finish: true})
		return err
	}
	size := cmp.Or(r.batch, rerunBatch)
	// Batches are read (and their bodies decoded) one ahead while the
	// previous one is checked and written.
	type loaded struct {
		ids     []int64
		targets []store.RecheckTarget
		hi      int64
		last    bool
		err     error
	}
	ahead := make(chan loaded, 1)
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() {
		defer close(ahead)
		for start := 0; start < len(ids); start += size {
			end := min(start+size, len(ids))
			targets, err := r.store.RecheckTargets(readCtx, j.From, j.To, ids[start], ids[end-1])
			select {
			case ahead <- loaded{ids: ids[start:end], targets: targets, hi: ids[end-1], last: end == len(ids), err: err}:
			case <-readCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	workers := runtime.GOMAXPROCS(0)
	check := func(targets []store.RecheckTarget) []store.RecheckResult {
		results := make([]store.RecheckResult, len(targets))
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(targets); i += workers {
					results[i] = store.RecheckResult{ID: targets[i].ID, Revision: targets[i].Revision, Checks: checker.Run(&targets[i].Transcript)}
				}
			})
		}
		wg.Wait()
		return results
	}
	after := j.Cursor
	for batch := range ahead {
		if batch.err != nil {
			return batch.err
		}
		results := check(batch.targets)
		backoff := rerunRetryBackoff
		for attempt := 1; ; attempt++ {
			if r.beforeSave != nil {
				r.beforeSave(j.ID, batch.ids)
			}
			_, err := r.store.SaveRecheck(ctx, j.ID, store.RecheckBatch{Lease: r.leaseFrom(), After: after,
				Results: results, Cursor: batch.hi, Finish: batch.last})
			if err == nil {
				break
			}
			if attempt == rerunAttempts || !errors.Is(err, store.ErrTransient) {
				return err
			}
			// A lock conflict with ingest (a deadlock or a serialization
			// failure on PostgreSQL) outlasted the store's own retries:
			// wait, read the batch again after the committed cursor (a
			// chat may have been pushed meanwhile) and check it again.
			r.log.Warn("check re-run batch hit a lock conflict; trying it again", "rerun", j.ID, "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(backoff):
			}
			backoff *= 2
			targets, err := r.store.RecheckTargets(ctx, j.From, j.To, after+1, batch.hi)
			if err != nil {
				return err
			}
			results = check(targets)
		}
		after = batch.hi
		if r.saved != nil {
			r.saved(j.ID, batch.ids)
		}
		r.stats.forget()
	}
	return nil
}
