package storetest

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

func init() {
	checkTests = append(checkTests, []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CountCheckFlags", testCountCheckFlags},
		{"CheckRerunAndReviewedChecks", testCheckRerun},
		{"CheckRerunLeavesChatsPushedSince", testCheckRerunPushedSince},
	}...)
}

// testCountCheckFlags: a range's conversations grouped by author and
// flags; a transfer counts for each agent who wrote; unchecked apart.
func testCountCheckFlags(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2")
	at := func(h int) time.Time { return weekFrom.Add(time.Duration(h) * time.Hour) }
	with := func(tr transcript.Transcript, version int64, flags uint64) *transcript.Prepared {
		p := prepare(tr)
		p.Checks = transcript.Checks{Version: version, Flags: flags}
		return p
	}
	transfer := ending("t1", "a1", at(5))
	transfer.Messages[6].AgentID = "a2"
	upsert(t, s,
		with(ending("c1", "a1", at(1)), 1, 0b100),
		with(ending("c2", "a1", at(2)), 1, 0b100),
		with(ending("c3", "a1", at(3)), 2, 0),
		prepare(ending("c4", "a1", at(4))), // never checked
		with(transfer, 2, 0b110),
		with(ending("c5", "a2", at(6)), 2, 0b1),
		with(ending("late", "a1", weekTo), 2, 0b100), // the next week
	)
	got, err := s.CountCheckFlags(t.Context(), weekFrom, weekTo)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b store.CheckFlagCount) int {
		if c := strings.Compare(a.AgentID, b.AgentID); c != 0 {
			return c
		}
		if a.Checked != b.Checked {
			if a.Checked {
				return 1
			}
			return -1
		}
		return int(a.Flags) - int(b.Flags)
	})
	want := []store.CheckFlagCount{
		{AgentID: "a1", Flags: 0, Checked: false, Chats: 1},
		{AgentID: "a1", Flags: 0, Checked: true, Chats: 1},
		{AgentID: "a1", Flags: 0b100, Checked: true, Chats: 2},
		{AgentID: "a1", Flags: 0b110, Checked: true, Chats: 1},
		{AgentID: "a2", Flags: 0b1, Checked: true, Chats: 1},
		{AgentID: "a2", Flags: 0b110, Checked: true, Chats: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountCheckFlags =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := s.CountCheckFlags(t.Context(), weekFrom.AddDate(0, 0, -7), weekFrom); err != nil || len(got) != 0 {
		t.Errorf("an empty week: %+v, %v", got, err)
	}
}

// testCheckRerun: a re-run job over a week stores new checks batch by
// batch with its cursor, is audited, and the agreement rows read the
// final reviews with their conversations' flags.
func testCheckRerun(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-2"))
	fin := e.finalOf(ps["c1"], "qa-1", 80, "B")
	e.finalize(fin, store.Feedback{})
	e.saveDraft(e.draftOf(ps["c2"], "qa-1")) // a draft counts for nothing
	fin2 := e.finalOf(ps["d1"], "qa-2", 40, "F")
	e.finalize(fin2, store.Feedback{})
	if _, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "default"); err != nil {
		t.Fatal(err)
	}
	v2, err := s.AddCheckSetVersion(ctx, []byte(`{"v":2}`), "lead")
	if err != nil {
		t.Fatal(err)
	}

	rows, err := s.ReviewedChecks(ctx, week47, week47)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].ExternalID != "c1" || rows[1].ExternalID != "d1" || rows[0].CheckVersion != 0 ||
		rows[0].Week != week47 || rows[1].AgentID != "a2" || len(rows[0].Ratings) != 5 ||
		rows[0].Ratings[0].Key != "greeting" || rows[0].Ratings[0].Value != 4 || rows[0].Ratings[0].Max != 5 || !rows[0].Ratings[2].NA {
		t.Fatalf("ReviewedChecks before any check = %+v", rows)
	}

	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: weekFrom, To: weekTo, CheckVersion: v2.Version, CreatedBy: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	if job.ID == 0 || job.Status != store.CheckRerunRunning || job.Total != 3 || job.Done != 0 || job.Cursor != 0 || job.CreatedBy != "lead" {
		t.Fatalf("CreateCheckRerun = %+v", job)
	}
	ids, err := s.RecheckIDs(ctx, weekFrom, weekTo, 0)
	if err != nil || len(ids) != 3 || !slices.IsSorted(ids) {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	targets, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[0], ids[1])
	if err != nil || len(targets) != 2 || targets[0].ID != ids[0] || len(targets[0].Transcript.Messages) != 7 ||
		targets[0].Transcript.Messages[4].Text != "您好，我帮您查一下" || targets[1].Transcript.Channel != "web" {
		t.Fatalf("RecheckTargets = %+v, %v", targets, err)
	}
	hits := []transcript.CheckHit{{Check: "no_greeting", Message: 4}}
	var results []store.RecheckResult
	for _, tg := range targets {
		results = append(results, store.RecheckResult{ID: tg.ID, Revision: tg.Revision, Checks: transcript.Checks{Version: v2.Version, Flags: 0b100, Hits: hits}})
	}
	job, err = s.SaveRecheck(ctx, job.ID, results, ids[1], 2, false)
	if err != nil || job.Cursor != ids[1] || job.Done != 2 || job.Changed != 2 || job.Status != store.CheckRerunRunning {
		t.Fatalf("SaveRecheck = %+v, %v", job, err)
	}
	if running, err := s.ListCheckReruns(ctx, true, 10); err != nil || len(running) != 1 || running[0].ID != job.ID {
		t.Fatalf("ListCheckReruns(running) = %+v, %v", running, err)
	}
	// Taken up again after the cursor: one left.
	rest, err := s.RecheckIDs(ctx, weekFrom, weekTo, job.Cursor)
	if err != nil || !reflect.DeepEqual(rest, ids[2:]) {
		t.Fatalf("RecheckIDs after the cursor = %v, %v", rest, err)
	}
	lastRead, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[2], ids[2])
	if err != nil || len(lastRead) != 1 {
		t.Fatalf("RecheckTargets = %+v, %v", lastRead, err)
	}
	last := []store.RecheckResult{{ID: ids[2], Revision: lastRead[0].Revision, Checks: transcript.Checks{Version: v2.Version}}}
	job, err = s.SaveRecheck(ctx, job.ID, last, ids[2], 0, true)
	if err != nil || job.Status != store.CheckRerunDone || job.Done != 3 || job.FinishedAt.IsZero() {
		t.Fatalf("finishing SaveRecheck = %+v, %v", job, err)
	}
	if _, err := s.SaveRecheck(ctx, job.ID, nil, ids[2], 0, true); err == nil {
		t.Error("SaveRecheck on a finished job succeeded")
	}
	if got, err := s.GetCheckRerun(ctx, job.ID); err != nil || !reflect.DeepEqual(got, job) {
		t.Errorf("GetCheckRerun = %+v, %v; want %+v", got, err, job)
	}
	if _, err := s.GetCheckRerun(ctx, job.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCheckRerun(unknown) = %v", err)
	}
	c1, err := s.GetTranscript(ctx, targets[0].Transcript.ExternalID)
	if err != nil || c1.Checks.Version != v2.Version || c1.Checks.Flags != 0b100 || !reflect.DeepEqual(c1.Checks.Hits, hits) {
		t.Errorf("a re-checked transcript: %+v, %v", c1.Checks, err)
	}
	rows, err = s.ReviewedChecks(ctx, week47, week47)
	if err != nil {
		t.Fatal(err)
	}
	byExt := map[string]store.ReviewedChecks{}
	for _, r := range rows {
		byExt[r.ExternalID] = r
	}
	if byExt["c1"].CheckVersion != v2.Version || byExt["c1"].CheckFlags != 0b100 || byExt["d1"].CheckVersion != v2.Version {
		t.Errorf("ReviewedChecks after the re-run = %+v", rows)
	}
	if rows, err := s.ReviewedChecks(ctx, "2026-W48", "2026-W50"); err != nil || len(rows) != 0 {
		t.Errorf("ReviewedChecks of other weeks = %+v, %v", rows, err)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{Entity: "check_rerun"})
	if err != nil || len(events) != 2 || events[0].Action != "checks.rerun" || events[0].Actor != "lead" ||
		events[1].Action != "checks.rerun.done" || !strings.Contains(events[1].Detail, `"done":3`) {
		t.Errorf("audit = %+v, %v", events, err)
	}

	failing, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: weekFrom, To: weekTo, CheckVersion: v2.Version, CreatedBy: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailCheckRerun(ctx, failing.ID, "check set version 2: bad"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCheckRerun(ctx, failing.ID); got.Status != store.CheckRerunFailed || got.Error != "check set version 2: bad" {
		t.Errorf("failed job = %+v", got)
	}
	if all, err := s.ListCheckReruns(ctx, false, 10); err != nil || len(all) != 2 || all[0].ID != failing.ID {
		t.Errorf("ListCheckReruns = %+v, %v", all, err)
	}
}

// testCheckRerunPushedSince: a re-run's results for a chat pushed again
// with new content after the re-run read it are not written: ingest
// checked the new content, and the old content's hits would point at the
// wrong messages. The chat read and not pushed again takes its results.
func testCheckRerunPushedSince(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "k1", "k2")
	v, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "lead")
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v.Version, CreatedBy: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.RecheckIDs(ctx, weekFrom, weekTo, 0)
	if err != nil || len(ids) != 2 {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	targets, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[0], ids[1])
	if err != nil || len(targets) != 2 || targets[1].Transcript.ExternalID != "k2" {
		t.Fatalf("RecheckTargets = %+v, %v", targets, err)
	}
	// k2 is pushed again, changed, and checked at ingest meanwhile.
	changed := ending("k2", "a1", weekFrom.Add(2*time.Hour))
	changed.Messages[len(changed.Messages)-1].Text += "，再见"
	p := prepare(changed)
	p.Checks = transcript.Checks{Version: v.Version, Flags: 0b10, Hits: []transcript.CheckHit{{Check: "slow_reply", Message: 3}}}
	if out := upsert(t, s, p); out[0] != store.Updated {
		t.Fatalf("re-push of k2: %v, want updated", out[0])
	}
	stale := transcript.Checks{Version: v.Version, Flags: 0b100, Hits: []transcript.CheckHit{{Check: "no_greeting", Message: 1}}}
	var results []store.RecheckResult
	for _, tg := range targets {
		results = append(results, store.RecheckResult{ID: tg.ID, Revision: tg.Revision, Checks: stale})
	}
	if _, err := s.SaveRecheck(ctx, job.ID, results, ids[1], 2, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetTranscript(ctx, "k2"); err != nil || !reflect.DeepEqual(got.Checks, p.Checks) {
		t.Errorf("k2 after the re-run: %+v, %v; want the checks of its new content %+v", got.Checks, err, p.Checks)
	}
	if got, err := s.GetTranscript(ctx, "k1"); err != nil || !reflect.DeepEqual(got.Checks, stale) {
		t.Errorf("k1 after the re-run: %+v, %v; want the re-run's %+v", got.Checks, err, stale)
	}
}
