package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"qa-sampling/checks"
	"qa-sampling/internal/pgtest"
	"qa-sampling/isoweek"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

// TestCheckRerunTwoReplicas: two replicas (two checkRerunners, each with
// its own store handle) serve one database. The job runs on one of them
// only; when that one stalls past its lease the other takes the job over
// after the cursor, and the stalled one's next batch is refused and it
// stops. Every conversation is committed once, and done and changed are
// exact. A start for the week joins the running job of the same version
// and is refused for another version. The lease expires on a clock the
// test moves, not by waiting.
func TestCheckRerunTwoReplicas(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testCheckRerunTwoReplicas(t, filepath.Join(t.TempDir(), "qa.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("QA_TEST_POSTGRES_DSN")
		if dsn == "" {
			t.Skip("set QA_TEST_POSTGRES_DSN to run against PostgreSQL")
		}
		testCheckRerunTwoReplicas(t, pgtest.Schema(t, dsn, "server_test_"))
	})
}

func testCheckRerunTwoReplicas(t *testing.T, dsn string) {
	ctx := t.Context()
	open := func() *sqlstore.Store {
		st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{AutoMigrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	st := open()
	weekStart := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	week, _ := isoweek.Parse("2026-W47")
	if err := st.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	v1, err := st.AddCheckSetVersion(ctx, []byte(`{}`), "default")
	if err != nil {
		t.Fatal(err)
	}
	// Nine chats; the new set accepts "在的" as a greeting, so the chats
	// whose agent says it change, the others keep their flags.
	const chats = 9
	var stored []transcript.Transcript
	var prepared []*transcript.Prepared
	for i := range chats {
		end := weekStart.Add(time.Duration(i+1) * time.Hour)
		reply := "在的"
		if i%3 == 0 {
			reply = "稍等"
		}
		tr, p := rerunChat(fmt.Sprintf("r%d", i), end, reply, v1.Version)
		stored, prepared = append(stored, tr), append(prepared, p)
	}
	if _, err := st.UpsertTranscripts(ctx, prepared); err != nil {
		t.Fatal(err)
	}
	set := checks.Default()
	set.GreetingPhrases = append(set.GreetingPhrases, "在的")
	doc, _ := json.Marshal(set)
	v2, err := st.AddCheckSetVersion(ctx, doc, "lead")
	if err != nil {
		t.Fatal(err)
	}
	set.Version = v2.Version
	checker, err := checks.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	var wantChanged int64
	for i := range stored {
		if checker.Run(&stored[i]).Flags != prepared[i].Checks.Flags {
			wantChanged++
		}
	}
	if wantChanged == 0 || wantChanged == chats {
		t.Fatalf("the fixture changes %d of %d chats; want some, not all", wantChanged, chats)
	}
	from, to := week.Bounds(time.UTC)
	// A job no replica holds, as a process before this one released it.
	job, err := st.CreateCheckRerun(ctx, store.CheckRerun{Week: week.String(), From: from, To: to, CheckVersion: v2.Version, CreatedBy: "lead"})
	if err != nil {
		t.Fatal(err)
	}

	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	const lease = time.Hour // the serve loops' own look every lease/3 never comes within the test

	var mu sync.Mutex
	committed := map[int64][]string{} // id -> the replicas that committed it
	// Each replica stalls before its second batch until the test resumes
	// it: the holder so that its lease runs out, the one taking over so
	// that the holder wakes up while the job is still running.
	stalled := make(chan string, 2)
	resume := map[string]chan struct{}{"qad-a": make(chan struct{}), "qad-b": make(chan struct{})}
	var resumeOnce sync.Map
	wake := func(name string) {
		once, _ := resumeOnce.LoadOrStore(name, &sync.Once{})
		once.(*sync.Once).Do(func() { close(resume[name]) })
	}
	newReplica := func(name string) *checkRerunner {
		st := open()
		batches := 0
		return &checkRerunner{store: st, book: &checkBook{store: st, now: time.Now}, stats: &checkStats{}, log: slog.New(slog.DiscardHandler),
			owner: name, lease: lease, now: now, batch: 2,
			beforeSave: func(int64, []int64) {
				batches++ // one run at a time per replica here
				if batches == 2 {
					stalled <- name
					<-resume[name]
				}
			},
			saved: func(_ int64, ids []int64) {
				mu.Lock()
				defer mu.Unlock()
				for _, id := range ids {
					committed[id] = append(committed[id], name)
				}
			},
		}
	}
	replicas := map[string]*checkRerunner{"qad-a": newReplica("qad-a"), "qad-b": newReplica("qad-b")}
	serveCtx, stop := context.WithCancel(ctx)
	var served sync.WaitGroup
	for _, r := range replicas {
		served.Go(func() { r.serve(serveCtx) })
	}
	defer func() {
		wake("qad-a") // should the test end early
		wake("qad-b")
		stop()
		served.Wait()
	}()
	wait := func(what string, c <-chan string) string {
		t.Helper()
		select {
		case v := <-c:
			return v
		case <-time.After(30 * time.Second): // a hang guard, not a timing assert
			t.Fatalf("gave up waiting for %s", what)
			return ""
		}
	}
	// Both replicas looked for free jobs at start; one holds the job and
	// stalls after its first batch.
	holderName := wait("a replica to take the job", stalled)
	holder := replicas[holderName]
	var other *checkRerunner
	for name, r := range replicas {
		if name != holderName {
			other = r
		}
	}
	other.adopt(ctx) // the lease is live: nothing to take
	got, err := st.GetCheckRerun(ctx, job.ID)
	if err != nil || got.Owner != holderName || got.Done != 2 || got.Status != store.CheckRerunRunning {
		t.Fatalf("the job while %s holds it: %+v, %v", holderName, got, err)
	}
	mu.Lock()
	if len(committed) != 2 {
		t.Errorf("committed while one replica holds the job: %v", committed)
	}
	mu.Unlock()

	// A start for the week joins the running job; under a newer set it is
	// refused, naming the running job.
	if joined, err := other.start(ctx, week, "lead"); err != nil || joined.ID != job.ID {
		t.Errorf("start while the week's job runs: %+v, %v; want job %d joined", joined, err, job.ID)
	}
	set.GreetingPhrases = append(set.GreetingPhrases, "来了")
	doc3, _ := json.Marshal(set)
	if _, err := st.AddCheckSetVersion(ctx, doc3, "lead"); err != nil {
		t.Fatal(err)
	}
	_, err = other.start(ctx, week, "lead")
	var busy *rerunBusyError
	if !errors.As(err, &busy) || busy.running.ID != job.ID || !strings.Contains(err.Error(), fmt.Sprintf("check re-run %d of week 2026-W47", job.ID)) {
		t.Errorf("start under a newer set while the week's job runs: %v", err)
	}

	// The holder stays stalled past its lease: the other replica takes the
	// job over after the cursor, commits a batch and stalls in turn.
	clock.Add(int64(lease + time.Second))
	other.adopt(ctx)
	if name := wait("the other replica's second batch", stalled); name != other.owner {
		t.Fatalf("%s stalled, want %s", name, other.owner)
	}
	// The holder wakes up with the batch it read before: refused, and it
	// stops without failing the job.
	wake(holderName)
	stopped := make(chan string)
	go func() {
		for {
			holder.mu.Lock()
			running := holder.running[job.ID]
			holder.mu.Unlock()
			if !running {
				stopped <- ""
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	wait("the stalled replica to stop", stopped)
	if got, err := st.GetCheckRerun(ctx, job.ID); err != nil || got.Status != store.CheckRerunRunning || got.Owner != other.owner || got.Done != 4 {
		t.Fatalf("the job after the old holder's batch: %+v, %v; want running, %s's, 4 done", got, err, other.owner)
	}
	wake(other.owner)
	done := make(chan string)
	go func() {
		for {
			j, err := st.GetCheckRerun(ctx, job.ID)
			if err != nil || j.Status != store.CheckRerunRunning {
				done <- fmt.Sprint(j.Status, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if s := wait("the other replica to finish the job", done); s != string(store.CheckRerunDone)+"<nil>" {
		t.Fatalf("the job after the takeover: %s", s)
	}

	final, err := st.GetCheckRerun(ctx, job.ID)
	if err != nil || final.Status != store.CheckRerunDone || final.Done != chats || final.Total != chats || final.Changed != wantChanged ||
		final.Owner != other.owner || final.Error != "" {
		t.Errorf("the job at the end: %+v, %v; want done %d of %d, %d changed, by %s", final, err, chats, chats, wantChanged, other.owner)
	}
	ids, err := st.RecheckIDs(ctx, from, to, 0)
	if err != nil || len(ids) != chats {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	mu.Lock()
	for _, id := range ids {
		if by := committed[id]; len(by) != 1 {
			t.Errorf("chat %d committed by %v; want exactly one replica", id, by)
		}
	}
	if len(committed) != chats {
		t.Errorf("committed %d chats, want %d: %v", len(committed), chats, committed)
	}
	mu.Unlock()
	for i, tr := range stored {
		got, err := st.GetTranscript(ctx, tr.ExternalID)
		if err != nil {
			t.Fatal(err)
		}
		if want := checker.Run(&stored[i]); got.Checks.Version != v2.Version || got.Checks.Flags != want.Flags {
			t.Errorf("%s: %+v; want version %d, flags %b", tr.ExternalID, got.Checks, v2.Version, want.Flags)
		}
	}
	events, err := st.ListAudit(ctx, store.AuditFilter{Entity: "check_rerun"})
	if err != nil {
		t.Fatal(err)
	}
	var takeovers, finished int
	for _, e := range events {
		switch e.Action {
		case "checks.rerun.takeover":
			takeovers++
			if !strings.Contains(e.Detail, `"from":"`+holderName+`"`) {
				t.Errorf("takeover event %+v does not name %s", e, holderName)
			}
		case "checks.rerun.done":
			finished++
		}
	}
	if takeovers != 1 || finished != 1 {
		t.Errorf("audit: %d takeovers and %d done, want 1 and 1: %+v", takeovers, finished, events)
	}
}
