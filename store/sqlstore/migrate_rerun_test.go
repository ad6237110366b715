package sqlstore

import (
	"testing"
	"time"

	"qa-sampling/store"
)

// TestMigrationOneRunningRerunPerWeek: a database from before the re-run
// lease (schema 19) holding two running re-runs of one week, as two
// replicas could start them then, migrates to one running re-run a week
// (migration 20's unique index would refuse the second): the newest keeps
// running, free for any replica to claim, the older is failed with the
// reason; another week's job and a finished one are untouched. Down and
// up again on both backends.
func TestMigrationOneRunningRerunPerWeek(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testMigrationReruns(t, newSQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testMigrationReruns(t, newPostgres(t))
	})
}

func testMigrationReruns(t *testing.T, s *Store) {
	ctx := t.Context()
	v, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "lead")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.provider()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 19); err != nil {
		t.Fatalf("migrate down to 19: %v", err)
	}
	insert := func(week, status string) (int64, error) {
		var id int64
		err := s.w.GetContext(ctx, &id, s.w.Rebind(`INSERT INTO check_reruns (week, from_ms, to_ms, check_version, status,
			total, created_by, created_at, updated_at) VALUES (?, 0, 1, ?, ?, 10, 'lead', 1, 1) RETURNING id`), week, v.Version, status)
		return id, err
	}
	jobs := []struct{ week, status string }{{"2026-W47", "running"}, {"2026-W47", "running"}, {"2026-W48", "running"}, {"2026-W47", "done"}}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		if ids[i], err = insert(j.week, j.status); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate up: %v", err)
	}
	want := map[int64]store.CheckRerunStatus{ids[0]: store.CheckRerunFailed, ids[1]: store.CheckRerunRunning,
		ids[2]: store.CheckRerunRunning, ids[3]: store.CheckRerunDone}
	for id, status := range want {
		j, err := s.GetCheckRerun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != status || j.Owner != "" || !j.LeaseUntil.IsZero() {
			t.Errorf("re-run %d after the migration: %s, owner %q, lease %v; want %s and free", id, j.Status, j.Owner, j.LeaseUntil, status)
		}
		if (status == store.CheckRerunFailed) != (j.Error != "") {
			t.Errorf("re-run %d: error %q", id, j.Error)
		}
	}
	// The surviving job can be claimed and a second one for its week is
	// refused.
	if _, err := s.ClaimCheckRerun(ctx, ids[1], store.RerunLease{Owner: "r1", At: s.now(), Until: s.now().Add(time.Minute)}); err != nil {
		t.Errorf("claiming the week's surviving re-run: %v", err)
	}
	if _, err := insert("2026-W47", "running"); err == nil {
		t.Error("a second running re-run of 2026-W47 was stored")
	}
}
