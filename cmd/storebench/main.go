package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

type config struct {
	db            string
	n             int
	batch         int
	every         int
	agents        int
	pool          int
	transferEvery int
	randomIDs     bool
	dict          bool
	seed          uint64

	sample     bool
	repeat     int
	late       float64
	lateAgents int
	bare       bool
	parts      bool
	noRuns     bool
	cpuProfile string
}

func main() {
	var c config
	flag.StringVar(&c.db, "db", "storebench.db", "SQLite file (must not exist) or PostgreSQL DSN (use an empty schema)")
	flag.IntVar(&c.n, "n", 200_000, "transcripts to write")
	flag.IntVar(&c.batch, "batch", 500, "transcripts per UpsertTranscripts call")
	flag.IntVar(&c.every, "every", 100_000, "print a line every this many rows")
	flag.IntVar(&c.agents, "agents", 2000, "distinct agents")
	flag.IntVar(&c.pool, "pool", 10_000, "distinct prepared transcripts to cycle through")
	flag.IntVar(&c.transferEvery, "transfer-every", 20, "every k-th transcript is a transfer with a second author (0: none)")
	flag.BoolVar(&c.randomIDs, "random-ids", false, "random external ids instead of increasing ones")
	flag.BoolVar(&c.dict, "dict", true, "compress bodies with a dictionary of other synthetic chats, as qad does once it has stored\n--dictionary-samples chats (synth's canned lines repeat more than real chats, so this flatters the size)")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed")
	flag.BoolVar(&c.sample, "sample", false, "instead of writing, time the weekly sampling (preview, run, top-up) over a --db filled before")
	flag.IntVar(&c.repeat, "repeat", 3, "with --sample: previews and runs, each run under a new policy version")
	flag.Float64Var(&c.late, "late", 0.1, "with --sample: late chats to ingest before the top-up, as a fraction of the week's (0: no top-up)")
	flag.IntVar(&c.lateAgents, "late-agents", 0, "with --sample: the late chats cycle over --agents and this many agents the run never saw,\nwhose chats the top-up picks (0: the run's agents only, all at quota, so nothing is picked)")
	flag.BoolVar(&c.bare, "bare", true, "with --sample: time the bare index scan of the week (the floor a preview is compared with) before each preview")
	flag.BoolVar(&c.noRuns, "no-runs", false, "with --sample: previews only, no runs: every repeat previews the same week as it was\n(its first preview packs the hour blocks on SQLite, the rest read them); no top-up")
	flag.BoolVar(&c.parts, "parts", false, "with --sample: after the repeats, time the preview's parts alone, each the best of --repeat rounds\n(bare scan, the week's scan, the HMAC keys, the sampler over the week in memory) and the floor they set")
	flag.StringVar(&c.cpuProfile, "cpuprofile", "", "with --sample: write a CPU profile of the sampling to this file")
	naive := flag.String("naive", "", "instead: insert this transcript JSONL naively (parse, one INSERT a row, 1000 a transaction) into a new SQLite --db, the baseline of a backfill")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := checkParts(c)
	switch {
	case err != nil:
	case *naive != "":
		err = runNaive(ctx, c.db, *naive, os.Stdout)
	case c.sample:
		err = runSample(ctx, c, os.Stdout)
	default:
		err = run(ctx, c, os.Stdout)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.n < 1 || c.batch < 1 || c.every < 1 || c.agents < 2 || c.pool < 1 {
		return errors.New("--n, --batch, --every and --pool must be positive, --agents at least 2")
	}
	if !sqlstore.IsPostgres(c.db) {
		if _, err := os.Stat(c.db); err == nil {
			return fmt.Errorf("%s exists; remove it or name a new file, so that the size measured is this run's", c.db)
		}
	}
	st, codec, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()

	ids := make([]string, c.agents)
	for i := range ids {
		ids[i] = synth.AgentID(i)
	}
	if err := st.EnsureAgents(ctx, ids); err != nil {
		return err
	}

	start := time.Now()
	pool := makePool(c, codec)
	printf(out, "prepared %d distinct transcripts in %s (not timed below)\n", len(pool), time.Since(start).Round(time.Millisecond))
	printf(out, "%-10s %12s %12s %14s %12s\n", "rows", "rows/s", "cum rows/s", "ms/batch p50", "max ms")

	// Times end across one week, in order, as a live feed's would.
	week := 7 * 24 * time.Hour
	t0 := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	step := week / time.Duration(c.n)
	var (
		inStore, sinceMark time.Duration
		lastMark           int
		lats               []time.Duration
		batch              = make([]*transcript.Prepared, 0, c.batch)
	)
	for lo := 0; lo < c.n; lo += c.batch {
		hi := min(lo+c.batch, c.n)
		batch = batch[:0]
		for i := lo; i < hi; i++ {
			batch = append(batch, synth.Restamp(pool[i%len(pool)], externalID(c, i), synth.AgentID(i%c.agents), t0.Add(time.Duration(i)*step)))
		}
		t := time.Now()
		outcomes, err := st.UpsertTranscripts(ctx, batch)
		d := time.Since(t)
		if err != nil {
			return fmt.Errorf("batch at row %d: %w", lo, err)
		}
		for k, o := range outcomes {
			if o != store.Created {
				return fmt.Errorf("row %d: %s, want created (is the database empty?)", lo+k, o)
			}
		}
		inStore += d
		sinceMark += d
		lats = append(lats, d)
		if hi-lastMark >= c.every || hi == c.n {
			n := hi - lastMark
			lastMark = hi
			p50, worst := quantiles(lats)
			printf(out, "%-10d %12.0f %12.0f %14.1f %12.1f\n", hi,
				float64(n)/sinceMark.Seconds(), float64(hi)/inStore.Seconds(),
				ms(p50), ms(worst))
			sinceMark, lats = 0, lats[:0]
		}
	}
	wall := time.Since(start)
	size, err := st.SizeOnDisk(ctx)
	if err != nil {
		return err
	}
	printf(out, "total %d rows: %.0f rows/s in UpsertTranscripts (%s), %.0f rows/s wall incl. stamping\n",
		c.n, float64(c.n)/inStore.Seconds(), inStore.Round(time.Millisecond), float64(c.n)/wall.Seconds())
	printf(out, "size on disk %d bytes = %.0f bytes/transcript (mean body %.0f bytes)\n",
		size, float64(size)/float64(c.n), meanBody(pool))
	return nil
}

// openStore opens c.db, migrated and ready, with newCodec's codec.
func openStore(ctx context.Context, c config) (*sqlstore.Store, *transcript.Codec, error) {
	codec, err := newCodec(c)
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlstore.Open(ctx, c.db, sqlstore.Options{AutoMigrate: true, Codec: codec})
	if err != nil {
		return nil, nil, err
	}
	if err := st.Ready(ctx); err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return st, codec, nil
}

// newCodec is the plain codec, or with --dict one whose dictionary was
// trained on transcripts the benchmark does not write.
func newCodec(c config) (*transcript.Codec, error) {
	codec := transcript.NewCodec()
	if !c.dict {
		return codec, nil
	}
	rng := mrand.New(mrand.NewPCG(c.seed+1, 0))
	end := time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC)
	samples := make([][]byte, 2000)
	for i := range samples {
		p, err := codec.Payload(codec.Prepare(synth.Transcript(rng, i, synth.AgentID(0), end)).Body)
		if err != nil {
			return nil, err
		}
		samples[i] = p
	}
	d, err := transcript.TrainDictionary(1, samples)
	if err != nil {
		return nil, err
	}
	return codec, codec.Install([]transcript.Dictionary{d}, d.ID)
}

// makePool prepares the distinct transcripts that rows are stamped from.
func makePool(c config, codec *transcript.Codec) []*transcript.Prepared {
	rng := mrand.New(mrand.NewPCG(c.seed, c.seed^0x9e3779b97f4a7c15))
	end := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	pool := make([]*transcript.Prepared, c.pool)
	for i := range pool {
		t := synth.Transcript(rng, i, synth.AgentID(i%c.agents), end)
		if c.transferEvery > 0 && i%c.transferEvery == 0 {
			t.AgentID = synth.AgentID((i + 1) % c.agents)
			synth.Transfer(&t, synth.AgentID(i%c.agents))
		}
		pool[i] = codec.Prepare(t)
	}
	return pool
}

// externalID is row i's id: increasing like a platform's conversation
// numbers, or random (--random-ids), which scatters index inserts.
func externalID(c config, i int) string {
	if !c.randomIDs {
		return synth.ExternalID(i)
	}
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "conv-" + hex.EncodeToString(b)
}

// printf writes a report line; a failing stdout is not worth stopping for.
func printf(w io.Writer, format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }

func quantiles(ds []time.Duration) (p50, worst time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func meanBody(pool []*transcript.Prepared) float64 {
	var n int
	for _, p := range pool {
		n += len(p.Body)
	}
	return float64(n) / float64(len(pool))
}
