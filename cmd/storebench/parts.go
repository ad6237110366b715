package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"qa-sampling/sampler"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// previewPart is one of the parts of a preview timed alone by timeParts.
type previewPart struct {
	name string
	run  func() error
}

// checkParts refuses --parts where its figures would be wrong: without
// --sample (it would be ignored), without a round (nothing measured, a
// floor of 0), and on PostgreSQL, whose scans run in the server's
// processes: the CPU this process reads (cpuTime) would leave out the
// scans' work, and every ratio to the bare scan's CPU with it.
func checkParts(c config) error {
	switch {
	case !c.parts:
		return nil
	case !c.sample:
		return errors.New("--parts: times a preview's parts; give it with --sample")
	case c.repeat < 1:
		return fmt.Errorf("--parts: each part is the best of --repeat rounds; --repeat %d, want at least 1", c.repeat)
	case sqlstore.IsPostgres(c.db):
		return errors.New("--parts: compares this process's CPU time, which on PostgreSQL leaves out the server's scans; give a SQLite --db")
	}
	return nil
}

// timeParts times the parts of a preview alone, each the best of rounds
// (least CPU, least wall time, not necessarily of the same round): the
// bare index scan, the week's scan as Compute reads it (two halves at
// once, rows dropped), the HMAC keys of the week's ids, and the sampler
// over the week held in memory (its keys included). A preview costs about
// the scan and the sampler together; on two cores its wall time cannot go
// below half of that CPU, which is the floor it prints against the bare
// scan's CPU. The week in memory is read last, after the database parts, so
// that its heap does not slow them.
func timeParts(ctx context.Context, st *sqlstore.Store, policy sampler.Policy, seed []byte, rounds int, out io.Writer) error {
	from, to := sampleWeek.Bounds(time.UTC)
	dir, err := st.ListAgents(ctx)
	if err != nil {
		return err
	}
	agents := make([]sampler.Agent, 0, len(dir))
	for _, a := range dir {
		hired, _ := time.Parse(time.DateOnly, a.HiredOn)
		agents = append(agents, sampler.Agent{ID: a.AgentID, TeamID: a.TeamID, HiredOn: hired, Active: a.Active})
	}
	var week []sampler.Conversation
	parts := []previewPart{
		{"bare index scan (one connection)", func() error {
			_, err := st.BareScanWeek(ctx, from, to)
			return err
		}},
		{"the week's scan, two halves at once, rows dropped", func() error {
			return scanHalves(ctx, st, from, to, func(store.SampleRow) {})
		}},
		{"HMAC keys of the week's ids", func() error {
			mac := hmac.New(sha256.New, seed)
			var sum []byte
			for i := range week {
				mac.Reset()
				_, _ = io.WriteString(mac, week[i].ExternalID)
				sum = mac.Sum(sum[:0])
			}
			return nil
		}},
		{"sampler over the week in memory", func() error {
			run, err := sampler.NewRun(&sampler.Params{Policy: policy, Week: sampleWeek, Seed: seed, Agents: agents})
			if err != nil {
				return err
			}
			for lo := 0; lo < len(week); lo += 4096 {
				run.AddBatch(week[lo:min(lo+4096, len(week))])
			}
			_ = run.Result()
			return nil
		}},
	}
	best := make([][2]time.Duration, len(parts)) // CPU, wall
	measure := func(lo, hi int) error {
		for range rounds {
			for i := lo; i < hi; i++ {
				t, cpu := time.Now(), cpuTime()
				if err := parts[i].run(); err != nil {
					return err
				}
				c, w := cpuTime()-cpu, time.Since(t)
				if best[i][0] == 0 || c < best[i][0] {
					best[i][0] = c
				}
				if best[i][1] == 0 || w < best[i][1] {
					best[i][1] = w
				}
			}
		}
		return nil
	}
	if err := measure(0, 2); err != nil {
		return err
	}
	var mu sync.Mutex
	if err := scanHalves(ctx, st, from, to, func(r store.SampleRow) {
		mu.Lock()
		week = append(week, sampler.Conversation{
			ExternalID: r.ExternalID, AgentIDs: r.AgentIDs, Channel: r.Channel, CustomerTier: r.CustomerTier,
			Tags: r.Tags, CSAT: r.CSAT, TransferCount: r.TransferCount, HandleTime: r.HandleTime, EndedAt: r.EndedAt,
			MessageCount: r.MessageCount, AgentMessageCount: r.AgentMessageCount, CustomerMessageCount: r.CustomerMessages,
		})
		mu.Unlock()
	}); err != nil {
		return err
	}
	printf(out, "parts: the week in memory: %d chats\n", len(week))
	if err := measure(2, len(parts)); err != nil {
		return err
	}
	bare := best[0][0]
	for i, p := range parts {
		printf(out, "part: %-50s CPU %s (%.2f× the bare scan's CPU), wall %s\n", p.name, ms3(best[i][0]), float64(best[i][0])/float64(bare), ms3(best[i][1]))
	}
	sum := best[1][0] + best[3][0]
	// The bare scan runs on one thread: idle, its wall time is its CPU
	// time, which a busy machine inflates less than the wall time.
	printf(out, "parts: scan + sampler = CPU %s; on 2 cores a preview takes at least %s, %.2f× the bare scan's CPU %s (its wall time when idle)\n",
		ms3(sum), ms3(sum/2), float64(sum/2)/float64(bare), ms3(bare))
	return nil
}

// scanHalves reads [from, to) in two halves at once, each on its own
// connection, as the sampling job does, and hands every row to fn (from
// either goroutine).
func scanHalves(ctx context.Context, st *sqlstore.Store, from, to time.Time, fn func(store.SampleRow)) error {
	mid := from.Add(to.Sub(from) / 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, span := range [][2]time.Time{{from, mid}, {mid, to}} {
		wg.Go(func() {
			errs[i] = st.ScanWeek(ctx, span[0], span[1], store.ScanOptions{}, func(r store.SampleRow) error {
				fn(r)
				return nil
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
