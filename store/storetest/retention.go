package storetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// retentionTests cover RetentionStore; Run adds them to its list.
var retentionTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"RetentionUnsampled", testRetentionUnsampled},
	{"RetentionReviewed", testRetentionReviewed},
}

// drainRetention calls remove from the zero cursor until the range is
// exhausted, in batches of limit, and returns the total removed and the
// batches' Waiting, earliest first.
func drainRetention(t *testing.T, limit int, remove func(after store.RetentionCursor, limit int) (store.RetentionBatch, error)) (int, time.Time) {
	t.Helper()
	var cur store.RetentionCursor
	removed := 0
	var waiting time.Time
	for range 100 {
		b, err := remove(cur, limit)
		if err != nil {
			t.Fatalf("retention batch after %+v: %v", cur, err)
		}
		if b.Examined > limit || b.Removed > b.Examined {
			t.Fatalf("batch %+v over limit %d", b, limit)
		}
		if b.Examined == 0 {
			if b.Next != cur {
				t.Errorf("an exhausted range moved the cursor from %+v to %+v", cur, b.Next)
			}
			return removed, waiting
		}
		advanced := b.Next.EndedAt.After(cur.EndedAt) || b.Next.EndedAt.Equal(cur.EndedAt) && b.Next.ID > cur.ID
		if !advanced {
			t.Fatalf("cursor did not advance: %+v → %+v", cur, b.Next)
		}
		removed += b.Removed
		if !b.Waiting.IsZero() && (waiting.IsZero() || b.Waiting.Before(waiting)) {
			waiting = b.Waiting
		}
		cur = b.Next
	}
	t.Fatal("retention never finished")
	return 0, time.Time{}
}

// retentionEvents returns the retention audit events of action and the
// external ids they name, after checking that each counts its ids.
func retentionEvents(t *testing.T, s store.Store, action string) []string {
	t.Helper()
	evs, err := s.ListAudit(t.Context(), store.AuditFilter{Actor: "retention", Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range evs {
		var d struct {
			Count       int      `json:"count"`
			ExternalIDs []string `json:"external_ids"`
		}
		if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
			t.Fatalf("audit detail %s: %v", ev.Detail, err)
		}
		if d.Count != len(d.ExternalIDs) || d.Count == 0 || ev.Entity != "transcripts" {
			t.Errorf("audit event %+v", ev)
		}
		ids = append(ids, d.ExternalIDs...)
	}
	slices.Sort(ids)
	return ids
}

// testRetentionUnsampled: expired chats no run picked are deleted, in
// batches that pass over picked ones; picked, later and calibration chats
// stay; each batch is audited with the ids it deleted.
func testRetentionUnsampled(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("d1", "a2", "random", 1, "qa-2"))
	inWeek(t, s, "a1", "u1", "u2", "u3", "u4", "u5")
	inWeek(t, s, "a2", "v1")
	upsert(t, s, prepare(ending("late", "a1", weekTo.Add(48*time.Hour))))

	cutoff := weekTo
	removed, waiting := drainRetention(t, 2, func(after store.RetentionCursor, limit int) (store.RetentionBatch, error) {
		return s.DeleteUnsampledTranscripts(ctx, after, cutoff, limit)
	})
	if removed != 6 || !waiting.IsZero() {
		t.Errorf("removed %d (waiting %v), want the 6 unpicked chats of the week", removed, waiting)
	}
	for _, id := range []string{"u1", "u2", "u3", "u4", "u5", "v1"} {
		if _, err := s.GetTranscript(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTranscript(%s) after retention = %v, want ErrNotFound", id, err)
		}
	}
	for _, id := range []string{"c1", "d1", "late"} {
		if got, err := s.GetTranscript(ctx, id); err != nil || len(got.Messages) == 0 {
			t.Errorf("GetTranscript(%s) = %v; want it kept whole", id, err)
		}
	}
	if ids := retentionEvents(t, s, "retention.delete_unsampled"); !reflect.DeepEqual(ids, []string{"u1", "u2", "u3", "u4", "u5", "v1"}) {
		t.Errorf("audited deletions %v", ids)
	}
	// Nothing is left to delete: a second pass removes nothing and writes
	// no event.
	if again, _ := drainRetention(t, 100, func(after store.RetentionCursor, limit int) (store.RetentionBatch, error) {
		return s.DeleteUnsampledTranscripts(ctx, after, cutoff, limit)
	}); again != 0 {
		t.Errorf("second pass removed %d", again)
	}
	// A push of a deleted chat's id stores it anew.
	if out := upsert(t, s, prepare(ending("u1", "a1", weekFrom.Add(time.Hour)))); out[0] != store.Created {
		t.Errorf("re-push of a deleted chat: %v, want created", out[0])
	}
}

// testRetentionReviewed: a picked chat is emptied once all its picks are
// closed and unchanged since the cut-off; open picks keep theirs and are
// reported as waiting; the reports read the same before and after; a
// re-push does not bring the content back.
func testRetentionReviewed(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-2"))
	c1 := ps["c1"]
	r, _ := e.finalize(e.finalOf(c1, "qa-1", 80, "good"), store.Feedback{})
	rowsBefore := reportRows(t, s, store.ReportFilter{AgentIDs: []string{"a1", "a2"}, FromWeek: week47, ToWeek: week47})
	if len(rowsBefore) != 1 {
		t.Fatalf("report rows %+v, want c1's review", rowsBefore)
	}
	purge := func(closedBefore time.Time) (int, time.Time) {
		return drainRetention(t, 2, func(after store.RetentionCursor, limit int) (store.RetentionBatch, error) {
			return s.PurgeReviewedTranscripts(ctx, after, closedBefore, limit)
		})
	}
	// Reviewed after the cut-off: not yet due. The open ones wait.
	if n, waiting := purge(r.FinalizedAt.Add(-time.Hour)); n != 0 || waiting.IsZero() {
		t.Errorf("cut-off before the review: purged %d, waiting %v; want 0 and the open picks waiting", n, waiting)
	}
	before, err := s.GetTranscript(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	cutoff := r.FinalizedAt.Add(time.Hour)
	n, waiting := purge(cutoff)
	if n != 1 {
		t.Errorf("purged %d, want c1 only", n)
	}
	c2, _ := s.GetTranscript(ctx, "c2")
	if !waiting.Equal(c2.EndedAt) {
		t.Errorf("waiting %v, want the open picks' earliest end %v", waiting, c2.EndedAt)
	}
	got, err := s.GetTranscript(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 0 || got.Attributes != nil || got.CustomerID != "" || got.PurgedAt.IsZero() || !got.Sampled {
		t.Errorf("purged c1 = %+v; want no messages, attributes or customer, PurgedAt set, still sampled", got)
	}
	if got.ExternalID != "c1" || got.AgentID != before.AgentID || !got.EndedAt.Equal(before.EndedAt) ||
		!reflect.DeepEqual(got.Metrics, before.Metrics) || !reflect.DeepEqual(got.Tags, before.Tags) {
		t.Errorf("purged c1 lost what the sample and reports rest on: %+v, was %+v", got, before)
	}
	for _, id := range []string{"c2", "d1"} {
		if got, err := s.GetTranscript(ctx, id); err != nil || len(got.Messages) == 0 || !got.PurgedAt.IsZero() {
			t.Errorf("open pick %s was purged (%v)", id, err)
		}
	}
	if rowsAfter := reportRows(t, s, store.ReportFilter{AgentIDs: []string{"a1", "a2"}, FromWeek: week47, ToWeek: week47}); !reflect.DeepEqual(rowsAfter, rowsBefore) {
		t.Errorf("report rows changed by retention:\n got %+v\nwant %+v", rowsAfter, rowsBefore)
	}
	if rv := e.review(r.ID); !reflect.DeepEqual(rv, r) {
		t.Errorf("review changed by retention: %+v, was %+v", rv, r)
	}
	if ids := retentionEvents(t, s, "retention.purge_reviewed"); !reflect.DeepEqual(ids, []string{"c1"}) {
		t.Errorf("audited purges %v", ids)
	}
	// A re-push is kept out: the chat is frozen.
	if out := upsert(t, s, prepare(ending("c1", "a1", before.EndedAt))); out[0] != store.KeptSampled && out[0] != store.Unchanged {
		t.Errorf("re-push of a purged chat: %v", out[0])
	}
	if got, _ := s.GetTranscript(ctx, "c1"); len(got.Messages) != 0 {
		t.Error("a re-push brought the purged content back")
	}
	// Purging again finds nothing.
	if n, _ := purge(cutoff); n != 0 {
		t.Errorf("second pass purged %d", n)
	}
	// A check re-run of the week neither reads the emptied chat (checked
	// without messages its flags would be wiped from the rates and the
	// agreement report) nor writes hits quoting its text back.
	purged, _ := s.GetTranscript(ctx, "c1")
	ids, err := s.RecheckIDs(ctx, weekFrom, weekTo, 0)
	if err != nil || len(ids) == 0 {
		t.Fatalf("RecheckIDs = %v, %v", ids, err)
	}
	targets, err := s.RecheckTargets(ctx, weekFrom, weekTo, ids[0], ids[len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	// c1's row id: the week's id no target has (or the target that is c1).
	read := map[int64]bool{}
	var c1ID int64
	for _, tg := range targets {
		read[tg.ID] = true
		if tg.Transcript.ExternalID == "c1" {
			t.Errorf("a re-run reads the purged c1: %+v", tg)
			c1ID = tg.ID
		}
	}
	for _, id := range ids {
		if !read[id] {
			if c1ID != 0 {
				t.Fatalf("re-run targets %+v leave out more than c1 of %v", targets, ids)
			}
			c1ID = id
		}
	}
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
	// As if c1 was read just before retention emptied it.
	late := transcript.Checks{Version: v.Version, Flags: purged.Checks.Flags ^ 0b1,
		Hits: []transcript.CheckHit{{Check: "forbidden_phrase", Message: 2, Matched: "quoted text"}}}
	if _, err := s.SaveRecheck(ctx, job.ID, store.RecheckBatch{Lease: held, Results: []store.RecheckResult{{ID: c1ID, Revision: purged.Revision, Checks: late}},
		Cursor: c1ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTranscript(ctx, "c1"); !reflect.DeepEqual(got.Checks, purged.Checks) {
		t.Errorf("a re-run rewrote the purged c1's checks: %+v, was %+v", got.Checks, purged.Checks)
	}
}
