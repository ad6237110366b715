package sqlstore

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// TestPostgresRecheckSurvivesADeadlockWithAPush: a re-run batch that
// deadlocks with a push (the batch holds the first chat's row and waits
// for the second, the push holds the second and waits for the first)
// still commits: PostgreSQL aborts one side (SQLSTATE 40P01) and the
// batch's transaction is run again. Its changed count holds only the
// chats it actually changed: none if the push won (both were pushed again
// and keep the push's flags), both if the push was the one aborted.
func TestPostgresRecheckSurvivesADeadlockWithAPush(t *testing.T) {
	t.Parallel()
	if os.Getenv(pgEnv) == "" {
		t.Skipf("PostgreSQL tests skipped: set %s", pgEnv)
	}
	s := newPostgres(t)
	ctx := t.Context()
	if err := s.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	var chats []*transcript.Prepared
	for i, id := range []string{"d1", "d2"} {
		at := benchWeek.Add(time.Duration(i+1) * time.Hour)
		p := transcript.Prepare(transcript.Transcript{ExternalID: id, AgentID: "a1", Channel: "web",
			StartedAt: at, EndedAt: at.Add(time.Minute), Messages: []transcript.Message{
				{Role: transcript.RoleCustomer, Text: "在吗", SentAt: at},
				{Role: transcript.RoleAgent, Text: "您好", SentAt: at.Add(time.Minute)}}})
		p.Checks = transcript.Checks{Version: 1, Flags: 0b10}
		chats = append(chats, p)
	}
	if _, err := s.UpsertTranscripts(ctx, chats); err != nil {
		t.Fatal(err)
	}
	v, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "lead")
	if err != nil {
		t.Fatal(err)
	}
	from, to := benchWeek, benchWeek.AddDate(0, 0, 7)
	held := store.RerunLease{Owner: "r1", At: time.Now(), Until: time.Now().Add(time.Minute)}
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: from, To: to, CheckVersion: v.Version, CreatedBy: "lead",
		Owner: held.Owner, LeaseUntil: held.Until})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.RecheckIDs(ctx, from, to, 0)
	if err != nil || len(ids) != 2 {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	targets, err := s.RecheckTargets(ctx, from, to, ids[0], ids[1])
	if err != nil || len(targets) != 2 {
		t.Fatalf("RecheckTargets = %+v, %v", targets, err)
	}
	var results []store.RecheckResult
	for _, tg := range targets {
		results = append(results, store.RecheckResult{ID: tg.ID, Revision: tg.Revision, Checks: transcript.Checks{Version: v.Version, Flags: 0b1}})
	}

	// The push holds the second chat.
	push, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = push.Rollback() }()
	if _, err := push.ExecContext(ctx, "UPDATE transcripts SET check_flags = 7, revision = revision + 1 WHERE id = $1", ids[1]); err != nil {
		t.Fatal(err)
	}
	var xid string
	if err := push.GetContext(ctx, &xid, `SELECT transactionid::text FROM pg_locks
		WHERE pid = pg_backend_pid() AND locktype = 'transactionid' AND granted`); err != nil {
		t.Fatal(err)
	}
	type saved struct {
		job store.CheckRerun
		err error
	}
	done := make(chan saved, 1)
	go func() {
		j, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, Results: results, Cursor: ids[1], Finish: true})
		done <- saved{j, err}
	}()
	// The batch has locked the first chat and waits for the second.
	for waiting := 0; waiting == 0; {
		select {
		case r := <-done:
			t.Fatalf("the batch ended without waiting for the push: %+v, %v", r.job, r.err)
		case <-time.After(20 * time.Millisecond):
		}
		if err := s.r.GetContext(ctx, &waiting, `SELECT count(*) FROM pg_locks
			WHERE locktype = 'transactionid' AND transactionid::text = $1 AND NOT granted`, xid); err != nil {
			t.Fatal(err)
		}
	}
	// The push now wants the first chat: a deadlock.
	pushWon := true
	_, err = push.ExecContext(ctx, "UPDATE transcripts SET check_flags = 7, revision = revision + 1 WHERE id = $1", ids[0])
	var pe *pgconn.PgError
	switch {
	case err == nil:
		if err := push.Commit(); err != nil {
			t.Fatal(err)
		}
	case errors.As(err, &pe) && pe.Code == pgDeadlockDetected:
		pushWon = false
		_ = push.Rollback()
	default:
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("the batch after a deadlock with a push: %v", r.err)
	}
	t.Logf("deadlock resolved; the push won: %v", pushWon)
	wantChanged, wantFlags := int64(2), uint64(0b1)
	if pushWon {
		wantChanged, wantFlags = 0, 0b111
	}
	if r.job.Status != store.CheckRerunDone || r.job.Done != 2 || r.job.Changed != wantChanged {
		t.Errorf("the job: %+v; want done 2, changed %d (push won: %v)", r.job, wantChanged, pushWon)
	}
	for _, p := range chats {
		if got, err := s.GetTranscript(ctx, p.ExternalID); err != nil || got.Checks.Flags != wantFlags {
			t.Errorf("%s: %+v, %v; want flags %b", p.ExternalID, got.Checks, err, wantFlags)
		}
	}
}
