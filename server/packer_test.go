package server

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"qa-sampling/internal/pgtest"
	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

// packNow is the packer tests' clock: Wednesday of 2026-W47 in the default
// policy's zone (Asia/Shanghai), so flowWeek (W46) is the newest week that
// has ended and W47 the current one.
var packNow = time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC)

// packFixture is a server, not serving, with the clock at packNow, on the
// store at dsn (a SQLite file or a PostgreSQL DSN) holding 30 chats of
// flowWeek and 5 of the current week, of two agents.
func packFixture(t *testing.T, dsn string, cfg Config) (*Server, *sqlstore.Store) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.UpsertAgents(ctx, []store.Agent{
		{AgentID: "agent-a", Name: "A", TeamID: "team-1", SupervisorID: "sup-a", HiredOn: "2020-01-01", Active: true},
		{AgentID: "agent-b", Name: "B", TeamID: "team-1", SupervisorID: "sup-b", HiredOn: "2020-01-01", Active: true},
	}); err != nil {
		t.Fatal(err)
	}
	chat := func(id string, i int, start time.Time) *transcript.Prepared {
		return transcript.Prepare(transcript.Transcript{
			ExternalID: id, AgentID: []string{"agent-a", "agent-b"}[i%2], Channel: "chat",
			StartedAt: start, EndedAt: start.Add(time.Minute),
			Messages: []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "我的订单还没有发货", SentAt: start.Add(time.Second)},
				{Role: transcript.RoleAgent, Text: "您好，预计明天发出", SentAt: start.Add(20 * time.Second)},
			},
		})
	}
	var chats []*transcript.Prepared
	// 3 random picks of 15 chats an agent: another seed picks others.
	for i := range 30 {
		chats = append(chats, chat(fmt.Sprintf("c%02d", i), i, flowChatStart.Add(time.Duration(i)*time.Hour)))
	}
	for i := range 5 {
		chats = append(chats, chat(fmt.Sprintf("now%d", i), i, packNow.Add(-time.Duration(i+2)*time.Hour)))
	}
	if _, err := st.UpsertTranscripts(ctx, chats); err != nil {
		t.Fatal(err)
	}
	cfg.Codec = st.Codec()
	cfg.Now = func() time.Time { return packNow }
	srv := New(st, cfg, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv, st
}

// previewPicks previews week as the sampling service does.
func previewPicks(t *testing.T, srv *Server, week string) []string {
	t.Helper()
	svc := &samplingService{job: srv.Sampling, store: srv.store, log: srv.log}
	p, err := svc.PreviewWeek(t.Context(), &qav1.PreviewWeekRequest{Week: week})
	if err != nil {
		t.Fatal(err)
	}
	return pickSummary(p.GetPicks())
}

// seedDrawn reports whether week has a stored seed. It draws one if not:
// call it last for a week.
func seedDrawn(t *testing.T, st store.Store, week string) bool {
	t.Helper()
	candidate := bytes.Repeat([]byte{0xa5}, 32)
	got, err := st.WeekSeed(t.Context(), week, candidate, packNow)
	if err != nil {
		t.Fatal(err)
	}
	return !bytes.Equal(got, candidate)
}

// hoursOf is the UTC hours, as sample_blocks numbers them, of week in the
// default policy's zone.
func hoursOf(t *testing.T, week string) (first, last int64) {
	t.Helper()
	w, err := isoweek.Parse(week)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	from, to := w.Bounds(loc)
	return from.Unix() / 3600, to.Unix() / 3600
}

// TestPackerPacksFinishedWeeks: on SQLite a pass packs the hour blocks of
// the finished weeks keyed under their seeds, so that the next preview
// builds none and reads blocks, with the picks a preview from the index
// makes; a second pass packs nothing; the current week is neither packed
// nor given a seed. On PostgreSQL a pass packs nothing, draws no seed and
// breaks nothing.
func TestPackerPacksFinishedWeeks(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "qa.db")
		srv, st := packFixture(t, path, DefaultConfig())
		ctx := t.Context()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = db.Close() }()
		blocksIn := func(week string) int {
			t.Helper()
			first, last := hoursOf(t, week)
			var n int
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sample_blocks WHERE hour >= ? AND hour < ?", first, last).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		current := isoweek.Of(packNow, time.UTC).String()
		_, builtBefore, _ := st.BlockStats()
		n, err := srv.packer.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, built, _ := st.BlockStats()
		if n < 168 || built-builtBefore != int64(n) {
			t.Fatalf("pass packed %d hours, built %d blocks; want at least flowWeek's 168, each built", n, built-builtBefore)
		}
		if got := blocksIn(flowWeek); got != 168 {
			t.Errorf("%s has %d blocks stored, want 168", flowWeek, got)
		}
		if got := gauge(t, srv.registry, "qa_sample_blocks_packed_total"); got != float64(n) {
			t.Errorf("qa_sample_blocks_packed_total = %v, want %d", got, n)
		}
		if got := blocksIn(current); got != 0 {
			t.Errorf("the current week %s has %d blocks after a pass", current, got)
		}
		if again, err := srv.packer.Pass(ctx); err != nil || again != 0 {
			t.Errorf("second pass packed %d (%v), want 0", again, err)
		}
		if got := gauge(t, srv.registry, "qa_sample_blocks_packed_total"); got != float64(n) {
			t.Errorf("after a second pass qa_sample_blocks_packed_total = %v, want still %d", got, n)
		}

		// The first preview after the pass reads blocks and builds none.
		read0, built0, _ := st.BlockStats()
		packed := previewPicks(t, srv, flowWeek)
		read1, built1, _ := st.BlockStats()
		if built1 != built0 || read1-read0 < 168 {
			t.Errorf("preview after the pass built %d blocks and read %d; want none built, the week's 168 read", built1-built0, read1-read0)
		}
		if len(packed) < 6 {
			t.Fatalf("preview picked %v; want the random picks of both agents", packed)
		}
		// Without blocks the scan reads the index: the same picks.
		if _, err := db.ExecContext(ctx, "DELETE FROM sample_blocks"); err != nil {
			t.Fatal(err)
		}
		fromIndex := previewPicks(t, srv, flowWeek)
		if _, built2, _ := st.BlockStats(); built2 == built1 {
			t.Errorf("the preview without blocks built none; it did not read the index")
		}
		if !sameSet(packed, fromIndex) {
			t.Errorf("preview from packed blocks picked %v; from the index %v", packed, fromIndex)
		}

		if runs, err := st.ListRuns(ctx, current); err != nil || len(runs) != 0 {
			t.Errorf("current week runs: %v %v", runs, err)
		}
		if seedDrawn(t, st, current) {
			t.Errorf("a pass drew the seed of the current week %s", current)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("QA_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("set QA_TEST_POSTGRES_DSN to run against PostgreSQL")
		}
		srv, st := packFixture(t, pgtest.Schema(t, dsn, "server_test_"), DefaultConfig())
		for range 2 {
			if n, err := srv.packer.Pass(t.Context()); err != nil || n != 0 {
				t.Fatalf("pass on PostgreSQL packed %d (%v), want 0", n, err)
			}
		}
		if got := gauge(t, srv.registry, "qa_sample_blocks_packed_total"); got != 0 {
			t.Errorf("qa_sample_blocks_packed_total = %v, want 0", got)
		}
		// With nothing to pack, a pass draws no seed either.
		for w, i := isoweek.Of(packNow, time.UTC), 0; i < 2; i++ {
			if w = w.Prev(); seedDrawn(t, st, w.String()) {
				t.Errorf("a pass on PostgreSQL drew the seed of %s", w)
			}
		}
		if picks := previewPicks(t, srv, flowWeek); len(picks) < 6 {
			t.Errorf("preview after a pass picked %v", picks)
		}
		if current := isoweek.Of(packNow, time.UTC).String(); seedDrawn(t, st, current) {
			t.Errorf("a pass drew the seed of the current week %s", current)
		}
	})
}

// TestPackerRun: Run passes soon after start on its own; with Every 0 it
// returns at once and never passes.
func TestPackerRun(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		srv, st := packFixture(t, filepath.Join(t.TempDir(), "qa.db"), DefaultConfig())
		srv.packer.startDelay = 0
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { srv.packer.Run(ctx); close(done) }()
		deadline := time.Now().Add(30 * time.Second)
		for gauge(t, srv.registry, "qa_sample_blocks_packed_total") == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		if got := gauge(t, srv.registry, "qa_sample_blocks_packed_total"); got == 0 {
			t.Fatal("Run did not pack after start")
		}
		if _, built, _ := st.BlockStats(); built == 0 {
			t.Error("Run's pass built no blocks")
		}
	})
	t.Run("off", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Pack.Every = 0
		srv, st := packFixture(t, filepath.Join(t.TempDir(), "qa.db"), cfg)
		srv.packer.startDelay = 0
		// Should Run pass, it would do so at once and then wait until
		// the context ends; a seed drawn afterwards shows it.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		srv.packer.Run(ctx)
		if _, built, _ := st.BlockStats(); built != 0 {
			t.Errorf("the packer is off but built %d blocks", built)
		}
		if seedDrawn(t, st, flowWeek) {
			t.Errorf("the packer is off but drew the seed of %s", flowWeek)
		}
	})
}
