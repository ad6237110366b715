package server

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
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
		if _, err := st.UpsertInspector(ctx, store.Inspector{ID: id, Name: id, Active: true}, "admin"); err != nil {
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
	week, err := isoweek.Parse(flowWeek)
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

// scrape returns the server's /metrics page.
func scrape(t *testing.T, srv *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func TestSamplingRunMetrics(t *testing.T) {
	srv, _ := samplingFixture(t)
	week, err := isoweek.Parse(flowWeek)
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := srv.Sampling.RunWeek(t.Context(), week, "manual:lead")
	if err != nil {
		t.Fatal(err)
	}
	// Running it again stores nothing and counts nothing.
	if _, _, err := srv.Sampling.RunWeek(t.Context(), week, "manual:lead"); err != nil {
		t.Fatal(err)
	}
	page := scrape(t, srv)
	for _, want := range []string{
		"qa_sampling_run_duration_seconds_count 1\n",
		fmt.Sprintf("qa_sampling_run_picks_total %d\n", run.Picks),
		fmt.Sprintf("qa_sampling_run_shortfall_total %d\n", run.Shortfalls),
		fmt.Sprintf("qa_sampling_last_success_timestamp_seconds{week=%q} %s\n", flowWeek,
			strconv.FormatFloat(float64(run.CompletedAt.UnixMilli())/1000, 'g', -1, 64)),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("/metrics lacks %q; sampling lines:\n%s", want, samplingLines(page))
		}
	}
	if run.Picks == 0 {
		t.Fatal("the run picked nothing; the picks counter proves nothing")
	}

	// A restarted process reports the stored runs' last success before
	// its own first run.
	fresh := New(srv.store, DefaultConfig(), slog.New(slog.DiscardHandler))
	fresh.Sampling.seedMetrics(t.Context())
	if page := scrape(t, fresh); !strings.Contains(page, fmt.Sprintf("qa_sampling_last_success_timestamp_seconds{week=%q}", flowWeek)) {
		t.Errorf("a fresh server does not report the stored run; sampling lines:\n%s", samplingLines(page))
	}
}

// The week label keeps only the newest weeks, whatever the order runs
// complete in.
func TestLastSuccessKeepsTheNewestWeeks(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newSamplingMetrics(reg)
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{30, 3, 12, 5, 40, 1, 22, 17, 9, 35, 28, 2} {
		m.succeeded(store.Run{Week: fmt.Sprintf("2026-W%02d", n), CompletedAt: at})
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var weeks []string
	for _, f := range families {
		if f.GetName() != "qa_sampling_last_success_timestamp_seconds" {
			continue
		}
		for _, metric := range f.GetMetric() {
			weeks = append(weeks, metric.GetLabel()[0].GetValue())
		}
	}
	slices.Sort(weeks)
	want := []string{"2026-W09", "2026-W12", "2026-W17", "2026-W22", "2026-W28", "2026-W30", "2026-W35", "2026-W40"}
	if !slices.Equal(weeks, want) {
		t.Fatalf("weeks reported %v, want the newest %d: %v", weeks, lastSuccessWeeks, want)
	}
}

func samplingLines(page string) string {
	var out []string
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, "qa_sampling_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A week that has not ended in the policy's time zone cannot be run: the
// run used to answer "created: 0 picks" (or the chats so far) and, being
// idempotent, froze the week at that. A preview stays allowed, and once
// the week has ended the run takes all of it.
func TestRunRefusesAWeekThatHasNotEnded(t *testing.T) {
	var now atomic.Pointer[time.Time]
	friday := time.Date(2026, 11, 13, 12, 0, 0, 0, time.UTC) // in flowWeek
	now.Store(&friday)
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return *now.Load() }
	env := startEnv(t, cfg)
	admin, ingestCtx := env.as(store.RoleAdmin, "lead"), env.as(store.RoleIngest, "platform")
	ingest, sampling := qav1.NewIngestServiceClient(env.conn), qav1.NewSamplingServiceClient(env.conn)
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		{AgentId: "agent-a", Name: "A", TeamId: "team-1", SupervisorId: "sup-a", HiredOn: "2020-01-01"},
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: testChat("a1", "agent-a", flowChatStart)}); err != nil {
		t.Fatal(err)
	}

	for week, end := range map[string]string{
		flowWeek:   "2026-11-16T00:00:00+08:00", // the current week
		"2026-W47": "2026-11-23T00:00:00+08:00", // a future one
	} {
		_, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: week})
		wantCode(t, err, codes.FailedPrecondition)
		if want := "week " + week + " ends " + end + "; preview it instead"; !strings.Contains(err.Error(), want) {
			t.Errorf("RunWeek(%s): %v; want it to say %q", week, err, want)
		}
	}
	preview, err := sampling.PreviewWeek(admin, &qav1.PreviewWeekRequest{Week: flowWeek})
	if err != nil || len(preview.GetPicks()) != 1 {
		t.Fatalf("preview of the unfinished week: %v, %d picks; want 1", err, len(preview.GetPicks()))
	}
	runs, err := sampling.ListRuns(admin, &qav1.ListRunsRequest{})
	if err != nil || len(runs.GetRuns()) != 0 {
		t.Fatalf("runs stored after the refusals: %v (%v); want none", runs.GetRuns(), err)
	}

	// A chat of the week's last day, then the week ends.
	if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: testChat("a2", "agent-a", flowChatStart.Add(4*24*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	ended := time.Date(2026, 11, 16, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	now.Store(&ended)
	run, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek})
	if err != nil {
		t.Fatalf("RunWeek once the week ended: %v", err)
	}
	if got := run.GetRun().GetPicks(); got != 2 {
		t.Fatalf("run of the ended week has %d picks; want both chats", got)
	}
}

// A skipped phone pick was replaced by whatever came next in picking
// order (mostly an email chat) although another phone chat was eligible,
// and the replacement took rank 1 again.
func TestReplacementKeepsTheChannelAndTakesTheNextRank(t *testing.T) {
	srv, _ := samplingFixture(t)
	job, ctx := srv.Sampling, t.Context()
	var chats []*transcript.Prepared
	for i := range 12 {
		channel := "email"
		if i < 2 {
			channel = "phone"
		}
		start := flowChatStart.Add(time.Duration(i) * time.Hour)
		chats = append(chats, transcript.Prepare(transcript.Transcript{
			ExternalID: "p" + strconv.Itoa(i), AgentID: "agent-a", Channel: channel,
			StartedAt: start, EndedAt: start.Add(time.Minute),
			Messages: []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "退货怎么办", SentAt: start.Add(time.Second)},
				{Role: transcript.RoleAgent, Text: "您好，我来帮您", SentAt: start.Add(20 * time.Second)},
			},
		}))
	}
	if _, err := job.Store.UpsertTranscripts(ctx, chats); err != nil {
		t.Fatal(err)
	}
	week, err := isoweek.Parse(flowWeek)
	if err != nil {
		t.Fatal(err)
	}
	run, _, err := job.RunWeek(ctx, week, "manual:lead")
	if err != nil {
		t.Fatal(err)
	}
	picks, err := job.Store.ListPicks(ctx, store.PickFilter{RunID: run.ID, AgentID: "agent-a"})
	if err != nil {
		t.Fatal(err)
	}
	// Channel coverage picked one phone chat; the other may be picked too.
	var phone []store.Pick
	highest := 0
	for _, p := range picks {
		if p.ExternalID == "p0" || p.ExternalID == "p1" {
			phone = append(phone, p)
		}
		highest = max(highest, p.Rank)
	}
	if len(phone) == 0 {
		t.Fatalf("picks %+v cover no phone chat", picks)
	}
	skipped := phone[0]
	repl, ok, err := job.Replacement(ctx, skipped)
	if err != nil || !ok {
		t.Fatalf("Replacement of %s: %v, %v", skipped.ExternalID, ok, err)
	}
	if len(phone) == 1 {
		// The other phone chat is eligible and must be the replacement.
		if want := map[string]string{"p0": "p1", "p1": "p0"}[skipped.ExternalID]; repl.ExternalID != want {
			t.Errorf("phone pick %s replaced by %s; want the other phone chat %s", skipped.ExternalID, repl.ExternalID, want)
		}
	} else if repl.ExternalID == "p0" || repl.ExternalID == "p1" {
		t.Errorf("replacement %s was already picked", repl.ExternalID)
	}
	if repl.Rank != highest+1 || repl.Reason != skipped.Reason || repl.ReplacesID != skipped.ID {
		t.Errorf("replacement %+v; want rank %d, reason %s, replacing %d", repl, highest+1, skipped.Reason, skipped.ID)
	}
}
