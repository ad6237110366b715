package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// TestMigrationBackfillsPickExternalIDs: a database at schema 23, whose
// picks do not keep their transcript's external id, holding picks of a run
// and one written as a schema-23 binary wrote it, migrates to picks that
// do (migration 24), read back by PickedInWeek from the picks alone; and
// down again restores schema 23's index. On both backends.
func TestMigrationBackfillsPickExternalIDs(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testPickExternalIDBackfill(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testPickExternalIDBackfill(t, newPostgres(t))
	})
}

func testPickExternalIDBackfill(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := s.EnsureAgents(ctx, []string{"a1", "a2"}); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, end time.Duration) *transcript.Prepared {
		return transcript.Prepare(transcript.Transcript{ExternalID: id, AgentID: "a1", Channel: "web",
			StartedAt: benchWeek.Add(end - time.Minute), EndedAt: benchWeek.Add(end)})
	}
	// t1 and t2 end at the same instant.
	if _, err := s.UpsertTranscripts(ctx, []*transcript.Prepared{mk("t1", time.Hour), mk("t2", time.Hour),
		mk("t3", 2*time.Hour), mk("t4", 3*time.Hour), mk("next-week", 8*24*time.Hour)}); err != nil {
		t.Fatal(err)
	}
	run, _, err := s.CreateRun(ctx, store.Run{Week: "2026-W47", PolicyVersion: 1, Seed: []byte("seed"), Trigger: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{
		{ExternalID: "t2", AgentID: "a1", Reason: "random", Rank: 1},
		{ExternalID: "t2", AgentID: "a2", Reason: "random", Rank: 1},
		{ExternalID: "t3", AgentID: "a1", Reason: "csat", Rank: 2},
		{ExternalID: "next-week", AgentID: "a1", Reason: "random", Rank: 3},
	}, 0); err != nil {
		t.Fatal(err)
	}

	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 23); err != nil {
		t.Fatalf("migrate down to 23: %v", err)
	}
	checkPickIndexes(t, s, "at schema 23", "picks_ended")
	// A pick as a schema-23 binary writes it: no external id.
	oldInsert := func(externalID string, rank int) {
		t.Helper()
		if _, err := s.w.ExecContext(ctx, s.w.Rebind(`INSERT INTO picks (run_id, transcript_id, agent_id, ended_at, reason, rank, hash_key,
			inspector_id, status, skip_reason, replaces_id, created_at, updated_at)
			SELECT ?, id, 'a2', ended_at, 'random', ?, 0, NULL, 'pool', '', NULL, 1, 1 FROM transcripts WHERE external_id = ?`), run.ID, rank, externalID); err != nil {
			t.Fatal(err)
		}
	}
	oldInsert("t4", 4)

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	checkPickIndexes(t, s, "after migration 24", "picks_week")
	var rows []struct {
		ExternalID string `db:"external_id"`
		AgentID    string `db:"agent_id"`
	}
	if err := s.r.SelectContext(ctx, &rows, "SELECT external_id, agent_id FROM picks ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	wantRows := []struct{ ext, agent string }{{"t2", "a1"}, {"t2", "a2"}, {"t3", "a1"}, {"next-week", "a1"}, {"t4", "a2"}}
	if len(rows) != len(wantRows) {
		t.Fatalf("picks after the migration = %+v, want %v", rows, wantRows)
	}
	for i, w := range wantRows {
		if rows[i].ExternalID != w.ext || rows[i].AgentID != w.agent {
			t.Errorf("pick %d after the migration = %+v, want external id %q of %s", i, rows[i], w.ext, w.agent)
		}
	}
	want := map[[2]string]bool{{"t2", "a1"}: true, {"t2", "a2"}: true, {"t3", "a1"}: true, {"t4", "a2"}: true}
	if got, err := s.PickedInWeek(ctx, benchWeek, benchWeek.AddDate(0, 0, 7)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PickedInWeek after the migration = %v, %v; want %v", got, err, want)
	}

	// A schema-23 binary still running beside this one (a rolling upgrade
	// on PostgreSQL; a downgrade on SQLite) inserts without the column:
	// the trigger fills it in.
	oldInsert("t1", 5)
	want[[2]string{"t1", "a2"}] = true
	if got, err := s.PickedInWeek(ctx, benchWeek, benchWeek.AddDate(0, 0, 7)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PickedInWeek after an old binary's pick = %v, %v; want %v", got, err, want)
	}

	// Down and up again.
	if _, err := p.DownTo(ctx, 23); err != nil {
		t.Fatalf("migrate down to 23 again: %v", err)
	}
	checkPickIndexes(t, s, "down again", "picks_ended")
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate up again: %v", err)
	}
	if got, err := s.PickedInWeek(ctx, benchWeek, benchWeek.AddDate(0, 0, 7)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("PickedInWeek after down and up = %v, %v; want %v", got, err, want)
	}
}

// checkPickIndexes checks that of picks_ended and picks_week only want
// exists, and that picks has an external_id column exactly when
// picks_week does.
func checkPickIndexes(t *testing.T, s *Store, when, want string) {
	t.Helper()
	ctx := t.Context()
	for _, name := range []string{"picks_ended", "picks_week"} {
		var exists bool
		var err error
		if s.dialect == dialectPostgres {
			err = s.r.GetContext(ctx, &exists, "SELECT to_regclass($1) IS NOT NULL", name)
		} else {
			err = s.r.GetContext(ctx, &exists, "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = ?", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if exists != (name == want) {
			t.Errorf("%s: index %s exists = %v", when, name, exists)
		}
	}
	_, err := s.r.ExecContext(ctx, "SELECT external_id FROM picks LIMIT 1")
	if (err == nil) != (want == "picks_week") {
		t.Errorf("%s: reading picks.external_id: %v", when, err)
	}
}
