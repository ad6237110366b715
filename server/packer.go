package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"qa-sampling/isoweek"
)

// PackOptions say how the finished weeks are readied for sampling: on
// SQLite the weekly scan reads a week as hour blocks holding each chat's
// sampling key under the week's seed, and builds the blocks it lacks
// itself, which makes a week's first preview or run slow. The packer
// builds them beforehand. PostgreSQL keeps no blocks; a pass there packs
// nothing.
type PackOptions struct {
	// Every is the time between passes; 0 disables the packer.
	Every time.Duration
	// Weeks is how many of the newest weeks that have ended (in the
	// policy's time zone) a pass packs (0: the default, 2); never the
	// current week, whose seed the packer must not draw.
	Weeks int
}

// DefaultPackOptions are the packer's settings of `qad serve`.
func DefaultPackOptions() PackOptions { return PackOptions{Every: 10 * time.Minute, Weeks: 2} }

// packStartDelay is the wait before the first pass after start: after the
// schedule's catch-up has begun, which builds the blocks of the week it
// runs by its own scan.
const packStartDelay = time.Minute

// packJob packs the hour blocks of the newest finished weeks in the
// background, so that their first preview and scheduled run read blocks.
type packJob struct {
	job    *SamplingJob
	opts   PackOptions
	log    *slog.Logger
	packed prometheus.Counter
	// startDelay is packStartDelay; tests shorten it.
	startDelay time.Duration

	// mu serialises passes (Run's, and tests').
	mu sync.Mutex
}

func newPackJob(job *SamplingJob, opts PackOptions, log *slog.Logger, reg prometheus.Registerer) *packJob {
	packed := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "qa_sample_blocks_packed_total",
		Help: "Hour blocks of finished weeks packed ahead of sampling by the background packer (SQLite; PostgreSQL packs none).",
	})
	reg.MustRegister(packed)
	return &packJob{job: job, opts: opts, log: log, packed: packed, startDelay: packStartDelay}
}

// Run passes shortly after start and then every opts.Every until ctx
// ends; nothing when the packer is off.
func (p *packJob) Run(ctx context.Context) {
	if p.opts.Every <= 0 {
		return
	}
	wait := p.startDelay
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		// Errors are logged by Pass; the next pass tries again.
		_, _ = p.Pass(ctx)
		wait = p.opts.Every
	}
}

// Pass packs the blocks of the opts.Weeks newest weeks that have ended in
// the latest policy's time zone, drawing a week's seed if it has none, and
// returns how many hours it packed.
func (p *packJob) Pass(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	total, err := p.pass(ctx)
	if err != nil && ctx.Err() == nil {
		p.log.Warn("sample block packing failed; tried again at the next pass", "err", err, "next_in", p.opts.Every.String())
	}
	return total, err
}

func (p *packJob) pass(ctx context.Context) (int, error) {
	if !p.job.Store.PacksWeeks() { // PostgreSQL: nothing to pack, no seed to draw
		return 0, nil
	}
	policy, err := p.job.Policy(ctx)
	if err != nil {
		return 0, err
	}
	loc, err := policy.Location()
	if err != nil {
		return 0, err
	}
	now := p.job.Now()
	total := 0
	week := isoweek.Of(now, loc)
	for range p.opts.Weeks {
		week = week.Prev()
		from, to := week.Bounds(loc)
		if to.After(now) { // cannot happen for a week before the current one; never draw a running week's seed
			continue
		}
		seed, err := p.job.WeekSeed(ctx, week)
		if err != nil {
			return total, fmt.Errorf("week %s: seed: %w", week, err)
		}
		start := time.Now()
		n, err := p.job.Store.PackWeek(ctx, from, to, string(seed))
		if err != nil { // what it built was not stored
			return total, fmt.Errorf("week %s: %w", week, err)
		}
		if n > 0 {
			total += n
			p.packed.Add(float64(n))
			p.log.Info("packed sample blocks", "week", week.String(), "hours", n, "duration", time.Since(start))
		}
	}
	return total, nil
}
