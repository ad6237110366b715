// Command qagen writes synthetic load data in the import format: an agent
// directory and a JSONL file of realistic ~20-message chats spread over one
// week, for benchmarks and trying the service out at scale.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"qa-sampling/internal/importfile"
	"qa-sampling/internal/synth"
	"qa-sampling/transcript"
)

func main() {
	n := flag.Int("transcripts", 200000, "how many transcripts")
	agents := flag.Int("agents", 2000, "how many agents")
	out := flag.String("out", ".", "directory for agents.jsonl and transcripts.jsonl")
	week := flag.String("week-start", "2026-11-16T00:00:00+08:00", "start of the week the chats end in (RFC 3339)")
	transfers := flag.Float64("transfers", 0.02, "share of chats handed over between two agents")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same files")
	flag.Parse()
	if err := generate(*n, *agents, *out, *week, *transfers, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "qagen:", err)
		os.Exit(1)
	}
}

func generate(n, agents int, dir, weekStart string, transfers float64, seed uint64) error {
	start, err := time.Parse(time.RFC3339, weekStart)
	if err != nil {
		return fmt.Errorf("--week-start: %w", err)
	}
	if agents < 2 || n < 1 {
		return fmt.Errorf("need at least 2 agents and 1 transcript")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
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
	step := 7 * 24 * time.Hour / time.Duration(n)
	return writeFile(filepath.Join(dir, "transcripts.jsonl"), func(w *bufio.Writer) error {
		batch := make([]transcript.Transcript, 0, 256)
		for i := range n {
			agent := rng.IntN(agents)
			t := synth.Transcript(rng, i, synth.AgentID(agent), start.Add(time.Duration(i+1)*step))
			if rng.Float64() < transfers {
				synth.Transfer(&t, synth.AgentID((agent+1)%agents))
			}
			batch = append(batch, t)
			if len(batch) == cap(batch) || i == n-1 {
				if err := importfile.WriteTranscriptsJSONL(w, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		return nil
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
