package sqlstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// queryPlan is SQLite's EXPLAIN QUERY PLAN of q, one detail per line.
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.r.QueryxContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", q, err)
	}
	defer func() { _ = rows.Close() }()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestSQLiteQueryPlans checks that the weekly scan is a range of one
// covering index (the stored record, not the table; not a full scan), and
// that the other hot queries use their indexes.
func TestSQLiteQueryPlans(t *testing.T) {
	s := newSQLite(t)
	from, to := benchWeek.UnixMilli(), benchWeek.AddDate(0, 0, 7).UnixMilli()
	cases := []struct {
		name, query string
		args        []any
		want        string
	}{
		{"ScanWeek", scanWeekSQL(dialectSQLite, store.ScanOptions{}), []any{from, to},
			"SEARCH t USING COVERING INDEX transcripts_sampling (ended_at>? AND ended_at<?)"},
		{"ScanWeek with attributes", scanWeekSQL(dialectSQLite, store.ScanOptions{Attributes: true, ResponseTimes: true}), []any{from, to},
			"SEARCH t USING INDEX transcripts_sampling (ended_at>? AND ended_at<?)"},
		{"bare scan", bareScanSQL(dialectSQLite), []any{from, to},
			"SEARCH transcripts USING COVERING INDEX transcripts_sampling (ended_at>? AND ended_at<?)"},
		{"any range of end times", "SELECT external_id FROM transcripts WHERE ended_at >= ? AND ended_at < ?", []any{from, to},
			"SEARCH transcripts USING INDEX transcripts_sampling (ended_at>? AND ended_at<?)"},
		{"top-up scan", scanWeekAfterSQL(dialectSQLite, store.ScanOptions{}), []any{from, to, int64(100), int64(200)},
			"SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"},
		{"top-up scan in chunks", scanWeekAfterChunkSQL(), []any{from, to, int64(100), int64(5000)},
			"SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"},
		{"week's scan in chunks", scanWeekChunkSQL(), []any{from, to},
			"SEARCH t USING COVERING INDEX transcripts_sampling (ended_at>? AND ended_at<?)"},
		{"late chats probe", hasTranscriptsAfterSQL(dialectSQLite), []any{int64(100), from, to},
			"SEARCH transcripts USING INTEGER PRIMARY KEY (rowid>?)"},
		// The picks of a week, and retention's candidates in their order,
		// from picks_week alone: no table, no transcripts, no sort.
		{"PickedInWeekAfter", pickedInWeekSQL(" AND transcript_id > ?"), []any{from, to, int64(100)},
			"SEARCH picks USING COVERING INDEX picks_week (ended_at>? AND ended_at<?)"},
		{"PickedInWeek", pickedInWeekSQL(""), []any{from, to},
			"SEARCH picks USING COVERING INDEX picks_week (ended_at>? AND ended_at<?)"},
		{"retention candidates", purgeCandidatesSQL, []any{from, int64(5), to, 100},
			"SEARCH picks USING COVERING INDEX picks_week (ended_at>? AND ended_at<?)"},
		{"RunBasis", pickedTranscriptsSQL(dialectSQLite, "p.id, p.replaces_id, p.agent_id, p.reason, p.rank", " WHERE p.run_id = ? ORDER BY p.id"), []any{int64(1)},
			"SEARCH p USING INDEX picks_run (run_id=?)\nSEARCH t USING COVERING INDEX transcripts_sampling (ended_at=?)"},
		{"queue", pickSelect + " WHERE p.inspector_id = ? AND p.status = ? ORDER BY p.id", []any{"qa-1", "assigned"},
			"SEARCH p USING INDEX picks_queue (inspector_id=? AND status=?)"},
		{"queue page of a week", pickSelect + " WHERE p.inspector_id = ? AND p.status = ? AND p.run_id IN (SELECT id FROM sampling_runs WHERE week = ?) AND p.id > ? ORDER BY p.id LIMIT 101",
			[]any{"qa-1", "assigned", "2026-W47", 5}, "SEARCH p USING INDEX picks_queue (inspector_id=? AND status=? AND rowid>?)"},
		{"workload", workloadSQL, nil, "SEARCH picks USING INDEX picks_open (status=?)"},
		{"review history", "SELECT " + reviewColumns + " FROM reviews r WHERE r.inspector_id = ? AND r.status IN ('final', 'retracted') AND r.id < ? ORDER BY r.id DESC LIMIT 101",
			[]any{"qa-1", 5}, "SEARCH r USING INDEX reviews_inspector (inspector_id=? AND id<?)"},
		{"week's picks", pickSelect + " WHERE p.run_id IN (SELECT id FROM sampling_runs WHERE week = ?) ORDER BY p.id", []any{"2026-W47"},
			"USING INDEX picks_run (run_id=?)"},
		{"rotation", recentInspectorsSQL, []any{"a1", 3},
			"SEARCH picks USING INDEX picks_agent (agent_id=?)"},
	}
	for _, tc := range cases {
		plan := queryPlan(t, s, tc.query, tc.args...)
		if !strings.Contains(plan, tc.want) {
			t.Errorf("%s: plan\n%s\nlacks %q", tc.name, plan, tc.want)
		}
		if strings.Contains(plan, "SCAN t\n") || strings.HasSuffix(plan, "SCAN t") || strings.Contains(plan, "SCAN transcripts") {
			t.Errorf("%s: plan scans transcripts in full:\n%s", tc.name, plan)
		}
	}
	// Retention reads its candidates in the index's order, a batch at a
	// time: a sort would read every pick up to the cutoff for each batch.
	if plan := queryPlan(t, s, purgeCandidatesSQL, from, int64(5), to, 100); strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "MULTI-INDEX") {
		t.Errorf("retention candidates: plan\n%s\nsorts or merges; want one range of picks_week in order", plan)
	}
}

// TestPostgresScanWeekPlan checks on a year of (analysed) rows that
// PostgreSQL reads one week through the (ended_at, agent_id) index rather
// than the whole table.
func TestPostgresScanWeekPlan(t *testing.T) {
	t.Parallel()
	s := newPostgres(t)
	ctx := t.Context()
	year := benchWeek.AddDate(-1, 0, 0)
	// A year of minimal rows, a thousand a week, written by the server.
	_, err := s.w.ExecContext(ctx, `INSERT INTO agents (agent_id, created_at, updated_at) VALUES ('a1', 0, 0);
		INSERT INTO transcripts (started_at, ended_at, handle_ms, revision, ingested_at, updated_at, transfer_count,
			message_count, agent_message_count, customer_message_count, bot_message_count, system_message_count,
			agent_reply_count, external_id, agent_id, channel, customer_id, customer_tier, content_hash, body)
		SELECT e - 60000, e, 60000, 1, 0, 0, 0, 2, 1, 1, 0, 0, 1, 'x' || g, 'a1', 'web', 'c', '', '\x00', '\x00'
		FROM generate_series(1, 60000) g, LATERAL (SELECT `+fmt.Sprint(year.UnixMilli())+` + g::BIGINT * 604800 AS e) t;
		ANALYZE transcripts`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.QueryContext(ctx, "EXPLAIN "+scanWeekSQL(dialectPostgres, store.ScanOptions{}), benchWeek.UnixMilli(), benchWeek.AddDate(0, 0, 7).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "transcripts_ended_agent") || strings.Contains(text, "Seq Scan") {
		t.Errorf("ScanWeek plan does not range over transcripts_ended_agent:\n%s", text)
	}
	n := 0
	if err := s.ScanWeek(ctx, benchWeek, benchWeek.AddDate(0, 0, 7), store.ScanOptions{}, func(store.SampleRow) error { n++; return nil }); err != nil || n != 1000 {
		t.Errorf("ScanWeek read %d rows, %v; want 1000", n, err)
	}
	// A top-up reads the key range after its basis, not the week.
	var after []string
	if err := s.r.SelectContext(ctx, &after, "EXPLAIN "+scanWeekAfterSQL(dialectPostgres, store.ScanOptions{}),
		benchWeek.UnixMilli(), benchWeek.AddDate(0, 0, 7).UnixMilli(), 59_900, 60_000); err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(after, "\n"); !strings.Contains(text, "transcripts_pkey") || strings.Contains(text, "transcripts_ended_agent") {
		t.Errorf("ScanWeekAfter plan does not read the key range alone:\n%s", text)
	}
}

// TestSQLiteCreateRunTwoStores and TestPostgresCreateRunTwoStores race
// two Store handles on one database, as two processes or replicas would:
// one run is created, both get it, and only one completes it.
func TestSQLiteCreateRunTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qa.db")
	a, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	b, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	raceTwoStores(t, a, b)
}

func TestPostgresCreateRunTwoStores(t *testing.T) {
	t.Parallel()
	dsn := pgSchemaDSN(t)
	a, err := Open(t.Context(), dsn, Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	b, err := Open(t.Context(), dsn, Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	raceTwoStores(t, a, b)
}

func raceTwoStores(t *testing.T, a, b *Store) {
	ctx := t.Context()
	if err := a.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	var items []*transcript.Prepared
	for i := range 10 {
		items = append(items, transcript.Prepare(transcript.Transcript{
			ExternalID: fmt.Sprintf("c%d", i), AgentID: "a1", Channel: "web",
			StartedAt: benchWeek.Add(time.Hour), EndedAt: benchWeek.Add(time.Duration(i+2) * time.Hour),
		}))
	}
	if _, err := a.UpsertTranscripts(ctx, items); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		week := fmt.Sprintf("2026-W%02d", 10+round)
		type result struct {
			run     store.Run
			created bool
			done    error
		}
		results := make(chan result, 8)
		var wg sync.WaitGroup
		for i := range 8 {
			st := []*Store{a, b}[i%2]
			wg.Go(func() {
				r, created, err := st.CreateRun(ctx, store.Run{Week: week, PolicyVersion: 1, Seed: []byte{byte(i)}, Trigger: "schedule"})
				if err != nil {
					t.Errorf("CreateRun: %v", err)
					return
				}
				// Each replica then tries to finish the run with the same
				// picks; the (transcript, agent) key and the claim on the
				// run let one through.
				_, err = st.CompleteRun(ctx, r.ID, []store.Pick{{ExternalID: fmt.Sprintf("c%d", round*2), AgentID: "a1", Reason: "random"}, {ExternalID: fmt.Sprintf("c%d", round*2+1), AgentID: "a1", Reason: "random"}}, 0)
				results <- result{r, created, err}
			})
		}
		wg.Wait()
		close(results)
		created, completed := 0, 0
		var id int64
		for r := range results {
			if r.created {
				created++
			}
			if id == 0 {
				id = r.run.ID
			} else if r.run.ID != id {
				t.Errorf("%s: runs %d and %d for one key", week, id, r.run.ID)
			}
			switch {
			case r.done == nil:
				completed++
			case !errors.Is(r.done, store.ErrConflict):
				t.Errorf("%s: CompleteRun: %v", week, r.done)
			}
		}
		if created != 1 || completed != 1 {
			t.Errorf("%s: created %d times, completed %d times; want 1 and 1", week, created, completed)
		}
		picks, err := b.ListPicks(ctx, store.PickFilter{Week: week})
		if err != nil || len(picks) != 2 {
			t.Errorf("%s: %d picks, %v; want 2", week, len(picks), err)
		}
	}
}

// TestMigrationBackfillsSecondaryAgents migrates a database that already
// holds transfers to the sampling schema and checks that ScanWeek sees
// their secondary authors, which migration 3 copies from
// transcript_agents.
func TestMigrationBackfillsSecondaryAgents(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testBackfill(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); testBackfill(t, newPostgres(t)) })
}

func testBackfill(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.EnsureAgents(ctx, []string{"a1", "a2", "a3"}); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, helpers ...string) *transcript.Prepared {
		tr := transcript.Transcript{ExternalID: id, AgentID: "a1", Channel: "web",
			StartedAt: benchWeek.Add(time.Hour), EndedAt: benchWeek.Add(2 * time.Hour)}
		for i, h := range helpers {
			tr.Messages = append(tr.Messages, transcript.Message{Role: transcript.RoleAgent, AgentID: h, Text: "hi",
				SentAt: benchWeek.Add(time.Hour + time.Duration(i)*time.Minute)})
		}
		return transcript.Prepare(tr)
	}
	if _, err := s.UpsertTranscripts(ctx, []*transcript.Prepared{mk("t0"), mk("t1", "a3"), mk("t2", "a3", "a2")}); err != nil {
		t.Fatal(err)
	}
	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatalf("migrate down to 2: %v", err)
	}
	var n int
	if err := s.r.GetContext(ctx, &n, "SELECT COUNT(*) FROM transcript_agents"); err != nil || n != 3 {
		t.Fatalf("transcript_agents at version 2: %d rows, %v", n, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	got := map[string][]string{}
	err = s.ScanWeek(ctx, benchWeek, benchWeek.AddDate(0, 0, 7), store.ScanOptions{}, func(r store.SampleRow) error {
		got[r.ExternalID] = r.AgentIDs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// a1 wrote in none of them: t0 has no agent message and counts for its
	// owner as ever, the others for their writers only (migration 8).
	want := map[string][]string{"t0": {"a1"}, "t1": {"a3"}, "t2": {"a2", "a3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the backfill ScanWeek authors = %v, want %v", got, want)
	}
}

func TestParseStringArray(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`[]`, nil},
		{`["a"]`, []string{"a"}},
		{`["complaint","退款","a b"]`, []string{"complaint", "退款", "a b"}},
		{`["a2", "a3"]`, []string{"a2", "a3"}}, // PostgreSQL's json_agg
		{`["quo\"te","back\\slash","tab\t","\u001f"]`, []string{`quo"te`, `back\slash`, "tab\t", "\x1f"}},
		{`[ "spaced" ]`, []string{"spaced"}},
		{`[""]`, []string{""}},
	}
	for _, tc := range cases {
		got, err := parseStringArray(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseStringArray(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{`["a"`, `{"a":1}`, `["a",]`, `[1]`, `x`} {
		if got, err := parseStringArray(bad); err == nil {
			t.Errorf("parseStringArray(%s) = %q, want an error", bad, got)
		}
	}
	// Carved from one block, as the scan does: the same results, and
	// appending to one does not overwrite the next.
	var block []string
	var carved [][]string
	for range 300 { // past the first block of 1,024
		for _, tc := range cases {
			got, err := parseStringArrayIn(tc.in, &block)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("parseStringArrayIn(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			carved = append(carved, got)
		}
	}
	for i := range carved {
		carved[i] = append(carved[i], "appended")
	}
	for i, got := range carved {
		if want := append(slices.Clone(cases[i%len(cases)].want), "appended"); !slices.Equal(got, want) {
			t.Fatalf("carved result %d = %q after appends, want %q", i, got, want)
		}
	}
}

func TestSplitRecord(t *testing.T) {
	rec := strings.Join([]string{"ext-1", "a1", `["a2","a3"]`, "web", "vip", `["complaint"]`,
		"2", "3", "-5", "1795046400000", "20", "8", "9", "1"}, "\x1f")
	var f [recFields]string
	var n [recFields]int64
	if err := splitRecord(rec, &f, &n); err != nil {
		t.Fatal(err)
	}
	r, secondary, err := sampleRow(&f, &n)
	if err != nil {
		t.Fatal(err)
	}
	if n[recOwnerWrote] != 1 {
		t.Errorf("owner_wrote = %d, want 1", n[recOwnerWrote])
	}
	want := store.SampleRow{ExternalID: "ext-1", Channel: "web", CustomerTier: "vip", Tags: []string{"complaint"},
		CSAT: 2, TransferCount: 3, HandleTime: -5 * time.Millisecond, EndedAt: fromMillis(1795046400000),
		MessageCount: 20, AgentMessageCount: 8, CustomerMessages: 9}
	if !reflect.DeepEqual(r, want) || f[recAgentID] != "a1" || !slices.Equal(secondary, []string{"a2", "a3"}) {
		t.Errorf("record = %+v, %q, %q", r, f[recAgentID], secondary)
	}
	for _, bad := range []string{
		strings.Repeat("x\x1f", 12) + "x",                                  // too few fields
		strings.Repeat("1\x1f", 14) + "1",                                  // too many
		strings.Repeat("x\x1f", 6) + "1\x1fx" + strings.Repeat("\x1f1", 6), // not a number
	} {
		if err := splitRecord(bad, &f, &n); err == nil {
			t.Errorf("splitRecord(%q) succeeded", bad)
		}
	}
	if _, _, err := sampleRow(&[recFields]string{recTags: "[not json"}, &n); err == nil {
		t.Error("sampleRow accepted broken tags")
	}
}

// Weeks run before week_seeds existed keep their first run's seed, so a
// preview of them and a new policy version's run use it.
func TestMigrationKeepsTheFirstRunsSeed(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSeedBackfill(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); testSeedBackfill(t, newPostgres(t)) })
}

func testSeedBackfill(t *testing.T, s *Store) {
	ctx := t.Context()
	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 6); err != nil {
		t.Fatalf("migrate down to 6: %v", err)
	}
	// The runs are written as schema 6 stored them: today's CreateRun
	// writes columns later migrations added.
	for i, r := range []store.Run{
		{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("first of W47")},
		{Week: "2026-W47", PolicyVersion: 2, Seed: []byte("second of W47")},
		{Week: "2026-W48", PolicyVersion: 2, Seed: []byte("first of W48")},
	} {
		if _, err := s.w.ExecContext(ctx, s.w.Rebind(`INSERT INTO sampling_runs
			(week, policy_version, seed, "trigger", created_at) VALUES (?, ?, ?, 'manual', ?)`),
			r.Week, r.PolicyVersion, r.Seed, int64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	for week, want := range map[string]string{"2026-W47": "first of W47", "2026-W48": "first of W48", "2026-W49": "drawn now"} {
		got, err := s.WeekSeed(ctx, week, []byte("drawn now"), time.Now())
		if err != nil || string(got) != want {
			t.Errorf("WeekSeed(%s) after the migration = %q, %v; want %q", week, got, err, want)
		}
	}
}
