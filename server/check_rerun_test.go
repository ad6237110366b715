package server

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"qa-sampling/checks"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

// TestCheckRerunContinuesAfterARestart: a job that a previous process
// left running half done (its first batch stored with the cursor) is
// taken up when the next one serves, continues after the cursor, and
// leaves every chat of the week under the new version, none outside it.
func TestCheckRerunContinuesAfterARestart(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	week := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	if err := st.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	v1, err := st.AddCheckSetVersion(ctx, []byte(`{}`), "default")
	if err != nil {
		t.Fatal(err)
	}
	var chats []*transcript.Prepared
	for i := range 5 {
		end := week.Add(time.Duration(i+1) * time.Hour)
		if i == 4 {
			end = week.AddDate(0, 0, 7).Add(time.Hour) // the next week
		}
		_, p := rerunChat("c"+string(rune('0'+i)), end, "在的", v1.Version)
		chats = append(chats, p)
	}
	if _, err := st.UpsertTranscripts(ctx, chats); err != nil {
		t.Fatal(err)
	}
	set := checks.Default()
	set.GreetingPhrases = append(set.GreetingPhrases, "在的")
	doc, _ := json.Marshal(set)
	v2, err := st.AddCheckSetVersion(ctx, doc, "lead")
	if err != nil {
		t.Fatal(err)
	}
	from, to := week, week.AddDate(0, 0, 7)
	// The previous process held the job until it died, a lease ago.
	gone := store.RerunLease{Owner: "qad-before", At: time.Now().Add(-time.Minute), Until: time.Now().Add(-time.Second)}
	job, err := st.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: from, To: to, CheckVersion: v2.Version, CreatedBy: "lead",
		Owner: gone.Owner, LeaseUntil: gone.Until})
	if err != nil {
		t.Fatal(err)
	}
	// The previous process stored the first two chats and stopped.
	ids, err := st.RecheckIDs(ctx, from, to, 0)
	if err != nil || len(ids) != 4 {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	read, err := st.RecheckTargets(ctx, from, to, ids[0], ids[1])
	if err != nil || len(read) != 2 {
		t.Fatalf("RecheckTargets = %+v, %v", read, err)
	}
	first := []store.RecheckResult{{ID: ids[0], Revision: read[0].Revision, Checks: transcript.Checks{Version: v2.Version, Flags: 0b1000}},
		{ID: ids[1], Revision: read[1].Revision, Checks: transcript.Checks{Version: v2.Version, Flags: 0b1000}}}
	if _, err := st.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: gone, Results: first, Cursor: ids[1]}); err != nil {
		t.Fatal(err)
	}

	r := &checkRerunner{store: st, book: &checkBook{store: st, now: time.Now}, stats: &checkStats{}, log: slog.New(slog.DiscardHandler),
		owner: "qad-after", now: time.Now}
	serveCtx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { r.serve(serveCtx); close(served) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := st.GetCheckRerun(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.CheckRerunRunning {
			if got.Status != store.CheckRerunDone || got.Done != 4 || got.Total != 4 || got.Changed != 4 || got.Cursor != ids[3] || got.Owner != "qad-after" {
				t.Errorf("the job after the restart: %+v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job was not taken up: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	<-served
	for i, p := range chats {
		got, err := st.GetTranscript(ctx, p.ExternalID)
		if err != nil {
			t.Fatal(err)
		}
		want := v2.Version
		if i == 4 {
			want = v1.Version // not in the week
		}
		if got.Checks.Version != want {
			t.Errorf("%s: check version %d, want %d", p.ExternalID, got.Checks.Version, want)
		}
		if i == 2 || i == 3 { // checked by the restarted job: a greeting now, still no closing
			if got.Checks.Flags != 0b1000 || len(got.Checks.Hits) != 1 || got.Checks.Hits[0].Check != checks.NoClosing {
				t.Errorf("%s: %+v", p.ExternalID, got.Checks)
			}
		}
	}
}

// rerunChat is a short chat of agent a1 ending at end whose agent answers
// reply, stored as checked by version with no greeting and no closing.
func rerunChat(id string, end time.Time, reply string, version int64) (transcript.Transcript, *transcript.Prepared) {
	tr := transcript.Transcript{ExternalID: id, AgentID: "a1", Channel: "chat", CustomerID: "u", CustomerTier: "regular",
		StartedAt: end.Add(-time.Minute), EndedAt: end, Messages: []transcript.Message{
			{Role: transcript.RoleCustomer, Text: "在吗", SentAt: end.Add(-time.Minute)},
			{Role: transcript.RoleAgent, AgentID: "a1", Text: reply, SentAt: end.Add(-50 * time.Second)},
		}}
	p := transcript.Prepare(tr)
	p.Checks = transcript.Checks{Version: version, Flags: 0b1100} // no greeting, no closing
	return tr, p
}

// flakySaves is a store whose SaveRecheck first asks fail, which may
// return an error in its place (a lock conflict the store gave up on).
type flakySaves struct {
	Storage
	mu    sync.Mutex
	calls int
	fail  func(call int) error
}

func (f *flakySaves) SaveRecheck(ctx context.Context, id int64, b store.RecheckBatch) (store.CheckRerun, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if err := f.fail(n); err != nil {
		return store.CheckRerun{}, err
	}
	return f.Storage.SaveRecheck(ctx, id, b)
}

// rerunWeek stores four chats of a week checked by a first check set, adds
// a second that greets with their reply, and creates a job for the week
// under it that no live replica holds.
func rerunWeek(t *testing.T) (*sqlstore.Store, store.CheckRerun, []*transcript.Prepared, int64) {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	week := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	if err := st.EnsureAgents(ctx, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	v1, err := st.AddCheckSetVersion(ctx, []byte(`{}`), "default")
	if err != nil {
		t.Fatal(err)
	}
	var chats []*transcript.Prepared
	for i := range 4 {
		_, p := rerunChat("c"+string(rune('0'+i)), week.Add(time.Duration(i+1)*time.Hour), "在的", v1.Version)
		chats = append(chats, p)
	}
	if _, err := st.UpsertTranscripts(ctx, chats); err != nil {
		t.Fatal(err)
	}
	set := checks.Default()
	set.GreetingPhrases = append(set.GreetingPhrases, "在的")
	doc, _ := json.Marshal(set)
	v2, err := st.AddCheckSetVersion(ctx, doc, "lead")
	if err != nil {
		t.Fatal(err)
	}
	job, err := st.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: week, To: week.AddDate(0, 0, 7), CheckVersion: v2.Version,
		CreatedBy: "lead", Owner: "qad-before", LeaseUntil: time.Now().Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return st, job, chats, v2.Version
}

// serveUntilEnded serves r until job is no longer running and returns it.
func serveUntilEnded(t *testing.T, r *checkRerunner, st store.Store, id int64) store.CheckRerun {
	t.Helper()
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan struct{})
	go func() { r.serve(ctx); close(served) }()
	defer func() { stop(); <-served }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := st.GetCheckRerun(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.CheckRerunRunning {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not end: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCheckRerunRetriesABatchAfterALockConflict: a batch whose commit
// fails on a transient lock conflict (a PostgreSQL deadlock with ingest)
// is read again after the committed cursor, checked and committed; the
// job completes with exact counts, and a chat pushed again meanwhile is
// checked at its new revision, not skipped.
func TestCheckRerunRetriesABatchAfterALockConflict(t *testing.T) {
	ctx := t.Context()
	st, job, chats, v2 := rerunWeek(t)
	flaky := &flakySaves{Storage: st, fail: func(call int) error {
		if call != 2 {
			return nil
		}
		// Ingest pushes c3 again, and the batch's commit deadlocks with it.
		tr := chats[3].Transcript
		tr.Messages[0].Text = "在吗？"
		p := transcript.Prepare(tr)
		p.Checks = chats[3].Checks
		if _, err := st.UpsertTranscripts(ctx, []*transcript.Prepared{p}); err != nil {
			t.Error(err)
		}
		return fmt.Errorf("deadlock detected (SQLSTATE 40P01): %w", store.ErrTransient)
	}}
	r := &checkRerunner{store: flaky, book: &checkBook{store: st, now: time.Now}, stats: &checkStats{}, log: slog.New(slog.DiscardHandler),
		owner: "qad-after", now: time.Now, batch: 2}
	got := serveUntilEnded(t, r, st, job.ID)
	if got.Status != store.CheckRerunDone || got.Done != 4 || got.Total != 4 || got.Changed != 4 || got.Error != "" {
		t.Errorf("the job: %+v; want done 4 of 4, changed 4", got)
	}
	if flaky.calls != 3 {
		t.Errorf("%d commits tried, want 3 (two batches, one again)", flaky.calls)
	}
	for _, p := range chats {
		c, err := st.GetTranscript(ctx, p.ExternalID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Checks.Version != v2 || c.Checks.Flags != 0b1000 {
			t.Errorf("%s: %+v; want checked by version %d, no closing only", p.ExternalID, c.Checks, v2)
		}
	}
}

// TestCheckRerunFailsOnceRetriesRunOut: a batch that keeps failing on a
// lock conflict fails the job after rerunAttempts tries, with the reason;
// nothing of it is counted.
func TestCheckRerunFailsOnceRetriesRunOut(t *testing.T) {
	st, job, _, _ := rerunWeek(t)
	flaky := &flakySaves{Storage: st, fail: func(int) error {
		return fmt.Errorf("deadlock detected (SQLSTATE 40P01): %w", store.ErrTransient)
	}}
	r := &checkRerunner{store: flaky, book: &checkBook{store: st, now: time.Now}, stats: &checkStats{}, log: slog.New(slog.DiscardHandler),
		owner: "qad-after", now: time.Now, batch: 2}
	got := serveUntilEnded(t, r, st, job.ID)
	if got.Status != store.CheckRerunFailed || got.Done != 0 || got.Changed != 0 || !strings.Contains(got.Error, "40P01") {
		t.Errorf("the job: %+v; want failed with the conflict, nothing done", got)
	}
	if flaky.calls != rerunAttempts {
		t.Errorf("%d commits tried, want %d", flaky.calls, rerunAttempts)
	}
}
