package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

var dimensions = []string{"attitude", "knowledge", "efficiency", "communication", "compliance"}

// ratingWeights is how often each rating 0..5 is given: mostly good
// service, with a tail of poor ratings.
var ratingWeights = []int{3, 4, 8, 20, 30, 35}

func drawRating(rng *rand.Rand) int32 {
	n := rng.IntN(100)
	for v, w := range ratingWeights {
		if n < w {
			return int32(v)
		}
		n -= w
	}
	return 5
}

var (
	strengths   = []string{"开场问候及时，语气亲切", "准确核实了订单信息", "主动告知退款进度", "Explained the policy clearly", "结束前确认客户问题已解决"}
	suggestions = []string{"回复前先确认客户的真实诉求", "减少重复的模板话术", "升级前应先说明处理时效", "Verify the account before sharing order details", "注意安抚客户情绪"}
	flagKeys    = []string{"abusive_language", "privacy_leak", "false_promise"}
)

// finalRequest is an inspector's complete review of one item: every
// dimension rated 0..5 (now and then N/A), comments on poor ratings, a
// few strengths and suggestions, and rarely a critical flag.
func finalRequest(rng *rand.Rand, item int64, flagRate float64) *qav1.SubmitReviewRequest {
	req := &qav1.SubmitReviewRequest{ItemId: item, Final: true}
	for _, k := range dimensions {
		r := &qav1.DimensionRating{Key: k, Value: drawRating(rng)}
		if k == "compliance" && r.Value < 3 && rng.IntN(2) == 0 {
			r.Value = 3 + rng.Int32N(3) // critical: rarer than the others
		}
		if k == "knowledge" && rng.IntN(50) == 0 {
			r.Value, r.Na = 0, true
		}
		if !r.Na && r.Value <= 2 {
			r.Comment = "第" + fmt.Sprint(1+rng.IntN(12)) + "条回复：" + suggestions[rng.IntN(len(suggestions))]
		}
		req.Ratings = append(req.Ratings, r)
	}
	if rng.Float64() < flagRate {
		req.Flags = []string{flagKeys[rng.IntN(len(flagKeys))]}
	}
	req.Comment = "整体服务流程完整。" + strengths[rng.IntN(len(strengths))]
	req.Strengths = []string{strengths[rng.IntN(len(strengths))]}
	if rng.IntN(2) == 0 {
		req.Suggestions = []string{suggestions[rng.IntN(len(suggestions))], suggestions[rng.IntN(len(suggestions))]}
	}
	return req
}

// phaseResult is measurements 1 and 2 for one way of loading the server.
type phaseResult struct {
	// closed: every inspector sends their next finalise as soon as the
	// last is answered; paced: Poisson arrivals at Rate per second in all.
	Mode       string        `json:"mode"`
	Rate       float64       `json:"target_rate,omitempty"`
	Items      int           `json:"items"`
	Finalised  int           `json:"finalised"`
	Errors     int           `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	Elapsed    time.Duration `json:"-"`
	ElapsedS   float64       `json:"elapsed_s"`
	PerSecond  float64       `json:"finalises_per_second"`
	// Submit is from just before the call is sent (paced: from when it
	// was due, so a late send counts) to the answer.
	Submit Dist `json:"submit_review"`
	// SubmitFromSend (paced only) is from the actual send to the answer:
	// without the wait of an inspector whose previous finalise was still
	// in flight when the next was due.
	SubmitFromSend *Dist `json:"submit_review_from_send,omitempty"`
	// SubmitSteady leaves out the first and last 10% of the phase, when
	// fewer than all inspectors are busy.
	SubmitSteady Dist `json:"submit_review_steady"`
	// SubmitByTenth is each tenth of the phase, to show whether
	// finalising slows as the tables grow.
	SubmitByTenth []Dist `json:"submit_review_by_tenth,omitempty"`
	Open          *Dist  `json:"open_item,omitempty"`

	Delivered       int  `json:"records_delivered"`
	Duplicates      int  `json:"duplicate_records"`
	Missing         int  `json:"records_missing"`
	WrongSupervisor int  `json:"records_to_wrong_supervisor"`
	Delivery        Dist `json:"finalise_to_stream"`
	DeliverySteady  Dist `json:"finalise_to_stream_steady"`
	// AfterAnswer is from the SubmitReview answer arriving to the record
	// arriving (negative: the record came first), split into the records
	// that came after the answer and how many came before.
	AfterAnswer       Dist `json:"answer_to_stream"`
	BeforeAnswerCount int  `json:"records_before_answer"`

	ServerCPUPerFinalise float64 `json:"server_cpu_us_per_finalise,omitempty"`
	ClientCPUPerFinalise float64 `json:"client_cpu_us_per_finalise,omitempty"`
	// ServerWriteKiBPerFinalise is what the server wrote to storage
	// (WAL, checkpoints; for PostgreSQL only the client side, ~0).
	ServerWriteKiBPerFinalise float64 `json:"server_write_kib_per_finalise,omitempty"`
	// Cores busy on average during the phase: the server, this program
	// and everything else on the machine (which should be ~0).
	ServerCores float64 `json:"server_cores"`
	ClientCores float64 `json:"scorebench_cores"`
	// PostgresCores is every running postgres process, ours or not.
	PostgresCores float64 `json:"postgres_cores"`
	OtherCores    float64 `json:"other_cores"`
}

type scoringResult struct {
	Streams      int            `json:"streams"`
	ListQueueMax float64        `json:"list_queue_max_ms"`
	Phases       []*phaseResult `json:"phases"`
}

// arrival is one record received on a stream.
type arrival struct {
	slot int32
	at   int64 // ns since base
}

// watcher is one supervisor's open WatchFeedback stream.
type watcher struct {
	sup      string
	primary  bool // the supervisor's first stream: counts deliveries
	got      []arrival
	dups     int
	wrongSup int
	unknown  int
	err      error
}

// itemClock is, per item, when its finalise was sent (or due) and when
// the answer came, in ns since base.
type itemClock struct {
	due, sent, done atomic.Int64
	delivered       atomic.Int32
}

type inspectorQueue struct {
	u     *user
	items []int64
}

// runScoring opens the supervisors' streams, then has every inspector
// finalise their queue: first all at once (closed loop), then, on items
// held back for it, at each paced rate in turn.
func (b *bench) runScoring(ctx context.Context) (*scoringResult, error) {
	res := &scoringResult{}
	var insps []inspectorQueue
	var lqMax time.Duration
	total := 0
	for i := range b.cfg.inspectors {
		u, err := b.user("inspector", inspectorID(i))
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		in := inspectorQueue{u: u}
		// The queue is paged (at most 1000 items a page); an inspector here
		// holds thousands.
		for token := ""; ; {
			q, err := qav1.NewReviewServiceClient(u.conn).ListQueue(u.ctx(ctx), &qav1.ListQueueRequest{PageSize: 1000, PageToken: token})
			if err != nil {
				return nil, fmt.Errorf("ListQueue %s: %w", u.subject, err)
			}
			for _, it := range q.GetItems() {
				in.items = append(in.items, it.GetId())
			}
			if token = q.GetNextPageToken(); token == "" {
				break
			}
		}
		lqMax = max(lqMax, time.Since(t0))
		insps = append(insps, in)
		total += len(in.items)
	}
	res.ListQueueMax = ms(lqMax)
	if total == 0 {
		return nil, errors.New("no items in any inspector's queue")
	}

	slot := make(map[int64]int32, total)
	for _, in := range insps {
		for _, id := range in.items {
			slot[id] = int32(len(slot))
		}
	}
	clocks := make([]itemClock, len(slot))
	var deliveredTotal atomic.Int64
	if b.cfg.streams == 0 {
		deliveredTotal.Store(math.MaxInt64) // nothing to wait for
	}
	base := time.Now()
	since := func() int64 { return int64(time.Since(base)) }

	streamCtx, stopStreams := context.WithCancel(ctx)
	defer stopStreams()
	var watchers []*watcher
	var swg sync.WaitGroup
	for i := range b.cfg.streams {
		sup := supervisorID(i % b.cfg.supervisors)
		u, err := b.user("supervisor", sup)
		if err != nil {
			return nil, err
		}
		recv, err := b.watch(streamCtx, u)
		if err != nil {
			return nil, fmt.Errorf("WatchFeedback %s: %w", sup, err)
		}
		w := &watcher{sup: sup, primary: i < b.cfg.supervisors, got: make([]arrival, 0, total/b.cfg.supervisors+16)}
		watchers = append(watchers, w)
		swg.Go(func() {
			for {
				resp, err := recv()
				now := since()
				if err != nil {
					if status.Code(err) != codes.Canceled {
						w.err = err
					}
					return
				}
				rec := resp.GetRecord()
				if rec.GetSupervisorId() != w.sup {
					w.wrongSup++
				}
				k, ok := slot[rec.GetReview().GetItemId()]
				if !ok {
					w.unknown++
					continue
				}
				// Delivery is counted on each supervisor's first stream;
				// further streams of the same supervisor add samples only.
				if w.primary {
					if clocks[k].delivered.Add(1) > 1 {
						w.dups++
						continue
					}
					deliveredTotal.Add(1)
				}
				w.got = append(w.got, arrival{slot: k, at: now})
			}
		})
	}
	res.Streams = len(watchers)

	// Hold back the paced phases' items from the end of each queue.
	type phasePlan struct {
		rate  float64
		queue [][]int64
	}
	var plans []phasePlan
	for _, rate := range b.cfg.rates {
		per := int(math.Ceil(rate*float64(b.cfg.rateSeconds)/float64(len(insps)))) + 2
		p := phasePlan{rate: rate, queue: make([][]int64, len(insps))}
		for n := range insps {
			k := max(len(insps[n].items)-per, len(insps[n].items)/2)
			p.queue[n] = insps[n].items[k:]
			insps[n].items = insps[n].items[:k]
		}
		plans = append(plans, p)
	}
	closed := make([][]int64, len(insps))
	for n := range insps {
		closed[n] = insps[n].items
	}

	type phaseSpan struct{ from, to int64 }
	var spans []phaseSpan
	run := func(name string, rate float64, queues [][]int64, profile bool) *phaseResult {
		pr := &phaseResult{Mode: name, Rate: rate}
		for _, q := range queues {
			pr.Items += len(q)
		}
		b.logf("scoring, %s: %d inspectors, %d items", phaseName(pr), len(queues), pr.Items)
		stop := func() {}
		if profile {
			stop = b.profile(ctx, "finalise", b.cfg.profileSeconds)
		}
		cpu0, self0, wr0, all0, pg0 := b.serverCPU(), selfCPU(), b.serverWrites(), machineBusy(), postgresCPU()
		var (
			mu      sync.Mutex
			submits []sample
			service []time.Duration
			opens   []sample
		)
		start := time.Now()
		from := since()
		var wg sync.WaitGroup
		for n, q := range queues {
			in := insps[n]
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(b.cfg.seed, uint64(1000+n)+uint64(rate)*7919))
				review := qav1.NewReviewServiceClient(in.u.conn)
				ctx := in.u.ctx(ctx)
				mine := make([]sample, 0, len(q))
				myService := make([]time.Duration, 0, len(q))
				var myOpens []sample
				fail := func(err error) {
					mu.Lock()
					pr.Errors++
					if pr.FirstError == "" {
						pr.FirstError = fmt.Sprintf("%s: %v", in.u.subject, err)
					}
					mu.Unlock()
				}
				// Paced: each inspector's finalises are a Poisson process,
				// together rate per second, until the phase's time is up.
				var due time.Time
				deadline := start.Add(time.Duration(b.cfg.rateSeconds) * time.Second)
				next := func() {
					gap := rng.ExpFloat64() / (rate / float64(len(queues)))
					due = due.Add(time.Duration(gap * float64(time.Second)))
				}
				if rate > 0 {
					due = start
					next()
				}
				for _, item := range q {
					if rate > 0 {
						if due.After(deadline) {
							break
						}
						time.Sleep(time.Until(due))
					}
					if b.cfg.open {
						t0 := time.Now()
						if _, err := review.OpenItem(ctx, &qav1.OpenItemRequest{Id: item}); err != nil {
							fail(fmt.Errorf("OpenItem %d: %w", item, err))
							continue
						}
						myOpens = append(myOpens, sample{at: t0.Sub(start), took: time.Since(t0)})
					}
					req := finalRequest(rng, item, b.cfg.flagRate)
					c := &clocks[slot[item]]
					t0 := time.Now()
					if rate == 0 || due.After(t0) {
						due = t0
					}
					c.due.Store(int64(due.Sub(base)))
					c.sent.Store(int64(t0.Sub(base)))
					_, err := review.SubmitReview(ctx, req)
					t1 := time.Now()
					c.done.Store(int64(t1.Sub(base)))
					if err != nil {
						fail(fmt.Errorf("SubmitReview %d: %w", item, err))
						continue
					}
					mine = append(mine, sample{at: due.Sub(start), took: t1.Sub(due)})
					myService = append(myService, t1.Sub(t0))
					if rate > 0 {
						next()
					}
				}
				mu.Lock()
				submits = append(submits, mine...)
				service = append(service, myService...)
				opens = append(opens, myOpens...)
				mu.Unlock()
			})
		}
		wg.Wait()
		pr.Elapsed = time.Since(start)
		cpu1, self1, wr1, all1, pg1 := b.serverCPU(), selfCPU(), b.serverWrites(), machineBusy(), postgresCPU()
		stop()
		spans = append(spans, phaseSpan{from, since()})
		pr.Finalised = len(submits)
		pr.ElapsedS = pr.Elapsed.Seconds()
		pr.PerSecond = float64(pr.Finalised) / pr.Elapsed.Seconds()
		if pr.Finalised > 0 {
			if cpu1 > cpu0 {
				pr.ServerCPUPerFinalise = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(pr.Finalised)
			}
			pr.ClientCPUPerFinalise = float64(self1-self0) / float64(time.Microsecond) / float64(pr.Finalised)
			pr.ServerWriteKiBPerFinalise = float64(wr1-wr0) / 1024 / float64(pr.Finalised)
		}
		cores := func(d time.Duration) float64 { return d.Seconds() / pr.Elapsed.Seconds() }
		pr.ServerCores, pr.ClientCores = cores(cpu1-cpu0), cores(self1-self0)
		pr.PostgresCores = cores(pg1 - pg0)
		pr.OtherCores = max(0, cores((all1-all0)-(cpu1-cpu0)-(self1-self0)-(pg1-pg0)))
		lo, hi := pr.Elapsed/10, pr.Elapsed*9/10
		pr.Submit = distOf(durations(submits))
		pr.SubmitSteady = distOf(window(submits, lo, hi))
		if rate > 0 {
			d := distOf(service)
			pr.SubmitFromSend = &d
		}
		if rate == 0 {
			for t := range 10 {
				pr.SubmitByTenth = append(pr.SubmitByTenth, distOf(window(submits, pr.Elapsed*time.Duration(t)/10, pr.Elapsed*time.Duration(t+1)/10)))
			}
		}
		if b.cfg.open {
			d := distOf(durations(opens))
			pr.Open = &d
		}
		b.logf("%s: %d finalised in %s, p99 %.1f ms", phaseName(pr), pr.Finalised, pr.Elapsed.Round(time.Millisecond), pr.Submit.P99)
		return pr
	}

	if len(plans) == 0 || !b.cfg.pacedOnly {
		res.Phases = append(res.Phases, run("closed", 0, closed, true))
	}
	for i, p := range plans {
		res.Phases = append(res.Phases, run("paced", p.rate, p.queue, i == 0 && b.cfg.pacedOnly))
	}

	// The last records may still be on their way.
	want := 0
	for _, pr := range res.Phases {
		want += pr.Finalised
	}
	deadline := time.Now().Add(10 * time.Second)
	for deliveredTotal.Load() < int64(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // late duplicates
	stopStreams()
	swg.Wait()

	// Each record belongs to the phase its finalise was sent in.
	type phaseDelivery struct {
		all, steady, after []time.Duration
		before             int
	}
	pds := make([]phaseDelivery, len(res.Phases))
	for _, w := range watchers {
		if w.err != nil {
			return res, fmt.Errorf("WatchFeedback %s ended: %w", w.sup, w.err)
		}
		if w.unknown > 0 {
			return res, fmt.Errorf("WatchFeedback %s: %d records of items nobody finalised in this run", w.sup, w.unknown)
		}
		for _, a := range w.got {
			c := &clocks[a.slot]
			sent := c.sent.Load()
			for i, sp := range spans {
				if sent < sp.from || sent >= sp.to {
					continue
				}
				pr, pd := res.Phases[i], &pds[i]
				d := time.Duration(a.at - sent)
				pd.all = append(pd.all, d)
				rel := time.Duration(c.due.Load() - sp.from)
				if rel >= pr.Elapsed/10 && rel < pr.Elapsed*9/10 {
					pd.steady = append(pd.steady, d)
				}
				if after := time.Duration(a.at - c.done.Load()); after >= 0 {
					pd.after = append(pd.after, after)
				} else {
					pd.before++
				}
			}
		}
	}
	var wrong, dups int
	for _, w := range watchers {
		wrong += w.wrongSup
		dups += w.dups
	}
	for i, pr := range res.Phases {
		pd := &pds[i]
		pr.Delivery, pr.DeliverySteady, pr.AfterAnswer = distOf(pd.all), distOf(pd.steady), distOf(pd.after)
		pr.BeforeAnswerCount = pd.before
	}
	// Deliveries per phase, from each supervisor's first stream.
	for i, pr := range res.Phases {
		pr.Delivered = 0
		for _, w := range watchers {
			if !w.primary {
				continue
			}
			for _, a := range w.got {
				sent := clocks[a.slot].sent.Load()
				if sent >= spans[i].from && sent < spans[i].to {
					pr.Delivered++
				}
			}
		}
		if len(watchers) > 0 {
			pr.Missing = pr.Finalised - pr.Delivered
		}
	}
	if len(res.Phases) > 0 {
		res.Phases[0].Duplicates, res.Phases[0].WrongSupervisor = dups, wrong
	}
	return res, nil
}

// watch opens u's WatchFeedback from now over -watch-over and returns
// its receive function once the stream's cursor is fixed (the server
// sends its headers then).
func (b *bench) watch(ctx context.Context, u *user) (func() (*qav1.WatchFeedbackResponse, error), error) {
	if b.cfg.watchOver == "http" {
		return b.watchHTTP(ctx, u)
	}
	stream, err := qav1.NewFeedbackServiceClient(u.conn).WatchFeedback(u.ctx(ctx), &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		return nil, err
	}
	if _, err := stream.Header(); err != nil {
		return nil, err
	}
	return stream.Recv, nil
}

func phaseName(pr *phaseResult) string {
	if pr.Mode == "paced" {
		return fmt.Sprintf("paced %.0f/s", pr.Rate)
	}
	return "closed loop"
}

// reportResult is measurement 3.
type reportResult struct {
	Team           string  `json:"team"`
	Weeks          int     `json:"weeks"`
	Agents         int     `json:"agents"`
	Reviews        int     `json:"reviews"`
	ResponseBytes  int     `json:"response_bytes"`
	FirstMS        float64 `json:"first_call_ms"`
	Calls          Dist    `json:"calls"`
	SupervisorSize int     `json:"supervisor_agents"`
	Supervisor     Dist    `json:"supervisor_calls"`
}

// runReports times GetTeamReport over the whole range: the first call,
// then calls more, as admin (every agent) and as one supervisor (their
// agents only).
func (b *bench) runReports(ctx context.Context) (*reportResult, error) {
	req := &qav1.GetTeamReportRequest{TeamId: b.cfg.team, LastWeek: b.lastWeek.String(), Weeks: int32(b.cfg.weeks)}
	admin := qav1.NewReportServiceClient(b.admin.conn)
	res := &reportResult{Team: b.cfg.team, Weeks: b.cfg.weeks}
	call := func(c qav1.ReportServiceClient, u *user) (*qav1.GetTeamReportResponse, time.Duration, error) {
		t0 := time.Now()
		resp, err := c.GetTeamReport(u.ctx(ctx), req)
		return resp, time.Since(t0), err
	}
	resp, d, err := call(admin, b.admin)
	if err != nil {
		return nil, fmt.Errorf("GetTeamReport: %w", err)
	}
	res.FirstMS = ms(d)
	res.Agents = len(resp.GetReport().GetAgents())
	res.Reviews = int(resp.GetReport().GetSummary().GetReviews())
	res.ResponseBytes = proto.Size(resp)
	var lat []time.Duration
	for range b.cfg.reportCalls {
		_, d, err := call(admin, b.admin)
		if err != nil {
			return nil, fmt.Errorf("GetTeamReport: %w", err)
		}
		lat = append(lat, d)
	}
	res.Calls = distOf(lat)

	sup, err := b.user("supervisor", supervisorID(0))
	if err != nil {
		return nil, err
	}
	supClient := qav1.NewReportServiceClient(sup.conn)
	lat = lat[:0]
	for range b.cfg.reportCalls {
		resp, d, err := call(supClient, sup)
		if err != nil {
			return nil, fmt.Errorf("GetTeamReport as %s: %w", sup.subject, err)
		}
		res.SupervisorSize = len(resp.GetReport().GetAgents())
		lat = append(lat, d)
	}
	res.Supervisor = distOf(lat)

	// A CPU profile of the server answering admin team reports back to back.
	if b.cfg.profileSeconds > 0 && b.cfg.pprof != "" {
		stop := b.profile(ctx, "report", b.cfg.profileSeconds)
		until := time.Now().Add(time.Duration(b.cfg.profileSeconds) * time.Second)
		for time.Now().Before(until) {
			if _, _, err := call(admin, b.admin); err != nil {
				return nil, err
			}
		}
		stop()
	}
	return res, nil
}
