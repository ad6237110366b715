package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"qa-sampling/store"
)

var calibrationTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"CalibrationSession", testCalibrationSession},
	{"CalibrationRefusals", testCalibrationRefusals},
	{"CalibrationClose", testCalibrationClose},
	{"CalibrationChatFrozen", testCalibrationChatFrozen},
}

// newCalibration stores chats c1 (a1) and c2 (a2) and a session of them
// before qa-1 and qa-2 with benchmark qa-3.
func newCalibration(t *testing.T, s store.Store) (*scoringEnv, store.CalibrationSession) {
	t.Helper()
	e := newScoring(t, s)
	inWeek(t, s, "a1", "c1")
	inWeek(t, s, "a2", "c2")
	due := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c, err := s.CreateCalibration(t.Context(), store.CalibrationSession{
		Name: "十二月校准", RubricVersion: e.rubric, BenchmarkID: "qa-3", InspectorIDs: []string{"qa-2", "qa-1"},
		ExternalIDs: []string{"c2", "c1"}, Due: due, CreatedBy: "lead",
	})
	if err != nil {
		t.Fatalf("CreateCalibration: %v", err)
	}
	want := store.CalibrationSession{ID: c.ID, Name: "十二月校准", RubricVersion: e.rubric, BenchmarkID: "qa-3",
		InspectorIDs: []string{"qa-2", "qa-1"}, ExternalIDs: []string{"c2", "c1"}, Due: due, Status: store.CalibrationOpen,
		CreatedBy: "lead", CreatedAt: c.CreatedAt, Items: 6}
	if c.ID == 0 || c.CreatedAt.IsZero() || !reflect.DeepEqual(c, want) {
		t.Fatalf("CreateCalibration = %+v, want %+v", c, want)
	}
	return e, c
}

func calibrationReview(it store.CalibrationItem, value int, final bool) store.Review {
	r := store.Review{PickID: it.ID, InspectorID: it.InspectorID, RubricVersion: 1, Status: store.ReviewDraft,
		Ratings: []store.Rating{{Key: "greeting", Value: value, Max: 5, Comment: "语气, ok;"}}, Flags: []string{"abuse"},
		Comment: "c", Strengths: []string{"s"}}
	if final {
		r.Status, r.Score, r.Grade = store.ReviewFinal, float64(20*value), "pass"
	}
	return r
}

func calibrationItems(t *testing.T, s store.Store, f store.CalibrationItemFilter) []store.CalibrationItem {
	t.Helper()
	items, err := s.ListCalibrationItems(t.Context(), f)
	if err != nil {
		t.Fatalf("ListCalibrationItems(%+v): %v", f, err)
	}
	return items
}

func testCalibrationSession(t *testing.T, s store.Store) {
	e, c := newCalibration(t, s)
	ctx := t.Context()
	if got, err := s.GetCalibration(ctx, c.ID); err != nil || !reflect.DeepEqual(got, c) {
		t.Errorf("GetCalibration = %+v, %v; want %+v", got, err, c)
	}
	if _, err := s.GetCalibration(ctx, c.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCalibration(unknown) = %v, want ErrNotFound", err)
	}
	items := calibrationItems(t, s, store.CalibrationItemFilter{SessionID: c.ID})
	if len(items) != 6 {
		t.Fatalf("%d items, want 6 (2 chats × 3 participants)", len(items))
	}
	for _, it := range items {
		if !store.IsCalibrationItem(it.ID) || it.Review != nil || it.SessionID != c.ID {
			t.Errorf("item %+v: want an id ≥ %d, no review, session %d", it, store.CalibrationItemIDBase, c.ID)
		}
		if want := map[string]string{"c1": "a1", "c2": "a2"}[it.ExternalID]; it.AgentID != want {
			t.Errorf("item %d of %s has agent %q, want %q", it.ID, it.ExternalID, it.AgentID, want)
		}
	}
	mine := calibrationItems(t, s, store.CalibrationItemFilter{InspectorID: "qa-1", Open: true})
	if len(mine) != 2 || mine[0].InspectorID != "qa-1" || mine[0].ID >= mine[1].ID {
		t.Fatalf("qa-1's open items = %+v, want 2 in id order", mine)
	}
	if page := calibrationItems(t, s, store.CalibrationItemFilter{InspectorID: "qa-1", AfterID: mine[0].ID, Limit: 5}); len(page) != 1 || page[0].ID != mine[1].ID {
		t.Errorf("page after %d = %+v", mine[0].ID, page)
	}

	// A draft, then the final review; the draft is replaced.
	draft, err := s.SaveCalibrationReview(ctx, calibrationReview(mine[0], 2, false))
	if err != nil {
		t.Fatalf("SaveCalibrationReview(draft): %v", err)
	}
	if draft.ID != mine[0].ID || draft.PickID != mine[0].ID || draft.Status != store.ReviewDraft || draft.Ratings[0].Comment != "语气, ok;" ||
		draft.Ratings[0].Value != 2 || !slices.Equal(draft.Flags, []string{"abuse"}) || draft.Score != 0 {
		t.Errorf("draft = %+v", draft)
	}
	final, err := s.SaveCalibrationReview(ctx, calibrationReview(mine[0], 4, true))
	if err != nil {
		t.Fatalf("SaveCalibrationReview(final): %v", err)
	}
	if final.Status != store.ReviewFinal || final.Ratings[0].Value != 4 || final.Score != 80 || final.Grade != "pass" || final.FinalizedAt.IsZero() {
		t.Errorf("final = %+v", final)
	}
	if _, err := s.SaveCalibrationReview(ctx, calibrationReview(mine[0], 1, false)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("saving over a final review = %v, want ErrConflict", err)
	}
	if got, err := s.GetCalibrationItem(ctx, mine[0].ID); err != nil || got.Review == nil || !reflect.DeepEqual(*got.Review, final) {
		t.Errorf("GetCalibrationItem = %+v, %v; want review %+v", got, err, final)
	}
	if open := calibrationItems(t, s, store.CalibrationItemFilter{InspectorID: "qa-1", Open: true}); len(open) != 1 {
		t.Errorf("qa-1 has %d open items after finalising one, want 1", len(open))
	}
	if got, _ := s.GetCalibration(ctx, c.ID); got.Finalised != 1 || got.Status != store.CalibrationOpen || got.Revealed() {
		t.Errorf("after one final: %+v", got)
	}
	if latest, err := s.LatestCalibrations(ctx); err != nil || len(latest) != 0 {
		t.Errorf("LatestCalibrations before the reveal = %v, %v; want none", latest, err)
	}

	// The last final review completes (reveals) the session.
	for i, it := range calibrationItems(t, s, store.CalibrationItemFilter{SessionID: c.ID, Open: true}) {
		if _, err := s.SaveCalibrationReview(ctx, calibrationReview(it, i%5, true)); err != nil {
			t.Fatalf("SaveCalibrationReview(%d): %v", it.ID, err)
		}
	}
	got, _ := s.GetCalibration(ctx, c.ID)
	if got.Status != store.CalibrationComplete || !got.Revealed() || got.RevealedAt.IsZero() || got.Finalised != 6 {
		t.Errorf("after every final: %+v", got)
	}
	if latest, err := s.LatestCalibrations(ctx); err != nil || !reflect.DeepEqual(latest, map[string]int64{"qa-1": c.ID, "qa-2": c.ID, "qa-3": c.ID}) {
		t.Errorf("LatestCalibrations = %v, %v", latest, err)
	}
	if l, err := s.ListCalibrations(ctx, store.CalibrationFilter{InspectorID: "qa-3"}); err != nil || len(l) != 1 || l[0].ID != c.ID {
		t.Errorf("ListCalibrations(qa-3) = %+v, %v", l, err)
	}
	if l, err := s.ListCalibrations(ctx, store.CalibrationFilter{InspectorID: "qa-9"}); err != nil || len(l) != 0 {
		t.Errorf("ListCalibrations(qa-9) = %+v, %v", l, err)
	}

	// Nothing of it reached production: no review, feedback or pick, and
	// the rubric version is locked.
	if rs, err := s.ListReviews(ctx, store.ReviewFilter{}); err != nil || len(rs) != 0 {
		t.Errorf("reviews after a calibration: %+v, %v", rs, err)
	}
	if fb := e.feedback(store.FeedbackFilter{}); len(fb) != 0 {
		t.Errorf("feedback after a calibration: %+v", fb)
	}
	if ps := listPicks(t, s, store.PickFilter{}); len(ps) != 0 {
		t.Errorf("picks after a calibration: %+v", ps)
	}
	if rv, err := s.GetRubric(ctx, e.rubric); err != nil || !rv.Locked {
		t.Errorf("rubric %d after a calibration: %+v, %v; want locked", e.rubric, rv, err)
	}
	if ev := e.audit(store.AuditFilter{Entity: "calibration"}); len(ev) != 1 || ev[0].Action != "calibration.create" || ev[0].Actor != "lead" {
		t.Errorf("calibration audit = %+v", ev)
	}
	if ev := e.audit(store.AuditFilter{Action: "calibration.finalize"}); len(ev) != 6 {
		t.Errorf("%d calibration.finalize events, want 6", len(ev))
	}
}

func testCalibrationRefusals(t *testing.T, s store.Store) {
	e, c := newCalibration(t, s)
	ctx := t.Context()
	for name, bad := range map[string]store.CalibrationSession{
		"unknown chat":      {RubricVersion: e.rubric, InspectorIDs: []string{"qa-1", "qa-2"}, ExternalIDs: []string{"c1", "nope"}},
		"unknown inspector": {RubricVersion: e.rubric, InspectorIDs: []string{"qa-1", "qa-ghost"}, ExternalIDs: []string{"c1"}},
		"unknown benchmark": {RubricVersion: e.rubric, BenchmarkID: "qa-ghost", InspectorIDs: []string{"qa-1"}, ExternalIDs: []string{"c1"}},
		"unknown rubric":    {RubricVersion: e.rubric + 7, InspectorIDs: []string{"qa-1"}, ExternalIDs: []string{"c1"}},
	} {
		bad.CreatedBy = "lead"
		if _, err := s.CreateCalibration(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: CreateCalibration = %v, want ErrNotFound", name, err)
		}
	}
	dup := store.CalibrationSession{RubricVersion: e.rubric, InspectorIDs: []string{"qa-1", "qa-1"}, ExternalIDs: []string{"c1"}, CreatedBy: "lead"}
	if _, err := s.CreateCalibration(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("an inspector named twice: CreateCalibration = %v, want ErrConflict", err)
	}
	if l, _ := s.ListCalibrations(ctx, store.CalibrationFilter{}); len(l) != 1 {
		t.Errorf("%d sessions after refused creations, want 1", len(l))
	}
	items := calibrationItems(t, s, store.CalibrationItemFilter{SessionID: c.ID, InspectorID: "qa-1"})
	other := calibrationReview(items[0], 3, false)
	other.InspectorID = "qa-2"
	if _, err := s.SaveCalibrationReview(ctx, other); !errors.Is(err, store.ErrConflict) {
		t.Errorf("saving another's item = %v, want ErrConflict", err)
	}
	ghost := calibrationReview(items[0], 3, false)
	ghost.PickID = store.CalibrationItemIDBase + 1_000_000
	if _, err := s.SaveCalibrationReview(ctx, ghost); !errors.Is(err, store.ErrConflict) {
		t.Errorf("saving an unknown item = %v, want ErrConflict", err)
	}
	if _, err := s.GetCalibrationItem(ctx, ghost.PickID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCalibrationItem(unknown) = %v, want ErrNotFound", err)
	}
}

// testCalibrationChatFrozen: a chat put before a calibration session, even
// unpicked, keeps the version its inspectors score when pushed changed.
func testCalibrationChatFrozen(t *testing.T, s store.Store) {
	_, c := newCalibration(t, s)
	before := get(t, s, c.ExternalIDs[0])
	changed := ending(c.ExternalIDs[0], before.AgentID, before.EndedAt)
	changed.Messages[0].Text = "改过的内容 " + changed.Messages[0].Text
	if out := upsert(t, s, prepare(changed)); out[0] != store.KeptSampled {
		t.Errorf("a changed push of a calibration chat = %v, want KeptSampled", out[0])
	}
	after := get(t, s, c.ExternalIDs[0])
	if after.Revision != before.Revision || after.Messages[0].Text != before.Messages[0].Text {
		t.Errorf("the calibration chat changed: revision %d → %d, first message %q", before.Revision, after.Revision, after.Messages[0].Text)
	}
	if after.Sampled {
		t.Error("an unpicked calibration chat reads as sampled")
	}
}

func testCalibrationClose(t *testing.T, s store.Store) {
	_, c := newCalibration(t, s)
	ctx := t.Context()
	items := calibrationItems(t, s, store.CalibrationItemFilter{SessionID: c.ID})
	if _, err := s.SaveCalibrationReview(ctx, calibrationReview(items[0], 3, true)); err != nil {
		t.Fatal(err)
	}
	closed, err := s.CloseCalibration(ctx, c.ID, "lead")
	if err != nil {
		t.Fatalf("CloseCalibration: %v", err)
	}
	if closed.Status != store.CalibrationClosed || !closed.Revealed() || closed.ClosedBy != "lead" || closed.ClosedAt.IsZero() ||
		closed.RevealedAt.IsZero() || closed.Finalised != 1 {
		t.Errorf("closed = %+v", closed)
	}
	if _, err := s.CloseCalibration(ctx, c.ID, "lead"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("closing twice = %v, want ErrConflict", err)
	}
	if _, err := s.CloseCalibration(ctx, c.ID+50, "lead"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("closing an unknown session = %v, want ErrNotFound", err)
	}
	if _, err := s.SaveCalibrationReview(ctx, calibrationReview(items[1], 3, false)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("saving in a closed session = %v, want ErrConflict", err)
	}
	if open := calibrationItems(t, s, store.CalibrationItemFilter{InspectorID: items[1].InspectorID, Open: true}); len(open) != 0 {
		t.Errorf("open items after close: %+v", open)
	}
	if latest, _ := s.LatestCalibrations(ctx); !reflect.DeepEqual(latest, map[string]int64{items[0].InspectorID: c.ID}) {
		t.Errorf("LatestCalibrations after close = %v; want only the one who finalised", latest)
	}
	if l, err := s.ListCalibrations(ctx, store.CalibrationFilter{Status: store.CalibrationClosed}); err != nil || len(l) != 1 {
		t.Errorf("ListCalibrations(closed) = %+v, %v", l, err)
	}
	// The latest is the session revealed last, not the one created last:
	// of two new sessions, the first created is closed last.
	who := items[0].InspectorID
	var sessions [2]store.CalibrationSession
	for i := range sessions {
		sessions[i], err = s.CreateCalibration(ctx, store.CalibrationSession{Name: fmt.Sprint("next ", i), RubricVersion: c.RubricVersion,
			InspectorIDs: []string{who, items[1].InspectorID}, ExternalIDs: c.ExternalIDs[:1], CreatedBy: "lead"})
		if err != nil {
			t.Fatalf("CreateCalibration(next %d): %v", i, err)
		}
		mine := calibrationItems(t, s, store.CalibrationItemFilter{SessionID: sessions[i].ID, InspectorID: who})
		if _, err := s.SaveCalibrationReview(ctx, calibrationReview(mine[0], 4, true)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CloseCalibration(ctx, sessions[1].ID, "lead"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // reveal times are in milliseconds
	if _, err := s.CloseCalibration(ctx, sessions[0].ID, "lead"); err != nil {
		t.Fatal(err)
	}
	if latest, _ := s.LatestCalibrations(ctx); latest[who] != sessions[0].ID {
		t.Errorf("LatestCalibrations = %v; want %s's latest revealed session %d, not the last created %d", latest, who, sessions[0].ID, sessions[1].ID)
	}
}
