// Command qagen writes synthetic load data in the import format: an agent
// directory and a JSONL file of realistic ~20-message chats spread over one
// week, or several for a history with trends, for benchmarks and trying the
// service out at scale.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"qa-sampling/internal/importfile"
	"qa-sampling/internal/synth"
	"qa-sampling/isoweek"
	"qa-sampling/transcript"
)

// platformZone is the zone of --last-week's weeks: the service's default
// policy zone, fixed at +08:00 so that no time zone database is needed.
var platformZone = time.FixedZone("Asia/Shanghai", 8*60*60)

func main() {
	n := flag.Int("transcripts", 200000, "how many transcripts per week")
	agents := flag.Int("agents", 2000, "how many agents")
	out := flag.String("out", ".", "directory for agents.jsonl and transcripts.jsonl")
	week := flag.String("week-start", "2026-11-16T00:00:00+08:00", "start of the (last) week the chats end in (RFC 3339)")
	lastWeek := flag.String("last-week", "", "instead of --week-start: the last ISO week (2026-W47), or \"last\" for the last finished week, in Asia/Shanghai")
	weeks := flag.Int("weeks", 1, "how many consecutive weeks, ending with the last week, each with --transcripts chats")
	idOffset := flag.Int("id-offset", 0, "number of the first external id (conv-N); give a later run the previous run's offset plus its chats to keep ids distinct")
	vocab := flag.String("tags", "classic", "tags and customer tiers: classic (the benchmarks') or platform (投诉, 退款, 升级 mixed with English tags; tiers regular, gold, platinum)")
	transfers := flag.Float64("transfers", 0.02, "share of chats handed over between two agents")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same files")
	shuffle := flag.Bool("shuffle", false, "write the chats in random order instead of by end time, as a history export sorted by customer or id arrives (a backfill spanning --weeks)")
	flag.Parse()
	weekSet := false
	flag.Visit(func(f *flag.Flag) { weekSet = weekSet || f.Name == "week-start" })
	h := synth.History{Weeks: *weeks, PerWeek: *n, Agents: *agents, IDOffset: *idOffset, Transfers: *transfers}
	err := configure(&h, *week, *lastWeek, weekSet, *vocab, time.Now())
	if err == nil {
		err = generate(h, *out, *seed)
	}
	if err == nil && *shuffle {
		err = shuffleLines(filepath.Join(*out, "transcripts.jsonl"), *seed)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "qagen:", err)
		os.Exit(1)
	}
	if h.Weeks > 1 || h.IDOffset > 0 {
		fmt.Fprintf(os.Stderr, "qagen: wrote %s..%s over %d weeks from %s; the next run's --id-offset is %d\n",
			synth.ExternalID(h.IDOffset), synth.ExternalID(h.IDOffset+h.Total()-1), h.Weeks,
			h.FirstWeekStart().Format(time.DateOnly), h.IDOffset+h.Total())
	}
}

// configure sets h's last week and vocabulary from the flags; weekSet is
// whether --week-start was given.
func configure(h *synth.History, weekStart, lastWeek string, weekSet bool, vocab string, now time.Time) error {
	switch vocab {
	case "classic":
		h.Vocab = synth.Classic
	case "platform":
		h.Vocab = synth.Platform
	default:
		return fmt.Errorf("--tags: %q is not classic or platform", vocab)
	}
	if lastWeek == "" {
		start, err := time.Parse(time.RFC3339, weekStart)
		if err != nil {
			return fmt.Errorf("--week-start: %w", err)
		}
		h.LastWeekStart = start
		return nil
	}
	if weekSet {
		return fmt.Errorf("--last-week and --week-start exclude each other")
	}
	var w isoweek.Week
	if lastWeek == "last" {
		w = isoweek.Of(now, platformZone).Prev()
	} else {
		var err error
		if w, err = isoweek.Parse(lastWeek); err != nil {
			return fmt.Errorf("--last-week: %w", err)
		}
	}
	h.LastWeekStart, _ = w.Bounds(platformZone)
	return nil
}

func generate(h synth.History, dir string, seed uint64) error {
	if h.Agents < 2 || h.PerWeek < 1 || h.Weeks < 1 || h.IDOffset < 0 {
		return fmt.Errorf("need at least 2 agents, 1 transcript, 1 week and a non-negative --id-offset")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	agents := h.Agents
	// Agents were hired before the oldest week's chats.
	start := h.FirstWeekStart()
	directory := make([]importfile.Agent, agents)
	for i := range directory {
		directory[i] = importfile.Agent{
			AgentID: synth.AgentID(i), Name: fmt.Sprintf("客服%04d", i),
			TeamID: fmt.Sprintf("team-%02d", i/20), SupervisorID: fmt.Sprintf("sup-%02d", i/20),
			HiredOn: start.AddDate(0, 0, -30-(i*7)%720).Format(time.DateOnly), Active: new(true),
		}
	}
	if err := writeFile(filepath.Join(dir, "agents.jsonl"), func(w *bufio.Writer) error {
		return importfile.WriteAgentsJSONL(w, directory)
	}); err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return writeFile(filepath.Join(dir, "transcripts.jsonl"), func(w *bufio.Writer) error {
		batch := make([]transcript.Transcript, 0, 256)
		err := h.Generate(rng, func(t transcript.Transcript) error {
			batch = append(batch, t)
			if len(batch) < cap(batch) {
				return nil
			}
			err := importfile.WriteTranscriptsJSONL(w, batch)
			batch = batch[:0]
			return err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		return importfile.WriteTranscriptsJSONL(w, batch)
	})
}

func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// shuffleLines rewrites the JSONL file at path with its lines in a random
// order drawn from seed. Only the lines' offsets are held in memory (a
// million chats are gigabytes); each line is read back at its offset.
func shuffleLines(path string, seed uint64) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = src.Close() }()
	var offsets []int64
	r := bufio.NewReaderSize(src, 1<<20)
	var at int64
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			offsets = append(offsets, at)
			at += int64(len(line))
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: read on to its end.
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				at += int64(len(line))
			}
		}
		if err != nil {
			break
		}
	}
	offsets = append(offsets, at) // the end, for the last line's length
	order := make([]int, len(offsets)-1)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	tmp := path + ".shuffling"
	err = writeFile(tmp, func(w *bufio.Writer) error {
		var buf []byte
		for _, i := range order {
			n := offsets[i+1] - offsets[i]
			if int64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			if _, err := src.ReadAt(buf[:n], offsets[i]); err != nil {
				return err
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
