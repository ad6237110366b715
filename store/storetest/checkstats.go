package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
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
		{"CheckCountsFollowPushesReruns", testCheckCountsFollowPushesReruns},
		{"CheckCountsOutliveRetention", testCheckCountsOutliveRetention},
		{"CheckRerunAndReviewedChecks", testCheckRerun},
		{"CheckRerunLeavesChatsPushedSince", testCheckRerunPushedSince},
		{"CheckRerunLease", testCheckRerunLease},
		{"CheckRerunChangedSkipsRepushed", testCheckRerunChangedSkipsRepushed},
	}...)
}

// checkedAs is tr prepared with the checks of version that fired flags.
func checkedAs(tr transcript.Transcript, version int64, flags uint64) *transcript.Prepared {
	p := prepare(tr)
	p.Checks = transcript.Checks{Version: version, Flags: flags}
	return p
}

// testCountCheckFlags: a range's conversations grouped by author, check
// set version and flags; a transfer counts for each agent who wrote;
// unchecked under version 0.
func testCountCheckFlags(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2")
	at := func(h int) time.Time { return weekFrom.Add(time.Duration(h) * time.Hour) }
	transfer := ending("t1", "a1", at(5))
	transfer.Messages[6].AgentID = "a2"
	upsert(t, s,
		checkedAs(ending("c1", "a1", at(1)), 1, 0b100),
		checkedAs(ending("c2", "a1", at(2)), 1, 0b100),
		checkedAs(ending("c3", "a1", at(3)), 2, 0),
		prepare(ending("c4", "a1", at(4))), // never checked
		checkedAs(transfer, 2, 0b110),
		checkedAs(ending("c5", "a2", at(6)), 2, 0b1),
		checkedAs(ending("late", "a1", weekTo), 2, 0b100), // the next week
	)
	got, err := s.CountCheckFlags(t.Context(), weekFrom, weekTo)
	if err != nil {
		t.Fatal(err)
	}
	sortCounts(got)
	want := []store.CheckFlagCount{
		{AgentID: "a1", Version: 0, Flags: 0, Chats: 1},
		{AgentID: "a1", Version: 1, Flags: 0b100, Chats: 2},
		{AgentID: "a1", Version: 2, Flags: 0, Chats: 1},
		{AgentID: "a1", Version: 2, Flags: 0b110, Chats: 1},
		{AgentID: "a2", Version: 2, Flags: 0b1, Chats: 1},
		{AgentID: "a2", Version: 2, Flags: 0b110, Chats: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CountCheckFlags =\n%+v\nwant\n%+v", got, want)
	}
	if got, err := s.CountCheckFlags(t.Context(), weekFrom.AddDate(0, 0, -7), weekFrom); err != nil || len(got) != 0 {
		t.Errorf("an empty week: %+v, %v", got, err)
	}
}

// sortCounts orders counts by agent, version and flags.
func sortCounts(c []store.CheckFlagCount) {
	slices.SortFunc(c, func(a, b store.CheckFlagCount) int {
		return cmp.Or(strings.Compare(a.AgentID, b.AgentID), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Flags, b.Flags))
	})
}

// countsOf returns the sorted counts of [from, to).
func countsOf(t *testing.T, s store.Store, from, to time.Time) []store.CheckFlagCount {
	t.Helper()
	got, err := s.CountCheckFlags(t.Context(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	sortCounts(got)
	return got
}

// checkCountsWorld stores, in the week, k1 and k2 of a1 under version 1,
// n1 of a1 never checked, t1 that a1 handed over to a2 (both wrote), t2
// that a1 owns but only a2 wrote in, and x1 of a1 in the next week.
func checkCountsWorld(t *testing.T, s store.Store) {
	mustUpsertAgents(t, s, "a1", "a2")
	at := func(m int) time.Time { return weekFrom.Add(time.Duration(m) * time.Minute) }
	t1 := ending("t1", "a1", at(100))
	t1.Messages[6].AgentID = "a2"
	t2 := ending("t2", "a1", at(200))
	for i := range t2.Messages {
		if t2.Messages[i].Role == transcript.RoleAgent {
			t2.Messages[i].AgentID = "a2"
		}
	}
	upsert(t, s,
		checkedAs(ending("k1", "a1", at(10)), 1, 0b100),
		checkedAs(ending("k2", "a1", at(20)), 1, 0),
		prepare(ending("n1", "a1", at(30))),
		checkedAs(t1, 1, 0b10),
		checkedAs(t2, 1, 0b1),
		checkedAs(ending("x1", "a1", weekTo.Add(time.Hour)), 1, 0b100),
	)
}

// testCheckCountsFollowPushesReruns: a chat pushed again with changed
// content is counted under its new version and flags only, and a re-run
// moves the week's chats to the re-run's version.
func testCheckCountsFollowPushesReruns(t *testing.T, s store.Store) {
	ctx := t.Context()
	checkCountsWorld(t, s)
	want := []store.CheckFlagCount{
		{AgentID: "a1", Version: 0, Flags: 0, Chats: 1},
		{AgentID: "a1", Version: 1, Flags: 0, Chats: 1},
		{AgentID: "a1", Version: 1, Flags: 0b10, Chats: 1},
		{AgentID: "a1", Version: 1, Flags: 0b100, Chats: 1},
		{AgentID: "a2", Version: 1, Flags: 0b1, Chats: 1},
		{AgentID: "a2", Version: 1, Flags: 0b10, Chats: 1},
	}
	if got := countsOf(t, s, weekFrom, weekTo); !reflect.DeepEqual(got, want) {
		t.Fatalf("counts =\n%+v\nwant\n%+v", got, want)
	}
	// k2 changed and checked under version 2, where it fires slow_reply.
	k2 := ending("k2", "a1", weekFrom.Add(20*time.Minute))
	k2.Messages[len(k2.Messages)-1].Text += "，再见"
	p := prepare(k2)
	p.Checks = transcript.Checks{Version: 2, Flags: 0b10}
	if out := upsert(t, s, p); out[0] != store.Updated {
		t.Fatalf("re-push of k2: %v", out[0])
	}
	want = []store.CheckFlagCount{
		{AgentID: "a1", Version: 0, Flags: 0, Chats: 1},
		{AgentID: "a1", Version: 1, Flags: 0b10, Chats: 1},
		{AgentID: "a1", Version: 1, Flags: 0b100, Chats: 1},
		{AgentID: "a1", Version: 2, Flags: 0b10, Chats: 1},
		{AgentID: "a2", Version: 1, Flags: 0b1, Chats: 1},
		{AgentID: "a2", Version: 1, Flags: 0b10, Chats: 1},
	}
	if got := countsOf(t, s, weekFrom, weekTo); !reflect.DeepEqual(got, want) {
		t.Fatalf("counts after the re-push =\n%+v\nwant\n%+v", got, want)
	}
	// A re-run under version 3 that fires nothing.
	var v3 int64
	for v := range 3 {
		got, err := s.AddCheckSetVersion(ctx, fmt.Appendf(nil, `{"v":%d}`, v+1), "lead")
		if err != nil {
			t.Fatal(err)
		}
		v3 = got.Version
	}
	held := heldFor("r1", time.Hour)
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v3, CreatedBy: "lead",
		Owner: held.Owner, LeaseUntil: held.Until})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.RecheckIDs(ctx, weekFrom, weekTo, 0)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[0], ids[len(ids)-1])
	if err != nil || len(targets) != 5 {
		t.Fatalf("RecheckTargets = %d, %v", len(targets), err)
	}
	var results []store.RecheckResult
	for _, tg := range targets {
		results = append(results, store.RecheckResult{ID: tg.ID, Revision: tg.Revision, Checks: transcript.Checks{Version: v3}})
	}
	if _, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, Results: results, Cursor: ids[len(ids)-1], Finish: true}); err != nil {
		t.Fatal(err)
	}
	want = []store.CheckFlagCount{
		{AgentID: "a1", Version: v3, Flags: 0, Chats: 4},
		{AgentID: "a2", Version: v3, Flags: 0, Chats: 2},
	}
	if got := countsOf(t, s, weekFrom, weekTo); !reflect.DeepEqual(got, want) {
		t.Errorf("counts after the re-run =\n%+v\nwant\n%+v", got, want)
	}
	next := []store.CheckFlagCount{{AgentID: "a1", Version: 1, Flags: 0b100, Chats: 1}}
	if got := countsOf(t, s, weekTo, weekTo.AddDate(0, 0, 7)); !reflect.DeepEqual(got, next) {
		t.Errorf("the next week's counts = %+v, want %+v", got, next)
	}
}

// testCheckCountsOutliveRetention: the week's chats deleted by retention,
// in batches, leave the counts of the week, and of part of it, as they
// were (a transfer for each author who wrote, never checked apart); a
// later week is untouched.
func testCheckCountsOutliveRetention(t *testing.T, s store.Store) {
	ctx := t.Context()
	checkCountsWorld(t, s)
	ranges := [][2]time.Time{
		{weekFrom, weekTo},
		{weekFrom.Add(15 * time.Minute), weekFrom.Add(105 * time.Minute)}, // k2 and t1
		{weekTo, weekTo.AddDate(0, 0, 7)},
	}
	before := make([][]store.CheckFlagCount, len(ranges))
	for i, r := range ranges {
		before[i] = countsOf(t, s, r[0], r[1])
	}
	if len(before[1]) != 4 || len(before[0]) != 6 {
		t.Fatalf("counts before: %+v", before)
	}
	removed, _ := drainRetention(t, 2, func(after store.RetentionCursor, limit int) (store.RetentionBatch, error) {
		return s.DeleteUnsampledTranscripts(ctx, after, weekTo, limit)
	})
	if removed != 5 {
		t.Fatalf("retention removed %d, want the week's 5 chats", removed)
	}
	if _, err := s.GetTranscript(ctx, "t1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("t1 after retention: %v", err)
	}
	for i, r := range ranges {
		if got := countsOf(t, s, r[0], r[1]); !reflect.DeepEqual(got, before[i]) {
			t.Errorf("counts of [%v, %v) after retention =\n%+v\nbefore\n%+v", r[0], r[1], got, before[i])
		}
	}
	// A second pass deletes nothing and counts nothing twice.
	drainRetention(t, 10, func(after store.RetentionCursor, limit int) (store.RetentionBatch, error) {
		return s.DeleteUnsampledTranscripts(ctx, after, weekTo, limit)
	})
	if got := countsOf(t, s, weekFrom, weekTo); !reflect.DeepEqual(got, before[0]) {
		t.Errorf("counts after a second pass = %+v, want %+v", got, before[0])
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
	finC1, _ := e.finalize(fin, store.Feedback{})
	e.saveDraft(e.draftOf(ps["c2"], "qa-1")) // a draft counts for nothing
	fin2 := e.finalOf(ps["d1"], "qa-2", 40, "F")
	finD1, _ := e.finalize(fin2, store.Feedback{})
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
	// When each was finalised: check_disagreement counts those finalised
	// before a run.
	if !rows[0].FinalizedAt.Equal(finC1.FinalizedAt) || !rows[1].FinalizedAt.Equal(finD1.FinalizedAt) || rows[0].FinalizedAt.IsZero() {
		t.Errorf("ReviewedChecks FinalizedAt %s, %s; want the reviews' %s, %s", rows[0].FinalizedAt, rows[1].FinalizedAt,
			finC1.FinalizedAt, finD1.FinalizedAt)
	}

	held := heldFor("r1", time.Hour)
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: weekFrom, To: weekTo, CheckVersion: v2.Version, CreatedBy: "lead",
		Owner: held.Owner, LeaseUntil: held.Until})
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
	job, err = s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, Results: results, Cursor: ids[1]})
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
	job, err = s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, After: ids[1], Results: last, Cursor: ids[2], Finish: true})
	if err != nil || job.Status != store.CheckRerunDone || job.Done != 3 || job.FinishedAt.IsZero() {
		t.Fatalf("finishing SaveRecheck = %+v, %v", job, err)
	}
	if _, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, After: ids[2], Cursor: ids[2], Finish: true}); err == nil {
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

	failing, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: "2026-W47", From: weekFrom, To: weekTo, CheckVersion: v2.Version, CreatedBy: "lead",
		Owner: held.Owner, LeaseUntil: held.Until})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailCheckRerun(ctx, failing.ID, held.Owner, "check set version 2: bad"); err != nil {
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
	held := heldFor("r1", time.Hour)
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v.Version, CreatedBy: "lead",
		Owner: held.Owner, LeaseUntil: held.Until})
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
	if _, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, Results: results, Cursor: ids[1], Finish: true}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetTranscript(ctx, "k2"); err != nil || !reflect.DeepEqual(got.Checks, p.Checks) {
		t.Errorf("k2 after the re-run: %+v, %v; want the checks of its new content %+v", got.Checks, err, p.Checks)
	}
	if got, err := s.GetTranscript(ctx, "k1"); err != nil || !reflect.DeepEqual(got.Checks, stale) {
		t.Errorf("k1 after the re-run: %+v, %v; want the re-run's %+v", got.Checks, err, stale)
	}
}

// testCheckRerunChangedSkipsRepushed: a re-run's changed count holds only
// the chats whose stored flags its batch changed: not one pushed again
// between the batch's read and its commit (skipped: ingest checked the new
// content), nor one whose flags come out as stored.
func testCheckRerunChangedSkipsRepushed(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "k1", "k2", "k3")
	v, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "lead")
	if err != nil {
		t.Fatal(err)
	}
	held := heldFor("r1", time.Minute)
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v.Version, CreatedBy: "lead",
		Owner: held.Owner, LeaseUntil: held.Until})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.RecheckIDs(ctx, weekFrom, weekTo, 0)
	if err != nil || len(ids) != 3 {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	targets, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[0], ids[2])
	if err != nil || len(targets) != 3 || targets[1].Transcript.ExternalID != "k2" {
		t.Fatalf("RecheckTargets = %+v, %v", targets, err)
	}
	// k2 is pushed again after the batch was read.
	again := ending("k2", "a1", weekFrom.Add(2*time.Hour))
	again.Messages[0].Text += " (edited)"
	if got := upsert(t, s, prepare(again)); got[0] != store.Updated {
		t.Fatalf("pushing k2 again: %v", got)
	}
	pushed, err := s.GetTranscript(ctx, "k2")
	if err != nil {
		t.Fatal(err)
	}
	results := []store.RecheckResult{
		{ID: targets[0].ID, Revision: targets[0].Revision, Checks: transcript.Checks{Version: v.Version, Flags: targets[0].Checks.Flags ^ 0b1}},
		{ID: targets[1].ID, Revision: targets[1].Revision, Checks: transcript.Checks{Version: v.Version, Flags: targets[1].Checks.Flags ^ 0b1}},
		{ID: targets[2].ID, Revision: targets[2].Revision, Checks: transcript.Checks{Version: v.Version, Flags: targets[2].Checks.Flags}},
	}
	job, err = s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, Results: results, Cursor: ids[2], Finish: true})
	if err != nil || job.Status != store.CheckRerunDone || job.Done != 3 || job.Changed != 1 {
		t.Fatalf("SaveRecheck = %+v, %v; want done 3, changed 1 (k1 only)", job, err)
	}
	if got, err := s.GetTranscript(ctx, "k2"); err != nil || got.Checks.Version != pushed.Checks.Version || got.Checks.Flags != pushed.Checks.Flags {
		t.Errorf("k2 after the batch: %+v, %v; want its pushed checks %+v", got.Checks, err, pushed.Checks)
	}
	for i, id := range []string{"k1", "k3"} {
		want := results[2*i].Checks
		if got, err := s.GetTranscript(ctx, id); err != nil || got.Checks.Version != v.Version || got.Checks.Flags != want.Flags {
			t.Errorf("%s after the batch: %+v, %v; want %+v", id, got.Checks, err, want)
		}
	}
}

// heldFor is a lease of owner from now for d.
func heldFor(owner string, d time.Duration) store.RerunLease {
	now := time.Now()
	return store.RerunLease{Owner: owner, At: now, Until: now.Add(d)}
}

// testCheckRerunLease: a running re-run is held by one replica at a time.
// Another cannot claim it while the lease is live; it takes it over once
// the lease has expired (audited) and continues after the cursor; the
// replica that lost it can no longer commit a batch or fail the job, and
// the counts stay exact. One week runs one job; a released job is free
// at once.
func testCheckRerunLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustUpsertAgents(t, s, "a1")
	inWeek(t, s, "a1", "k1", "k2", "k3")
	v, err := s.AddCheckSetVersion(ctx, []byte(`{}`), "lead")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	at := func(owner string, from, until time.Duration) store.RerunLease {
		return store.RerunLease{Owner: owner, At: t0.Add(from), Until: t0.Add(until)}
	}
	job, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v.Version, CreatedBy: "lead",
		Owner: "r1", LeaseUntil: t0.Add(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if job.Owner != "r1" || !job.LeaseUntil.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("CreateCheckRerun = %+v", job)
	}
	if _, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v.Version, CreatedBy: "lead"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second running job for the week: %v, want ErrConflict", err)
	}
	if _, err := s.ClaimCheckRerun(ctx, job.ID, at("r2", 10*time.Second, 40*time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("r2 claimed a job r1 holds: %v", err)
	}
	renewed, err := s.ClaimCheckRerun(ctx, job.ID, at("r1", 10*time.Second, 40*time.Second))
	if err != nil || renewed.Owner != "r1" || !renewed.LeaseUntil.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("r1 renewing its claim: %+v, %v", renewed, err)
	}

	ids, err := s.RecheckIDs(ctx, weekFrom, weekTo, 0)
	if err != nil || len(ids) != 3 {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	targets, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[0], ids[2])
	if err != nil || len(targets) != 3 {
		t.Fatalf("RecheckTargets = %+v, %v", targets, err)
	}
	result := func(i int, flags uint64) []store.RecheckResult {
		return []store.RecheckResult{{ID: targets[i].ID, Revision: targets[i].Revision, Checks: transcript.Checks{Version: v.Version, Flags: flags}}}
	}
	job, err = s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: at("r1", 20*time.Second, 50*time.Second), Results: result(0, 0b1), Cursor: ids[0]})
	if err != nil || job.Done != 1 || job.Changed != 1 || job.Cursor != ids[0] || !job.LeaseUntil.Equal(t0.Add(50*time.Second)) {
		t.Fatalf("r1's first batch: %+v, %v (want the lease renewed to t0+50s)", job, err)
	}
	if _, err := s.ClaimCheckRerun(ctx, job.ID, at("r2", 49*time.Second, 80*time.Second)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("r2 claimed before r1's renewed lease ended: %v", err)
	}

	// r1 stops renewing; at the lease's end r2 takes over after the cursor.
	taken, err := s.ClaimCheckRerun(ctx, job.ID, at("r2", 50*time.Second, 80*time.Second))
	if err != nil || taken.Owner != "r2" || taken.Cursor != ids[0] || taken.Done != 1 || taken.Changed != 1 {
		t.Fatalf("r2 taking over: %+v, %v", taken, err)
	}
	// r1 wakes up with its second batch read: refused, nothing written.
	_, err = s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: at("r1", 60*time.Second, 90*time.Second), After: ids[0], Results: result(1, 0b11), Cursor: ids[1]})
	if !errors.Is(err, store.ErrLeaseLost) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("r1's batch after losing the job: %v, want ErrLeaseLost", err)
	}
	if err := s.FailCheckRerun(ctx, job.ID, "r1", "boom"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("r1 failing a job it lost: %v", err)
	}
	if got, err := s.GetTranscript(ctx, "k2"); err != nil || got.Checks.Version == v.Version {
		t.Errorf("k2 after r1's refused batch: %+v, %v", got.Checks, err)
	}
	if got, err := s.GetCheckRerun(ctx, job.ID); err != nil || got.Status != store.CheckRerunRunning || got.Done != 1 || got.Cursor != ids[0] || got.Owner != "r2" {
		t.Fatalf("the job after r1's refused batch: %+v, %v", got, err)
	}
	// A batch read after a cursor the job has left is refused too.
	if _, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: at("r2", 60*time.Second, 90*time.Second), After: 0, Results: result(0, 0b1), Cursor: ids[0]}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a batch read after an old cursor: %v", err)
	}
	job, err = s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: at("r2", 60*time.Second, 90*time.Second), After: ids[0],
		Results: append(result(1, 0b11), result(2, 0)...), Cursor: ids[2], Finish: true})
	if err != nil || job.Status != store.CheckRerunDone || job.Done != 3 || job.Total != 3 || job.Changed != 2 || job.Cursor != ids[2] || job.Owner != "r2" {
		t.Fatalf("r2 finishing: %+v, %v", job, err)
	}
	for i, want := range []uint64{0b1, 0b11, 0} {
		if got, err := s.GetTranscript(ctx, targets[i].Transcript.ExternalID); err != nil || got.Checks.Version != v.Version || got.Checks.Flags != want {
			t.Errorf("%s: %+v, %v; want flags %b", targets[i].Transcript.ExternalID, got.Checks, err, want)
		}
	}
	if _, err := s.ClaimCheckRerun(ctx, job.ID, at("r3", time.Hour, 2*time.Hour)); !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("claiming a finished job: %v, want ErrConflict (not ErrLeaseLost)", err)
	}
	if _, err := s.ClaimCheckRerun(ctx, job.ID+100, at("r3", time.Hour, 2*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claiming an unknown job: %v", err)
	}

	// The week is free again; a job released at shutdown is free at once.
	next, err := s.CreateCheckRerun(ctx, store.CheckRerun{Week: week47, From: weekFrom, To: weekTo, CheckVersion: v.Version, CreatedBy: "lead",
		Owner: "r3", LeaseUntil: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatalf("a new job once the week's job is done: %v", err)
	}
	if err := s.ReleaseCheckRerun(ctx, next.ID, "r4"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimCheckRerun(ctx, next.ID, at("r4", time.Hour, 2*time.Hour)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a release by a replica not holding the job freed it: %v", err)
	}
	if err := s.ReleaseCheckRerun(ctx, next.ID, "r3"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClaimCheckRerun(ctx, next.ID, at("r4", time.Hour, 2*time.Hour)); err != nil || got.Owner != "r4" {
		t.Errorf("claiming a released job: %+v, %v", got, err)
	}
	events, err := s.ListAudit(ctx, store.AuditFilter{Entity: "check_rerun"})
	if err != nil {
		t.Fatal(err)
	}
	var takeovers []store.AuditEvent
	for _, e := range events {
		if e.Action == "checks.rerun.takeover" {
			takeovers = append(takeovers, e)
		}
	}
	if len(takeovers) != 1 || takeovers[0].EntityID != strconv.FormatInt(job.ID, 10) || !strings.Contains(takeovers[0].Detail, `"owner":"r2"`) ||
		!strings.Contains(takeovers[0].Detail, `"from":"r1"`) || !strings.Contains(takeovers[0].Detail, `"done":1`) {
		t.Errorf("takeover audit = %+v (all: %+v)", takeovers, events)
	}
}
