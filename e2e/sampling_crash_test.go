package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	_ "modernc.org/sqlite"

	qav1 "qa-sampling/proto/qa/v1"
)

// holdPicks makes every insert into picks hang inside CompleteRun's
// transaction, so that a sampling run is in progress for as long as the
// test needs: SQLite spins on a cross join, PostgreSQL sleeps. release
// removes it.
var holdPicks = map[string]struct{ hold, release []string }{
	"sqlite": {
		hold: []string{`CREATE TRIGGER e2e_hold_picks BEFORE INSERT ON picks BEGIN
			SELECT RAISE(ABORT, 'held') WHERE (SELECT count(*) FROM transcripts a, transcripts b, transcripts c, transcripts d, transcripts e) < 0;
			END`},
		release: []string{"DROP TRIGGER e2e_hold_picks"},
	},
	"postgres": {
		hold: []string{
			`CREATE FUNCTION e2e_hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(600); RETURN NULL; END $$`,
			"CREATE TRIGGER e2e_hold_picks BEFORE INSERT ON picks FOR EACH STATEMENT EXECUTE FUNCTION e2e_hold()",
		},
		release: []string{"DROP TRIGGER e2e_hold_picks ON picks", "DROP FUNCTION e2e_hold()"},
	},
}

// TestKilledSamplingRunCompletesAfterRestart kills qad (SIGKILL) in the
// middle of a sampling run, restarts it and runs the week again: the run
// is completed at once with the run's seed, its picks stored once, rather
// than the call waiting for the dead run to go stale.
func TestKilledSamplingRunCompletesAfterRestart(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver := b.dsn, "sqlite"
			if b.name == "postgres" {
				// The killed run's statement, asleep in the trigger, is
				// cancelled once its server process sees the client gone,
				// as a real statement would end on its own.
				dsn, driver = dsn+"&client_connection_check_interval=200", "pgx"
			}
			srv := startServer(t, dsn, "--sample-schedule", "off")
			admin := srv.token("admin", "lead")
			loadSTAR(t, srv, srv.token("ingest", "bridge"))
			for _, id := range []string{"insp-1", "insp-2"} {
				if out, errOut, code := srv.qactl(admin, "inspector", "add", id, "--name", id); code != 0 {
					t.Fatalf("inspector add: %s %s", out, errOut)
				}
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = db.Close() }()
			for _, q := range holdPicks[b.name].hold {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}

			conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			ctx, cancel := context.WithCancel(withToken(context.Background(), admin))
			defer cancel()
			go func() {
				_, _ = qav1.NewSamplingServiceClient(conn).RunWeek(ctx, &qav1.RunWeekRequest{Week: "2020-W20"})
			}()
			// The run exists once CreateRun committed; its picks cannot be
			// written while the trigger holds, so it is mid-run.
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				var n int
				if err := db.QueryRow("SELECT count(*) FROM sampling_runs WHERE week = '2020-W20'").Scan(&n); err == nil && n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the run was never created; log:\n%s", srv.log.String())
				}
			}
			srv.kill()
			for _, q := range holdPicks[b.name].release {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var incomplete int
			if err := db.QueryRow("SELECT count(*) FROM sampling_runs WHERE completed_at IS NULL").Scan(&incomplete); err != nil || incomplete != 1 {
				t.Fatalf("after the kill: %d incomplete runs (%v), want the one killed mid-way", incomplete, err)
			}

			srv.start()
			// qactl's deadline (30 s) is far below the two minutes after
			// which the old code took a dead run over.
			out, errOut, code := srv.qactl(admin, "--json", "sample", "run", "--week", "2020-W20")
			if code != 0 {
				t.Fatalf("sample run after the restart: %d %s %s", code, out, errOut)
			}
			var resp struct {
				Run struct {
					ID          string `json:"id"`
					Picks       int    `json:"picks"`
					CompletedAt string `json:"completed_at"`
				} `json:"run"`
			}
			if err := json.Unmarshal([]byte(out), &resp); err != nil {
				t.Fatalf("run %q: %v", out, err)
			}
			if resp.Run.CompletedAt == "" || resp.Run.Picks == 0 {
				t.Fatalf("run after the restart: %s; want it complete with picks", out)
			}
			out, _, _ = srv.qactl(admin, "--json", "sample", "list", "--week", "2020-W20")
			picks := parsePicks(t, out)
			seen := map[[2]string]bool{}
			for _, p := range picks {
				k := [2]string{p.ExternalID, p.AgentID}
				if seen[k] {
					t.Fatalf("%s picked twice for %s", p.ExternalID, p.AgentID)
				}
				seen[k] = true
			}
			if len(picks) != resp.Run.Picks {
				t.Fatalf("%d picks listed, the run counts %d", len(picks), resp.Run.Picks)
			}
			if !strings.Contains(srv.log.String(), "completing an unfinished sampling run") {
				t.Errorf("the restarted server did not log taking the run over; log:\n%s", srv.log.String())
			}
		})
	}
}
