package server

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"qa-sampling/sampler"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

// samplingFixture is a server, not serving, on a SQLite store holding
// flowWeek's chats of two agents and two inspectors; path is the database
// file, for tests that reach under the store.
func samplingFixture(t *testing.T) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qa.db")
	st, err := sqlstore.Open(t.Context(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := t.Context()
	if _, err := st.UpsertAgents(ctx, []store.Agent{
		{AgentID: "agent-a", Name: "A", TeamID: "team-1", SupervisorID: "sup-a", HiredOn: "2020-01-01", Active: true},
		{AgentID: "agent-b", Name: "B", TeamID: "team-1", SupervisorID: "sup-b", HiredOn: "2020-01-01", Active: true},
	}); err != nil {
		t.Fatal(err)
	}
	var chats []*transcript.Prepared
	for i := range 8 {
		start := flowChatStart.Add(time.Duration(i) * time.Hour)
		chats = append(chats, transcript.Prepare(transcript.Transcript{
			ExternalID: "c" + strconv.Itoa(i), AgentID: []string{"agent-a", "agent-b"}[i%2], Channel: "chat",
			StartedAt: start, EndedAt: start.Add(time.Minute),
			Messages: []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "我的订单还没有发货", SentAt: start.Add(time.Second)},
				{Role: transcript.RoleAgent, Text: "您好，预计明天发出", SentAt: start.Add(20 * time.Second)},
			},
		}))
	}
	if _, err := st.UpsertTranscripts(ctx, chats); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"insp-1", "insp-2"} {
		if _, err := st.UpsertInspector(ctx, store.Inspector{ID: id, Name: id, Active: true}); err != nil {
			t.Fatal(err)
		}
	}
	// The job as the server wires it (not yet serving).
	srv := New(st, DefaultConfig(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv, path
}

// A run that failed half-way (here its picks could not be written, as on
// a full disk) is completed by the next RunWeek of the same process at
// once; it used to wait two minutes for the failed run to go stale.
func TestFailedRunIsCompletedByTheNextCall(t *testing.T) {
	srv, path := samplingFixture(t)
	job := srv.Sampling
	week, err := sampler.ParseWeek(flowWeek)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec("CREATE TRIGGER full_disk BEFORE INSERT ON picks BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := job.RunWeek(t.Context(), week, "manual:lead"); err == nil {
		t.Fatal("RunWeek succeeded although its picks could not be written")
	}
	if _, err := db.Exec("DROP TRIGGER full_disk"); err != nil {
		t.Fatal(err)
	}
	// Far below the two minutes the old code waited.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	run, created, err := job.RunWeek(ctx, week, "manual:lead")
	if err != nil {
		t.Fatalf("RunWeek after the failed one: %v", err)
	}
	if created || run.CompletedAt.IsZero() || run.Picks == 0 {
		t.Fatalf("run %+v created %v; want the failed run completed with picks", run, created)
	}
	picks, err := job.Store.ListPicks(t.Context(), store.PickFilter{RunID: run.ID})
	if err != nil || len(picks) != run.Picks {
		t.Fatalf("%d picks stored (%v), the run counts %d", len(picks), err, run.Picks)
	}
}
