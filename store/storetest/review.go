package storetest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"qa-sampling/store"
)

// reviewTests cover store.ReviewStore; Run adds them to its list.
var reviewTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"RubricEnsure", testRubricEnsure},
	{"RubricEnsureInactive", testRubricEnsureInactive},
	{"RubricConcurrent", testRubricConcurrent},
	{"RubricVersions", testRubricVersions},
	{"RubricLocking", testRubricLocking},
	{"ReviewDrafts", testReviewDrafts},
	{"ReviewDraftReassigned", testReviewDraftReassigned},
	{"ReviewFinalize", testReviewFinalize},
	{"ReviewFinalizeRefused", testReviewFinalizeRefused},
	{"ReviewFinalizeConcurrent", testReviewFinalizeConcurrent},
	{"FinalizeVersusReassign", testFinalizeVersusReassign},
	{"DraftRaces", testDraftRaces},
	{"FeedbackFilters", testFeedbackFilters},
	{"FeedbackAcknowledge", testFeedbackAcknowledge},
	{"FeedbackOrderConcurrent", testFeedbackOrderConcurrent},
	{"FeedbackFollowsMoveConcurrent", testFeedbackFollowsMoveConcurrent},
	{"Disputes", testDisputes},
	{"DisputeConcurrent", testDisputeConcurrent},
	{"DisputeVersusResolution", testDisputeVersusResolution},
	{"ListDisputes", testListDisputes},
	{"InspectorDeactivation", testInspectorDeactivation},
	{"ReportRows", testReportRows},
	{"ReportRowsManyAgents", testReportRowsManyAgents},
	{"ReportRowsDisputeRace", testReportRowsDisputeRace},
	{"Audit", testAudit},
	{"AuditFilters", testAuditFilters},
}

const week47 = "2026-W47"

// rubricDoc is a rubric document; the store must keep its bytes as given.
func rubricDoc(n int) []byte {
	return fmt.Appendf(nil, "{\n  \"name\": \"质检 v%d\",\n  \"dimensions\": [{\"key\": \"greeting\", \"max\": 5}]\n}", n)
}

// scoringEnv is a store ready for scoring: agents a1 and a3 under sup-1
// (team-1) and a2 under sup-2 (team-2), inspectors qa-1, qa-2 and qa-3,
// and an active rubric.
type scoringEnv struct {
	t      *testing.T
	s      store.Store
	rubric int64
	// week of each pick by id, for the reviews' expected Week.
	weeks map[int64]string
}

func newScoring(t *testing.T, s store.Store) *scoringEnv {
	t.Helper()
	e := &scoringEnv{t: t, s: s, weeks: map[int64]string{}}
	e.agents(store.Agent{AgentID: "a1", Name: "A1", TeamID: "team-1", SupervisorID: "sup-1", Active: true},
		store.Agent{AgentID: "a2", Name: "A2", TeamID: "team-2", SupervisorID: "sup-2", Active: true},
		store.Agent{AgentID: "a3", Name: "A3", TeamID: "team-1", SupervisorID: "sup-1", Active: true})
	mustInspectors(t, e.s, "qa-1", "qa-2", "qa-3")
	rv, err := e.s.EnsureRubric(t.Context(), rubricDoc(1), "system")
	if err != nil {
		t.Fatalf("EnsureRubric: %v", err)
	}
	e.rubric = rv.Version
	return e
}

func (e *scoringEnv) agents(agents ...store.Agent) {
	e.t.Helper()
	if _, err := e.s.UpsertAgents(e.t.Context(), agents); err != nil {
		e.t.Fatalf("UpsertAgents: %v", err)
	}
}

// picks stores conversations for the picks (each pick's external id,
// owned by its agent), completes a run of week with them and returns the
// stored picks by external id.
func (e *scoringEnv) picks(week string, picks ...store.Pick) map[string]store.Pick {
	e.t.Helper()
	for _, p := range picks {
		inWeek(e.t, e.s, p.AgentID, p.ExternalID)
	}
	run := mustRun(e.t, e.s, week, 1)
	mustComplete(e.t, e.s, run.ID, picks...)
	out := map[string]store.Pick{}
	for _, p := range listPicks(e.t, e.s, store.PickFilter{RunID: run.ID}) {
		out[p.ExternalID] = p
		e.weeks[p.ID] = week
	}
	if len(out) != len(picks) {
		e.t.Fatalf("run %s has %d picks, want %d", week, len(out), len(picks))
	}
	return out
}

// pickNow reads pick id back.
func (e *scoringEnv) pickNow(id int64) store.Pick {
	e.t.Helper()
	for _, p := range listPicks(e.t, e.s, store.PickFilter{}) {
		if p.ID == id {
			return p
		}
	}
	e.t.Fatalf("pick %d not found", id)
	return store.Pick{}
}

func (e *scoringEnv) checkPick(what string, id int64, status store.PickStatus, inspector string) {
	e.t.Helper()
	if p := e.pickNow(id); p.Status != status || p.InspectorID != inspector {
		e.t.Errorf("%s: pick %d is %s for %q, want %s for %q", what, id, p.Status, p.InspectorID, status, inspector)
	}
}

func (e *scoringEnv) saveDraft(r store.Review) store.Review {
	e.t.Helper()
	out, err := e.s.SaveDraft(e.t.Context(), r)
	if err != nil {
		e.t.Fatalf("SaveDraft(item %d by %s): %v", r.PickID, r.InspectorID, err)
	}
	return out
}

func (e *scoringEnv) finalize(r store.Review, fb store.Feedback) (store.Review, store.Feedback) {
	e.t.Helper()
	rv, f, err := e.s.FinalizeReview(e.t.Context(), r, fb)
	if err != nil {
		e.t.Fatalf("FinalizeReview(item %d by %s): %v", r.PickID, r.InspectorID, err)
	}
	return rv, f
}

func (e *scoringEnv) review(id int64) store.Review {
	e.t.Helper()
	rv, err := e.s.GetReview(e.t.Context(), id)
	if err != nil {
		e.t.Fatalf("GetReview(%d): %v", id, err)
	}
	return rv
}

func (e *scoringEnv) feedback(f store.FeedbackFilter) []store.Feedback {
	e.t.Helper()
	out, err := e.s.ListFeedback(e.t.Context(), f)
	if err != nil {
		e.t.Fatalf("ListFeedback(%+v): %v", f, err)
	}
	return out
}

func (e *scoringEnv) audit(f store.AuditFilter) []store.AuditEvent {
	e.t.Helper()
	return reviewsAudit(e.t, e.s, f)
}

// sampleRatings exercise every field of a rating: comments with the
// characters the encodings use, N/A, failing and critical marks.
func sampleRatings() []store.Rating {
	return []store.Rating{
		{Key: "greeting", Value: 4, Max: 5, Comment: "warm, 热情; polite"},
		{Key: "accuracy", Value: 1, Max: 3, Failing: true, Critical: true, Comment: "wrong \"tracking\" number,\nsee message 7"},
		{Key: "empathy", NA: true, Max: 5, Comment: "n/a: bot handled it"},
		{Key: "closing", Value: 0, Max: 2, Failing: true},
		{Key: "compliance", Value: 2, Max: 2, Critical: true},
	}
}

// draftOf is a draft of p by inspector with every field a caller sets.
func (e *scoringEnv) draftOf(p store.Pick, inspector string) store.Review {
	return store.Review{
		PickID: p.ID, InspectorID: inspector, RubricVersion: e.rubric,
		Ratings: sampleRatings(), Flags: []string{"rude", "leak"},
		Comment: "整体不错, but \"slow\"", Strengths: []string{"fast, friendly", "clear"}, Suggestions: []string{"check the order first"},
	}
}

// finalOf is a final review of p by inspector scored score.
func (e *scoringEnv) finalOf(p store.Pick, inspector string, score float64, grade string) store.Review {
	r := e.draftOf(p, inspector)
	r.Score, r.Grade, r.Critical = score, grade, grade == "F"
	return r
}

// expect is what the store should return for the caller's review r of
// pick p: the store fills ExternalID, AgentID and Week and computes
// Percent; drafts have no score.
func (e *scoringEnv) expect(r store.Review, p store.Pick, status store.ReviewStatus) store.Review {
	r.ExternalID, r.AgentID, r.Week, r.Status = p.ExternalID, p.AgentID, e.weeks[p.ID], status
	r.Ratings = expectRatings(r.Ratings)
	if status == store.ReviewDraft {
		r.Score, r.Grade, r.Critical = 0, "", false
	}
	return r
}

func expectRatings(rs []store.Rating) []store.Rating {
	out := slices.Clone(rs)
	for i := range out {
		out[i].Percent = 0
		if out[i].NA {
			out[i].Value = 0
		} else if out[i].Max > 0 {
			out[i].Percent = 100 * float64(out[i].Value) / float64(out[i].Max)
		}
	}
	return out
}

// content is r without its id and times, with empty slices as nil.
func content(r store.Review) store.Review {
	r.ID, r.CreatedAt, r.UpdatedAt, r.FinalizedAt = 0, time.Time{}, time.Time{}, time.Time{}
	r.Ratings = nilIfEmpty(r.Ratings)
	r.Flags, r.Strengths, r.Suggestions = nilIfEmpty(r.Flags), nilIfEmpty(r.Strengths), nilIfEmpty(r.Suggestions)
	return r
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func checkReview(t *testing.T, what string, got, want store.Review) {
	t.Helper()
	if g, w := content(got), content(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func feedbackIDs(fs []store.Feedback) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

func disputeIDs(ds []store.Dispute) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// ---- rubrics

func testRubricEnsure(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetRubric(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRubric(0) on an empty store = %v, want ErrNotFound", err)
	}
	if got, err := s.ListRubrics(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListRubrics on an empty store = %+v, %v", got, err)
	}
	w := begin()
	first, err := s.EnsureRubric(ctx, rubricDoc(1), "system")
	w = w.close()
	if err != nil {
		t.Fatalf("EnsureRubric: %v", err)
	}
	if first.Version != 1 || !first.Active || first.Locked || string(first.Document) != string(rubricDoc(1)) || first.CreatedBy != "system" {
		t.Errorf("EnsureRubric on an empty store = %+v, want version 1, active, unlocked, as given", first)
	}
	w.check(t, "CreatedAt", first.CreatedAt)
	if !first.UpdatedAt.Equal(first.CreatedAt) {
		t.Errorf("UpdatedAt %s != CreatedAt %s", first.UpdatedAt, first.CreatedAt)
	}
	again, err := s.EnsureRubric(ctx, rubricDoc(2), "replica-2")
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Errorf("EnsureRubric(another document) = %+v, %v; want version 1 unchanged %+v", again, err, first)
	}
	if got, err := s.GetRubric(ctx, 0); err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("GetRubric(0) = %+v, %v; want %+v", got, err, first)
	}
	if got, err := s.ListRubrics(ctx); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], first) {
		t.Errorf("ListRubrics = %+v, %v; want only version 1", got, err)
	}
	// EnsureRubric returns the active version, whichever it is.
	if _, err := s.AddRubric(ctx, rubricDoc(2), true, "admin"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EnsureRubric(ctx, rubricDoc(3), "system"); err != nil || got.Version != 2 || !got.Active {
		t.Errorf("EnsureRubric with version 2 active = %+v, %v; want version 2", got, err)
	}
	if got, _ := s.ListRubrics(ctx); len(got) != 2 {
		t.Errorf("EnsureRubric stored a version although one was active: %d versions", len(got))
	}
}

// testRubricEnsureInactive: versions exist but none was activated before
// the default is seeded. EnsureRubric activates the newest and stores
// nothing.
func testRubricEnsureInactive(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := 1; i <= 2; i++ {
		if _, err := s.AddRubric(ctx, rubricDoc(i), false, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.EnsureRubric(ctx, rubricDoc(9), "system")
	if err != nil || got.Version != 2 || !got.Active || string(got.Document) != string(rubricDoc(2)) {
		t.Errorf("EnsureRubric with versions 1 and 2 inactive = %+v, %v; want version 2 activated as stored", got, err)
	}
	if active, err := s.GetRubric(ctx, 0); err != nil || !reflect.DeepEqual(active, got) {
		t.Errorf("GetRubric(0) = %+v, %v; want %+v", active, err, got)
	}
	if list, err := s.ListRubrics(ctx); err != nil || len(list) != 2 {
		t.Errorf("ListRubrics = %d versions, %v; want the 2 added", len(list), err)
	}
	evs := reviewsAudit(t, s, store.AuditFilter{Entity: "rubric"})
	if n := len(actions(evs, "rubric.create")); n != 2 {
		t.Errorf("%d rubric.create events, want 2", n)
	}
	if acts := actions(evs, "rubric.activate"); len(acts) != 1 || acts[0].EntityID != "2" || acts[0].Actor != "system" {
		t.Errorf("rubric.activate events = %+v, want one of version 2 by system", acts)
	}
}

// testRubricConcurrent has replicas ensure a default at once (exactly one
// version results), then admins add versions at once (each its own).
func testRubricConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	got := make([]store.RubricVersion, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range n {
		wg.Go(func() {
			<-start
			rv, err := s.EnsureRubric(ctx, rubricDoc(i), fmt.Sprintf("replica-%d", i))
			if err != nil {
				t.Errorf("EnsureRubric: %v", err)
			}
			got[i] = rv
		})
	}
	close(start)
	wg.Wait()
	for i := range got {
		if got[i].Version != 1 || !got[i].Active || !reflect.DeepEqual(got[i], got[0]) {
			t.Errorf("racing EnsureRubric %d = %+v, want the same version 1 as %+v", i, got[i], got[0])
		}
	}
	list, err := s.ListRubrics(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListRubrics after racing EnsureRubric = %d versions, %v; want 1", len(list), err)
	}
	if creates := len(actions(reviewsAudit(t, s, store.AuditFilter{Entity: "rubric"}), "rubric.create")); creates != 1 {
		t.Errorf("%d rubric.create events, want 1", creates)
	}

	versions := make(chan int64, n)
	startAdds := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startAdds
			rv, err := s.AddRubric(ctx, rubricDoc(100+i), false, "admin")
			if err != nil {
				t.Errorf("AddRubric: %v", err)
				return
			}
			if string(rv.Document) != string(rubricDoc(100+i)) {
				t.Errorf("AddRubric returned version %d with another document", rv.Version)
			}
			versions <- rv.Version
		})
	}
	close(startAdds)
	wg.Wait()
	close(versions)
	var vs []int64
	for v := range versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	if want := []int64{2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(vs, want) {
		t.Errorf("racing AddRubric versions %v, want %v", vs, want)
	}
}

func reviewsAudit(t *testing.T, s store.Store, f store.AuditFilter) []store.AuditEvent {
	t.Helper()
	out, err := s.ListAudit(t.Context(), f)
	if err != nil {
		t.Fatalf("ListAudit(%+v): %v", f, err)
	}
	return out
}

// actions returns the events with action a.
func actions(evs []store.AuditEvent, a string) []store.AuditEvent {
	var out []store.AuditEvent
	for _, ev := range evs {
		if ev.Action == a {
			out = append(out, ev)
		}
	}
	return out
}

func testRubricVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	docs := [][]byte{rubricDoc(1), []byte(`{"odd":"\u0001 'quoted' \\ 🙂"}`), rubricDoc(3)}
	w := begin()
	v1, err := s.AddRubric(ctx, docs[0], false, "admin-1")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v1.Active || v1.Locked || string(v1.Document) != string(docs[0]) || v1.CreatedBy != "admin-1" {
		t.Errorf("AddRubric(activate false) = %+v", v1)
	}
	if _, err := s.GetRubric(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRubric(0) with no version active = %v, want ErrNotFound", err)
	}
	v2, err := s.AddRubric(ctx, docs[1], true, "admin-2")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || !v2.Active || string(v2.Document) != string(docs[1]) {
		t.Errorf("AddRubric(activate true) = %+v", v2)
	}
	v3, err := s.AddRubric(ctx, docs[2], false, "admin-3")
	if err != nil {
		t.Fatal(err)
	}
	w = w.close()
	if v3.Version != 3 || v3.Active {
		t.Errorf("AddRubric(activate false) = %+v", v3)
	}
	for _, v := range []store.RubricVersion{v1, v2, v3} {
		w.check(t, fmt.Sprintf("version %d CreatedAt", v.Version), v.CreatedAt)
	}
	checkList := func(step string, active int64) {
		t.Helper()
		list, err := s.ListRubrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Fatalf("%s: ListRubrics = %d versions, want 3", step, len(list))
		}
		for i, v := range list {
			if v.Version != int64(i+1) || v.Active != (v.Version == active) || string(v.Document) != string(docs[i]) {
				t.Errorf("%s: ListRubrics[%d] = version %d active %v; want version %d active %v", step, i, v.Version, v.Active, i+1, v.Version == active)
			}
			if got, err := s.GetRubric(ctx, v.Version); err != nil || !reflect.DeepEqual(got, v) {
				t.Errorf("%s: GetRubric(%d) = %+v, %v; want %+v", step, v.Version, got, err, v)
			}
		}
		if got, err := s.GetRubric(ctx, 0); err != nil || got.Version != active || !got.Active {
			t.Errorf("%s: GetRubric(0) = %+v, %v; want version %d", step, got, err, active)
		}
	}
	checkList("added", 2)
	got, err := s.ActivateRubric(ctx, 3, "admin")
	if err != nil || got.Version != 3 || !got.Active || string(got.Document) != string(docs[2]) {
		t.Errorf("ActivateRubric(3) = %+v, %v", got, err)
	}
	checkList("activated 3", 3)
	if _, err := s.ActivateRubric(ctx, 1, "admin"); err != nil {
		t.Fatal(err)
	}
	checkList("activated 1", 1)
	if _, err := s.ActivateRubric(ctx, 1, "admin"); err != nil {
		t.Errorf("ActivateRubric of the active version: %v", err)
	}
	if _, err := s.ActivateRubric(ctx, 99, "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActivateRubric(99) = %v, want ErrNotFound", err)
	}
	checkList("activate unknown", 1)
	if _, err := s.GetRubric(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRubric(99) = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateRubric(ctx, 99, docs[0], "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateRubric(99) = %v, want ErrNotFound", err)
	}
}

func testRubricLocking(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	before, err := e.s.GetRubric(ctx, e.rubric)
	if err != nil {
		t.Fatal(err)
	}
	w := begin()
	upd, err := e.s.UpdateRubric(ctx, e.rubric, rubricDoc(2), "admin")
	w = w.close()
	if err != nil {
		t.Fatalf("UpdateRubric of an unused version: %v", err)
	}
	if upd.Version != e.rubric || string(upd.Document) != string(rubricDoc(2)) || upd.Locked || !upd.Active ||
		!upd.CreatedAt.Equal(before.CreatedAt) || upd.CreatedBy != before.CreatedBy {
		t.Errorf("UpdateRubric = %+v; want the new document, the rest as before %+v", upd, before)
	}
	w.check(t, "UpdatedAt", upd.UpdatedAt)
	if got, err := e.s.GetRubric(ctx, e.rubric); err != nil || !reflect.DeepEqual(got, upd) {
		t.Errorf("GetRubric after UpdateRubric = %+v, %v; want %+v", got, err, upd)
	}

	// A draft locks the version it uses.
	e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	locked, err := e.s.GetRubric(ctx, e.rubric)
	if err != nil || !locked.Locked {
		t.Fatalf("rubric after SaveDraft = %+v, %v; want locked", locked, err)
	}
	if _, err := e.s.UpdateRubric(ctx, e.rubric, rubricDoc(3), "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRubric of a used version = %v, want ErrConflict", err)
	}
	if got, err := e.s.GetRubric(ctx, e.rubric); err != nil || !reflect.DeepEqual(got, locked) {
		t.Errorf("refused UpdateRubric changed the version: %+v, want %+v", got, locked)
	}

	// So does a final review written without a draft.
	v2, err := e.s.AddRubric(ctx, rubricDoc(4), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(5), "admin"); err != nil {
		t.Errorf("UpdateRubric of an inactive unused version: %v", err)
	}
	r := e.finalOf(ps["c2"], "qa-1", 90, "A")
	r.RubricVersion = v2.Version
	if got, _ := e.finalize(r, store.Feedback{}); got.RubricVersion != v2.Version {
		t.Errorf("final review RubricVersion = %d, want %d", got.RubricVersion, v2.Version)
	}
	if got, err := e.s.GetRubric(ctx, v2.Version); err != nil || !got.Locked || string(got.Document) != string(rubricDoc(5)) {
		t.Errorf("version 2 after a final review = %+v, %v; want locked with the updated document", got, err)
	}
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(6), "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRubric of a version a final review uses = %v, want ErrConflict", err)
	}
	if got, _ := e.s.GetRubric(ctx, v2.Version); string(got.Document) != string(rubricDoc(5)) {
		t.Errorf("refused UpdateRubric changed the document to %s", got.Document)
	}
	// Activating a locked version is fine and keeps it locked.
	if got, err := e.s.ActivateRubric(ctx, v2.Version, "admin"); err != nil || !got.Locked || !got.Active {
		t.Errorf("ActivateRubric(locked) = %+v, %v", got, err)
	}
}

// ---- reviews

func testReviewDrafts(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, ""))
	c1 := ps["c1"]
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf before any draft = %v, want ErrNotFound", err)
	}
	for _, tc := range []struct {
		what string
		r    store.Review
	}{
		{"another inspector's pick", e.draftOf(c1, "qa-2")},
		{"a pick in the pool", e.draftOf(ps["c2"], "qa-1")},
		{"an unknown pick", e.draftOf(store.Pick{ID: c1.ID + 1000}, "qa-1")},
	} {
		if _, err := e.s.SaveDraft(ctx, tc.r); !errors.Is(err, store.ErrConflict) {
			t.Errorf("SaveDraft of %s = %v, want ErrConflict", tc.what, err)
		}
		if _, err := e.s.DraftOf(ctx, tc.r.PickID, tc.r.InspectorID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DraftOf after a refused SaveDraft of %s = %v, want ErrNotFound", tc.what, err)
		}
	}
	bad := e.draftOf(c1, "qa-1")
	bad.RubricVersion = 99
	if _, err := e.s.SaveDraft(ctx, bad); err == nil {
		t.Error("SaveDraft with an unknown rubric version succeeded")
	}
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf after SaveDraft with an unknown rubric = %v, want ErrNotFound", err)
	}

	in := e.draftOf(c1, "qa-1")
	// What the store fills or the server computes on finalising is ignored.
	in.ExternalID, in.AgentID, in.Week = "forged", "forged", "1999-W01"
	in.Score, in.Grade, in.Critical = 88, "B", true
	w := begin()
	d1 := e.saveDraft(in)
	w = w.close()
	if d1.ID == 0 {
		t.Fatal("SaveDraft returned id 0")
	}
	want := e.expect(e.draftOf(c1, "qa-1"), c1, store.ReviewDraft)
	checkReview(t, "first draft", d1, want)
	w.check(t, "draft CreatedAt", d1.CreatedAt)
	if !d1.UpdatedAt.Equal(d1.CreatedAt) || !d1.FinalizedAt.IsZero() {
		t.Errorf("new draft UpdatedAt %s CreatedAt %s FinalizedAt %s", d1.UpdatedAt, d1.CreatedAt, d1.FinalizedAt)
	}
	if got, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); err != nil || !reflect.DeepEqual(got, d1) {
		t.Errorf("DraftOf = %+v, %v; want %+v", got, err, d1)
	}
	if got, err := e.s.GetReview(ctx, d1.ID); err != nil || !reflect.DeepEqual(got, d1) {
		t.Errorf("GetReview(draft) = %+v, %v; want %+v", got, err, d1)
	}
	e.checkPick("after SaveDraft", c1.ID, store.PickAssigned, "qa-1")

	// A second save replaces ratings, flags and comments in the same row.
	in2 := store.Review{PickID: c1.ID, InspectorID: "qa-1", RubricVersion: e.rubric,
		Ratings: []store.Rating{{Key: "greeting", Value: 5, Max: 5, Comment: "better"}, {Key: "closing", NA: true, Max: 2}},
		Flags:   []string{"leak"}, Comment: "revised"}
	w = begin()
	d2 := e.saveDraft(in2)
	w = w.close()
	if d2.ID != d1.ID {
		t.Errorf("second SaveDraft made review %d, want the same row %d", d2.ID, d1.ID)
	}
	checkReview(t, "replaced draft", d2, e.expect(in2, c1, store.ReviewDraft))
	if !d2.CreatedAt.Equal(d1.CreatedAt) {
		t.Errorf("replaced draft CreatedAt %s, want %s", d2.CreatedAt, d1.CreatedAt)
	}
	w.check(t, "replaced draft UpdatedAt", d2.UpdatedAt)
	if got, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); err != nil || !reflect.DeepEqual(got, d2) {
		t.Errorf("DraftOf after a second save = %+v, %v; want the latest %+v", got, err, d2)
	}
	// Everything can be cleared.
	in3 := store.Review{PickID: c1.ID, InspectorID: "qa-1", RubricVersion: e.rubric}
	d3 := e.saveDraft(in3)
	checkReview(t, "emptied draft", d3, e.expect(in3, c1, store.ReviewDraft))
	if d3.ID != d1.ID {
		t.Errorf("third SaveDraft made review %d, want %d", d3.ID, d1.ID)
	}

	if _, err := e.s.GetReview(ctx, d1.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetReview(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf(another inspector) = %v, want ErrNotFound", err)
	}
	// Drafts send nothing.
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 0 {
		t.Errorf("drafts produced %d feedback records", len(got))
	}
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != 0 {
		t.Errorf("LastFeedbackID with drafts only = %d, %v; want 0", id, err)
	}
}

// testReviewDraftReassigned: a pick moved to another inspector is theirs
// to score; the first inspector's draft stays but cannot be saved again.
func testReviewDraftReassigned(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	c1 := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"))["c1"]
	old := e.saveDraft(e.draftOf(c1, "qa-1"))
	if _, err := e.s.UpdatePick(ctx, c1.ID, store.PickAssigned, store.Pick{InspectorID: "qa-2", Status: store.PickAssigned}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft by the former inspector = %v, want ErrConflict", err)
	}
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-1", 90, "A"), store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview by the former inspector = %v, want ErrConflict", err)
	}
	if got, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); err != nil || !reflect.DeepEqual(got, old) {
		t.Errorf("former inspector's draft = %+v, %v; want it unchanged", got, err)
	}
	mine := e.saveDraft(e.draftOf(c1, "qa-2"))
	if mine.ID == old.ID {
		t.Errorf("the new inspector's draft reused review %d", old.ID)
	}
	final, _ := e.finalize(e.finalOf(c1, "qa-2", 75, "C"), store.Feedback{})
	if final.ID != mine.ID || final.InspectorID != "qa-2" {
		t.Errorf("final review = %d by %s, want the draft %d of qa-2", final.ID, final.InspectorID, mine.ID)
	}
	if got, err := e.s.GetReview(ctx, old.ID); err != nil || got.Status != store.ReviewDraft {
		t.Errorf("former inspector's draft after the final = %+v, %v", got, err)
	}
}

func testReviewFinalize(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-2"))
	c1 := ps["c1"]
	d := e.saveDraft(e.draftOf(c1, "qa-1"))

	in := e.finalOf(c1, "qa-1", 63.5, "D")
	in.Ratings = in.Ratings[:2]
	in.Flags = []string{"rude"}
	in.Comment = "final comment"
	in.ExternalID, in.AgentID, in.Week = "forged", "forged", "forged"
	w := begin()
	r, fb, err := e.s.FinalizeReview(ctx, in, store.Feedback{CoachingRequired: true, SupervisorID: "forged", TeamID: "forged",
		Review: store.Review{ID: 12345, Grade: "forged"}})
	w = w.close()
	if err != nil {
		t.Fatalf("FinalizeReview: %v", err)
	}
	if r.ID != d.ID {
		t.Errorf("final review id %d, want the draft's %d", r.ID, d.ID)
	}
	in.ExternalID, in.AgentID, in.Week = "", "", ""
	checkReview(t, "final review", r, e.expect(in, c1, store.ReviewFinal))
	w.check(t, "FinalizedAt", r.FinalizedAt)
	w.check(t, "UpdatedAt", r.UpdatedAt)
	if !r.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("final CreatedAt %s, want the draft's %s", r.CreatedAt, d.CreatedAt)
	}
	if got := e.review(r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("GetReview = %+v, want %+v", got, r)
	}
	if _, err := e.s.DraftOf(ctx, c1.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DraftOf after finalising = %v, want ErrNotFound (the draft became final)", err)
	}
	e.checkPick("after FinalizeReview", c1.ID, store.PickReviewed, "qa-1")

	if fb.ID == 0 || !reflect.DeepEqual(fb.Review, r) || fb.SupervisorID != "sup-1" || fb.TeamID != "team-1" ||
		!fb.CoachingRequired || fb.ShareAsExample || fb.SupersedesID != 0 ||
		!fb.AcknowledgedAt.IsZero() || fb.AcknowledgedBy != "" || fb.CoachingNote != "" {
		t.Errorf("feedback record = %+v; want a1's supervisor and team and the final review %+v", fb, r)
	}
	w.check(t, "feedback CreatedAt", fb.CreatedAt)
	all := e.feedback(store.FeedbackFilter{})
	if len(all) != 1 || !reflect.DeepEqual(all[0], fb) {
		t.Fatalf("ListFeedback = %+v, want only %+v", all, fb)
	}
	if got, err := e.s.GetFeedback(ctx, fb.ID); err != nil || !reflect.DeepEqual(got, fb) {
		t.Errorf("GetFeedback = %+v, %v; want %+v", got, err, fb)
	}
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != fb.ID {
		t.Errorf("LastFeedbackID = %d, %v; want %d", id, err, fb.ID)
	}

	// A second finalisation of the pick is refused and changes nothing.
	for _, insp := range []string{"qa-1", "qa-2"} {
		if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, insp, 99, "A"), store.Feedback{ShareAsExample: true}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second FinalizeReview by %s = %v, want ErrConflict", insp, err)
		}
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft of a reviewed pick = %v, want ErrConflict", err)
	}
	if got := e.review(r.ID); !reflect.DeepEqual(got, r) {
		t.Errorf("review after a refused finalisation = %+v, want %+v", got, r)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 || !reflect.DeepEqual(got[0], fb) {
		t.Errorf("feedback after a refused finalisation = %+v, want only %+v", got, fb)
	}

	// Without a draft the final review is a new row; the record goes to
	// the supervisor the agent has at the time.
	e.agents(store.Agent{AgentID: "a1", Name: "A1", TeamID: "team-9", SupervisorID: "sup-9", Active: true})
	in2 := e.finalOf(ps["c2"], "qa-1", 95, "A")
	in2.Flags, in2.Strengths, in2.Suggestions = nil, nil, nil
	r2, fb2 := e.finalize(in2, store.Feedback{ShareAsExample: true})
	checkReview(t, "final review without a draft", r2, e.expect(in2, ps["c2"], store.ReviewFinal))
	if r2.ID == r.ID || !r2.CreatedAt.Equal(r2.FinalizedAt) {
		t.Errorf("final without a draft: id %d (first %d), created %s finalised %s", r2.ID, r.ID, r2.CreatedAt, r2.FinalizedAt)
	}
	if fb2.ID <= fb.ID || fb2.SupervisorID != "sup-9" || fb2.TeamID != "team-9" || fb2.CoachingRequired || !fb2.ShareAsExample {
		t.Errorf("second record = %+v; want a later id for sup-9/team-9", fb2)
	}
	// The earlier record follows the agent to its new supervisor, and
	// keeps the team it was written for.
	if got, _ := e.s.GetFeedback(ctx, fb.ID); got.SupervisorID != "sup-9" || got.TeamID != "team-1" {
		t.Errorf("first record after the agent moved: %s/%s, want sup-9/team-1", got.SupervisorID, got.TeamID)
	}
	_, fb3 := e.finalize(e.finalOf(ps["d1"], "qa-2", 80, "B"), store.Feedback{})
	if fb3.SupervisorID != "sup-2" || fb3.TeamID != "team-2" || fb3.Review.AgentID != "a2" {
		t.Errorf("a2's record = %+v, want sup-2/team-2", fb3)
	}
	if got := feedbackIDs(e.feedback(store.FeedbackFilter{})); !slices.Equal(got, []int64{fb.ID, fb2.ID, fb3.ID}) {
		t.Errorf("ListFeedback ids = %v, want %v", got, []int64{fb.ID, fb2.ID, fb3.ID})
	}
}

// testReviewFinalizeRefused: refused finalisations write nothing, not even
// what they would have written before finding the conflict.
func testReviewFinalizeRefused(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	c1, c2 := ps["c1"], ps["c2"]
	first, fb := e.finalize(e.finalOf(c1, "qa-1", 70, "C"), store.Feedback{})
	v2, err := e.s.AddRubric(ctx, rubricDoc(2), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	events := len(e.audit(store.AuditFilter{}))

	// An admin hands the reviewed pick to another inspector: the pick is
	// in qa-2's queue, but it has a final review.
	if _, err := e.s.UpdatePick(ctx, c1.ID, store.PickReviewed, store.Pick{InspectorID: "qa-2", Status: store.PickAssigned}); err != nil {
		t.Fatal(err)
	}
	again := e.finalOf(c1, "qa-2", 99, "A")
	again.RubricVersion = v2.Version
	if _, _, err := e.s.FinalizeReview(ctx, again, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview of a pick with a final review = %v, want ErrConflict", err)
	}
	// It got as far as locking version 2 before the conflict; that is undone.
	if got, err := e.s.GetRubric(ctx, v2.Version); err != nil || got.Locked {
		t.Errorf("version 2 after a refused FinalizeReview = %+v, %v; want unlocked", got, err)
	}
	// With a draft first, the draft stays a draft.
	dr := e.draftOf(c1, "qa-2")
	dr.RubricVersion = v2.Version
	d := e.saveDraft(dr)
	if _, _, err := e.s.FinalizeReview(ctx, again, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview of a draft of a pick with a final review = %v, want ErrConflict", err)
	}
	if got := e.review(d.ID); !reflect.DeepEqual(got, d) {
		t.Errorf("draft after a refused finalisation = %+v, want %+v", got, d)
	}
	if got := e.review(first.ID); !reflect.DeepEqual(got, first) {
		t.Errorf("first final review after a refused finalisation = %+v, want %+v", got, first)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 || got[0].ID != fb.ID {
		t.Errorf("feedback after refused finalisations = %v, want only %d", feedbackIDs(got), fb.ID)
	}
	// Only the draft's events were written.
	evs := e.audit(store.AuditFilter{})
	if got := evs[events:]; len(got) != 1 || got[0].Action != "review.create" {
		t.Errorf("events after refused finalisations: %+v; want only the draft's review.create", got)
	}
	e.checkPick("after refused finalisations", c1.ID, store.PickAssigned, "qa-2")

	// A dispute id on a pick that is not disputed is refused too.
	bogus := e.finalOf(c2, "qa-1", 50, "F")
	bogus.DisputeID = 1
	if _, _, err := e.s.FinalizeReview(ctx, bogus, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview with a dispute id of an undisputed pick = %v, want ErrConflict", err)
	}
	e.checkPick("after a refused dispute finalisation", c2.ID, store.PickAssigned, "qa-1")
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 {
		t.Errorf("%d feedback records, want 1", len(got))
	}
}

// testReviewFinalizeConcurrent finalises one pick from several goroutines
// at once: exactly one wins and its review and record are what is stored.
func testReviewFinalizeConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	for _, tc := range []struct {
		pick store.Pick
		n    int
	}{{ps["c1"], 2}, {ps["c2"], 8}} {
		type result struct {
			r  store.Review
			fb store.Feedback
		}
		wins := make(chan result, tc.n)
		var conflicts atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{}) // released at once, to make them race
		for i := range tc.n {
			wg.Go(func() {
				<-start
				r, fb, err := e.s.FinalizeReview(ctx, e.finalOf(tc.pick, "qa-1", float64(60+i), "C"), store.Feedback{})
				switch {
				case err == nil:
					wins <- result{r, fb}
				case errors.Is(err, store.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("FinalizeReview: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(wins)
		var won []result
		for w := range wins {
			won = append(won, w)
		}
		if len(won) != 1 || int(conflicts.Load()) != tc.n-1 {
			t.Fatalf("%d racing finalisations of %s: %d succeeded, %d conflicts; want 1 and %d", tc.n, tc.pick.ExternalID, len(won), conflicts.Load(), tc.n-1)
		}
		if got := e.review(won[0].r.ID); !reflect.DeepEqual(got, won[0].r) {
			t.Errorf("stored review %+v, want the winner's %+v", got, won[0].r)
		}
		recs := e.feedback(store.FeedbackFilter{AgentID: "a1", Week: week47})
		var mine []store.Feedback
		for _, f := range recs {
			if f.Review.PickID == tc.pick.ID {
				mine = append(mine, f)
			}
		}
		if len(mine) != 1 || !reflect.DeepEqual(mine[0], won[0].fb) {
			t.Errorf("records of %s = %+v, want only the winner's %+v", tc.pick.ExternalID, mine, won[0].fb)
		}
	}
}

// ---- feedback

func testFeedbackFilters(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != 0 {
		t.Errorf("LastFeedbackID on an empty store = %d, %v", id, err)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 0 {
		t.Errorf("ListFeedback on an empty store = %d records", len(got))
	}
	w47 := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-1"), pick("e1", "a3", "random", 1, "qa-2"))
	w46 := e.picks("2026-W46", pick("c3", "a1", "random", 1, "qa-1"), pick("d2", "a2", "random", 1, "qa-2"))
	order := []struct {
		p     store.Pick
		insp  string
		grade string
	}{
		{w47["c1"], "qa-1", "A"}, {w47["d1"], "qa-1", "B"}, {w46["c3"], "qa-1", "B"},
		{w47["e1"], "qa-2", "C"}, {w46["d2"], "qa-2", "A"}, {w47["c2"], "qa-1", "B"},
	}
	var recs []store.Feedback
	for i, o := range order {
		_, fb := e.finalize(e.finalOf(o.p, o.insp, float64(90-i), o.grade), store.Feedback{})
		recs = append(recs, fb)
	}
	acked := map[int64]bool{}
	for _, i := range []int{0, 4} {
		if _, err := e.s.AcknowledgeFeedback(ctx, recs[i].ID, recs[i].SupervisorID, ""); err != nil {
			t.Fatal(err)
		}
		acked[recs[i].ID] = true
	}
	filters := []store.FeedbackFilter{
		{},
		{SupervisorID: "sup-1"},
		{SupervisorID: "sup-2"},
		{SupervisorID: "nobody"},
		{AgentID: "a1"},
		{AgentID: "a3"},
		{Week: "2026-W46"},
		{Week: week47},
		{Grade: "B"},
		{Unacknowledged: true},
		{SupervisorID: "sup-1", Week: week47, Grade: "B"},
		{SupervisorID: "sup-1", Unacknowledged: true},
		{AgentID: "a2", Grade: "A"},
	}
	for _, f := range filters {
		var want []int64
		for _, r := range recs {
			if (f.SupervisorID == "" || r.SupervisorID == f.SupervisorID) && (f.AgentID == "" || r.Review.AgentID == f.AgentID) &&
				(f.Week == "" || r.Review.Week == f.Week) && (f.Grade == "" || r.Review.Grade == f.Grade) &&
				(!f.Unacknowledged || !acked[r.ID]) {
				want = append(want, r.ID)
			}
		}
		got := e.feedback(f)
		if ids := feedbackIDs(got); !slices.Equal(ids, want) {
			t.Errorf("ListFeedback(%+v) = %v, want %v", f, ids, want)
		}
		// Paging through the same filter yields the same, in order.
		for _, limit := range []int{1, 2, 4} {
			var paged []int64
			f2 := f
			f2.Limit = limit
			for range len(recs) + 2 {
				page := e.feedback(f2)
				if len(page) > limit {
					t.Fatalf("ListFeedback(%+v) returned %d records", f2, len(page))
				}
				if len(page) == 0 {
					break
				}
				paged = append(paged, feedbackIDs(page)...)
				f2.AfterID = page[len(page)-1].ID
			}
			if !slices.Equal(paged, want) {
				t.Errorf("ListFeedback(%+v) paged by %d = %v, want %v", f, limit, paged, want)
			}
		}
	}
	// Records are whole, with their review, whichever way they are read.
	all := e.feedback(store.FeedbackFilter{})
	for i, f := range all {
		if got, err := e.s.GetFeedback(ctx, f.ID); err != nil || !reflect.DeepEqual(got, f) {
			t.Errorf("GetFeedback(%d) = %+v, %v; want %+v", f.ID, got, err, f)
		}
		if f.Review.PickID != order[i].p.ID || f.Review.Status != store.ReviewFinal || f.Review.Grade != order[i].grade {
			t.Errorf("record %d reports review %+v", f.ID, f.Review)
		}
	}
	last := recs[len(recs)-1].ID
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != last {
		t.Errorf("LastFeedbackID = %d, %v; want %d", id, err, last)
	}
	if got := e.feedback(store.FeedbackFilter{AfterID: last}); len(got) != 0 {
		t.Errorf("ListFeedback(after the last) = %v", feedbackIDs(got))
	}
	if got := e.feedback(store.FeedbackFilter{AfterID: recs[1].ID, Limit: 2}); !slices.Equal(feedbackIDs(got), []int64{recs[2].ID, recs[3].ID}) {
		t.Errorf("ListFeedback(after %d, limit 2) = %v", recs[1].ID, feedbackIDs(got))
	}
	if _, err := e.s.GetFeedback(ctx, last+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFeedback(unknown) = %v, want ErrNotFound", err)
	}
	lastOf := func(supervisor string) int64 {
		t.Helper()
		id, err := e.s.LastFeedbackID(ctx, supervisor)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Per supervisor, the newest of their own agents' records.
	if got := lastOf("sup-2"); got != recs[4].ID {
		t.Errorf("LastFeedbackID(sup-2) = %d, want %d (d2, its newest)", got, recs[4].ID)
	}
	if got := lastOf("nobody"); got != 0 {
		t.Errorf("LastFeedbackID(nobody) = %d, want 0", got)
	}
	// Records follow the agent's current supervisor, whoever they were
	// addressed to: a1 (c1, c3, c2) moves from sup-1 to sup-2.
	e.agents(store.Agent{AgentID: "a1", Name: "A1", TeamID: "team-2", SupervisorID: "sup-2", Active: true})
	if got, want := feedbackIDs(e.feedback(store.FeedbackFilter{SupervisorID: "sup-2"})),
		[]int64{recs[0].ID, recs[1].ID, recs[2].ID, recs[4].ID, recs[5].ID}; !slices.Equal(got, want) {
		t.Errorf("ListFeedback(sup-2) after a1 moved = %v, want %v", got, want)
	}
	if got, want := feedbackIDs(e.feedback(store.FeedbackFilter{SupervisorID: "sup-1"})), []int64{recs[3].ID}; !slices.Equal(got, want) {
		t.Errorf("ListFeedback(sup-1) after a1 moved = %v, want %v", got, want)
	}
	if got, err := e.s.GetFeedback(ctx, recs[0].ID); err != nil || got.SupervisorID != "sup-2" || got.TeamID != "team-1" {
		t.Errorf("a1's record after the move = %s/%s, %v; want sup-2, team-1 as written", got.SupervisorID, got.TeamID, err)
	}
	if got := lastOf("sup-1"); got != recs[3].ID {
		t.Errorf("LastFeedbackID(sup-1) after a1 moved = %d, want %d", got, recs[3].ID)
	}
	if got := lastOf("sup-2"); got != last {
		t.Errorf("LastFeedbackID(sup-2) after a1 moved = %d, want %d", got, last)
	}
}

func testFeedbackAcknowledge(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("c3", "a1", "random", 3, "qa-1"))
	_, fb := e.finalize(e.finalOf(ps["c1"], "qa-1", 50, "D"), store.Feedback{CoachingRequired: true})
	_, other := e.finalize(e.finalOf(ps["c2"], "qa-1", 90, "A"), store.Feedback{})

	unchanged := func(step string, got store.Feedback) {
		t.Helper()
		g, w := got, fb
		g.AcknowledgedAt, g.AcknowledgedBy, g.CoachingNote = w.AcknowledgedAt, w.AcknowledgedBy, w.CoachingNote
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s: acknowledging changed the record:\n got %+v\nwant %+v", step, got, fb)
		}
		if stored, err := e.s.GetFeedback(ctx, got.ID); err != nil || !reflect.DeepEqual(stored, got) {
			t.Errorf("%s: GetFeedback = %+v, %v; want what AcknowledgeFeedback returned %+v", step, stored, err, got)
		}
	}
	w := begin()
	a1, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "")
	w = w.close()
	if err != nil {
		t.Fatal(err)
	}
	w.check(t, "AcknowledgedAt", a1.AcknowledgedAt)
	if a1.AcknowledgedBy != "sup-1" || a1.CoachingNote != "" {
		t.Errorf("first acknowledgement = by %q note %q", a1.AcknowledgedBy, a1.CoachingNote)
	}
	unchanged("first", a1)

	note := "已辅导: talked it through, 'quotes' \"too\""
	a2, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "team-lead", note)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.AcknowledgedAt.Equal(a1.AcknowledgedAt) || a2.AcknowledgedBy != "sup-1" || a2.CoachingNote != note {
		t.Errorf("second acknowledgement = at %s by %q note %q; want the first time and author, the note set",
			a2.AcknowledgedAt, a2.AcknowledgedBy, a2.CoachingNote)
	}
	unchanged("with a note", a2)
	a3, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "")
	if err != nil || a3.CoachingNote != note || !a3.AcknowledgedAt.Equal(a1.AcknowledgedAt) || a3.AcknowledgedBy != "sup-1" {
		t.Errorf("acknowledgement without a note = %+v, %v; want the note kept", a3, err)
	}
	a4, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "second note")
	if err != nil || a4.CoachingNote != "second note" || !a4.AcknowledgedAt.Equal(a1.AcknowledgedAt) {
		t.Errorf("acknowledgement with a new note = %+v, %v; want the note replaced", a4, err)
	}
	unchanged("new note", a4)
	// A note may come with the first acknowledgement too.
	o, err := e.s.AcknowledgeFeedback(ctx, other.ID, "sup-x", "well done")
	if err != nil || o.AcknowledgedBy != "sup-x" || o.CoachingNote != "well done" || o.AcknowledgedAt.IsZero() {
		t.Errorf("first acknowledgement with a note = %+v, %v", o, err)
	}
	if _, err := e.s.AcknowledgeFeedback(ctx, other.ID+1000, "sup-1", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AcknowledgeFeedback(unknown) = %v, want ErrNotFound", err)
	}
	if got := e.feedback(store.FeedbackFilter{Unacknowledged: true}); len(got) != 0 {
		t.Errorf("unacknowledged records: %v", feedbackIDs(got))
	}

	// Supervisors acknowledging one record at once: one of them is first,
	// and everyone is told the same time and author.
	_, third := e.finalize(e.finalOf(ps["c3"], "qa-1", 70, "C"), store.Feedback{})
	const n = 8
	acks := make([]store.Feedback, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range n {
		wg.Go(func() {
			<-start
			f, err := e.s.AcknowledgeFeedback(ctx, third.ID, fmt.Sprintf("sup-%d", i), "")
			if err != nil {
				t.Errorf("AcknowledgeFeedback: %v", err)
			}
			acks[i] = f
		})
	}
	close(start)
	wg.Wait()
	stored, err := e.s.GetFeedback(ctx, third.ID)
	if err != nil || stored.AcknowledgedAt.IsZero() || !strings.HasPrefix(stored.AcknowledgedBy, "sup-") {
		t.Fatalf("record after racing acknowledgements = %+v, %v", stored, err)
	}
	for i, a := range acks {
		if !a.AcknowledgedAt.Equal(stored.AcknowledgedAt) || a.AcknowledgedBy != stored.AcknowledgedBy {
			t.Errorf("racing acknowledgement %d = at %s by %s; stored at %s by %s", i, a.AcknowledgedAt, a.AcknowledgedBy,
				stored.AcknowledgedAt, stored.AcknowledgedBy)
		}
	}
}

// testFeedbackOrderConcurrent finalises many picks at once while a reader
// follows the records by id: every record must be listed, in strictly
// increasing id order, and the reader, resuming after the last id it saw,
// must not skip one committed later with a lower id.
// testFeedbackFollowsMoveConcurrent finalises an agent's picks while the
// agent moves between supervisors: every record must end with the
// supervisor the agent has last, none left with an earlier one by a
// finalise that read the agent before a move and committed after it.
func testFeedbackFollowsMoveConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 24
	var specs []store.Pick
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("m%02d", i), "a1", "random", i+1, []string{"qa-1", "qa-2", "qa-3"}[i%3]))
	}
	ps := e.picks(week47, specs...)
	var wg sync.WaitGroup
	for _, insp := range []string{"qa-1", "qa-2", "qa-3"} {
		wg.Go(func() {
			for _, p := range ps {
				if p.InspectorID != insp {
					continue
				}
				if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(p, insp, 80, "B"), store.Feedback{}); err != nil {
					t.Errorf("FinalizeReview(%d): %v", p.ID, err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 2 * n {
			sup := []string{"sup-1", "sup-2"}[i%2]
			if _, err := s.UpsertAgents(ctx, []store.Agent{{AgentID: "a1", Name: "A1", TeamID: "team-1", SupervisorID: sup, Active: true}}); err != nil {
				t.Errorf("UpsertAgents: %v", err)
			}
		}
	})
	wg.Wait()
	last, err := s.GetAgent(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	recs := e.feedback(store.FeedbackFilter{AgentID: "a1"})
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for _, f := range recs {
		if f.SupervisorID != last.SupervisorID {
			t.Errorf("record %d is %s's, but a1 ended with %s", f.ID, f.SupervisorID, last.SupervisorID)
		}
	}
}

func testFeedbackOrderConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 16
	var specs []store.Pick
	for i := range n {
		agentID := []string{"a1", "a2", "a3"}[i%3]
		specs = append(specs, pick(fmt.Sprintf("x%02d", i), agentID, "random", i+1, []string{"qa-1", "qa-2", "qa-3"}[i%3]))
	}
	ps := e.picks(week47, specs...)

	done := make(chan struct{})
	followed := make(chan []int64, 1)
	go func() {
		var seen []int64
		var after int64
		for {
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			page, err := e.s.ListFeedback(ctx, store.FeedbackFilter{AfterID: after, Limit: 5})
			if err != nil {
				t.Errorf("ListFeedback: %v", err)
				break
			}
			seen = append(seen, feedbackIDs(page)...)
			if len(page) > 0 {
				after = page[len(page)-1].ID
			}
			// After the writers are done, read until a page comes back empty.
			if finished && len(page) == 0 {
				break
			}
		}
		followed <- seen
	}()

	ids := make(chan int64, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for _, sp := range specs {
		p := ps[sp.ExternalID]
		wg.Go(func() {
			<-start
			_, fb, err := e.s.FinalizeReview(ctx, e.finalOf(p, sp.InspectorID, 80, "B"), store.Feedback{})
			if err != nil {
				t.Errorf("FinalizeReview(%s): %v", p.ExternalID, err)
				return
			}
			if fb.Review.PickID != p.ID {
				t.Errorf("FinalizeReview(%s) returned the record of pick %d", p.ExternalID, fb.Review.PickID)
			}
			ids <- fb.ID
		})
	}
	close(start)
	wg.Wait()
	close(done)
	close(ids)
	var want []int64
	for id := range ids {
		want = append(want, id)
	}
	slices.Sort(want)
	if len(want) != n || len(slices.Compact(slices.Clone(want))) != n {
		t.Fatalf("finalisations returned ids %v, want %d distinct", want, n)
	}
	list := e.feedback(store.FeedbackFilter{})
	got := feedbackIDs(list)
	if !slices.Equal(got, want) {
		t.Errorf("ListFeedback ids = %v, want every returned id %v", got, want)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Errorf("ListFeedback ids not strictly increasing: %v", got)
			break
		}
	}
	if seen := <-followed; !slices.Equal(seen, want) {
		t.Errorf("a reader following by id saw %v, want %v (a record committed behind the cursor)", seen, want)
	}
	if id, err := e.s.LastFeedbackID(ctx, ""); err != nil || id != want[n-1] {
		t.Errorf("LastFeedbackID = %d, %v; want %d", id, err, want[n-1])
	}
	// The racing finalisations share three agents' report rows: none lost.
	rows, err := e.s.ReportRows(ctx, store.ReportFilter{AgentIDs: []string{"a1", "a2", "a3"}, FromWeek: week47, ToWeek: week47})
	if err != nil {
		t.Fatalf("ReportRows: %v", err)
	}
	perAgent := map[string]int{}
	for _, r := range rows {
		perAgent[r.AgentID]++
	}
	if len(rows) != n || perAgent["a1"] != 6 || perAgent["a2"] != 5 || perAgent["a3"] != 5 {
		t.Errorf("ReportRows after racing finalisations: %d rows %v, want %d (a1 6, a2 5, a3 5)", len(rows), perAgent, n)
	}
}

// ---- disputes

func testDisputes(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	c1 := ps["c1"]
	draft := e.saveDraft(e.draftOf(ps["c2"], "qa-1"))
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: draft.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("OpenDispute on a draft = %v, want ErrConflict", err)
	}
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: draft.ID + 1000, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenDispute on an unknown review = %v, want ErrNotFound", err)
	}
	e.checkPick("after a dispute on a draft", ps["c2"].ID, store.PickAssigned, "qa-1")
	orig, fb1 := e.finalize(e.finalOf(c1, "qa-1", 40, "F"), store.Feedback{CoachingRequired: true})
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-ghost"}); err == nil {
		t.Error("OpenDispute with an unknown assignee succeeded")
	}
	e.checkPick("after a dispute to an unknown inspector", c1.ID, store.PickReviewed, "qa-1")

	w := begin()
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "客户原因, not the agent's", AssigneeID: "qa-2",
		PickID: 999, AgentID: "forged", Status: store.DisputeResolved, ResolutionID: 5})
	w = w.close()
	if err != nil {
		t.Fatalf("OpenDispute: %v", err)
	}
	want := store.Dispute{ID: d.ID, ReviewID: orig.ID, PickID: c1.ID, AgentID: "a1", OpenedBy: "sup-1", Reason: "客户原因, not the agent's",
		AssigneeID: "qa-2", Status: store.DisputeOpen, OpenedAt: d.OpenedAt}
	if d.ID == 0 || !reflect.DeepEqual(d, want) {
		t.Errorf("OpenDispute = %+v, want %+v", d, want)
	}
	w.check(t, "OpenedAt", d.OpenedAt)
	if got, err := e.s.GetDispute(ctx, d.ID); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("GetDispute = %+v, %v; want %+v", got, err, d)
	}
	if _, err := e.s.GetDispute(ctx, d.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDispute(unknown) = %v, want ErrNotFound", err)
	}
	e.checkPick("after OpenDispute", c1.ID, store.PickDisputed, "qa-2")
	if got := e.review(orig.ID); !reflect.DeepEqual(got, orig) {
		t.Errorf("opening a dispute changed the review: %+v", got)
	}

	// One open dispute per review.
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "again", AssigneeID: "qa-3"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second OpenDispute = %v, want ErrConflict", err)
	}
	e.checkPick("after a second OpenDispute", c1.ID, store.PickDisputed, "qa-2")
	if got, err := e.s.ListDisputes(ctx, store.DisputeFilter{PickID: c1.ID}); err != nil || !slices.Equal(disputeIDs(got), []int64{d.ID}) {
		t.Errorf("disputes of the pick = %v, %v; want only %d", disputeIDs(got), err, d.ID)
	}

	// The original inspector can no longer touch the pick; the assignee
	// must name the dispute.
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-1", 99, "A"), store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview by the original inspector = %v, want ErrConflict", err)
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-1")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft by the original inspector = %v, want ErrConflict", err)
	}
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-2", 99, "A"), store.Feedback{}); err == nil {
		t.Error("FinalizeReview of a disputed pick without the dispute id succeeded")
	}
	if got := e.review(orig.ID); !reflect.DeepEqual(got, orig) {
		t.Errorf("refused finalisations changed the disputed review: %+v", got)
	}
	if got := e.feedback(store.FeedbackFilter{}); len(got) != 1 {
		t.Errorf("%d feedback records after refused finalisations, want 1", len(got))
	}

	// The assignee drafts and finalises the re-scoring.
	rd := e.draftOf(c1, "qa-2")
	rd.DisputeID = d.ID
	redraft := e.saveDraft(rd)
	if redraft.DisputeID != d.ID || redraft.ID == orig.ID {
		t.Errorf("re-scoring draft = %+v", redraft)
	}
	in := e.finalOf(c1, "qa-2", 85, "B")
	in.DisputeID = d.ID
	w = begin()
	nr, nfb := e.finalize(in, store.Feedback{ShareAsExample: true})
	w = w.close()
	wantNew := e.expect(in, c1, store.ReviewFinal)
	wantNew.SupersedesID = orig.ID
	checkReview(t, "re-scored review", nr, wantNew)
	if nr.ID != redraft.ID {
		t.Errorf("re-scored review id %d, want the assignee's draft %d", nr.ID, redraft.ID)
	}
	if got := e.review(nr.ID); !reflect.DeepEqual(got, nr) {
		t.Errorf("GetReview(re-scored) = %+v, want what FinalizeReview returned %+v", got, nr)
	}
	if got, err := e.s.GetFeedback(ctx, nfb.ID); err != nil || !reflect.DeepEqual(got, nfb) {
		t.Errorf("GetFeedback(re-scoring record) = %+v, %v; want what FinalizeReview returned %+v", got, err, nfb)
	}
	old := e.review(orig.ID)
	wantOld := orig
	wantOld.Status, wantOld.SupersededByID, wantOld.UpdatedAt = store.ReviewRetracted, nr.ID, old.UpdatedAt
	if !reflect.DeepEqual(old, wantOld) {
		t.Errorf("disputed review after re-scoring:\n got %+v\nwant %+v", old, wantOld)
	}
	w.check(t, "retracted UpdatedAt", old.UpdatedAt)
	resolved, err := e.s.GetDispute(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantD := d
	wantD.Status, wantD.ResolutionID, wantD.ResolvedAt = store.DisputeResolved, nr.ID, resolved.ResolvedAt
	if !reflect.DeepEqual(resolved, wantD) {
		t.Errorf("resolved dispute = %+v, want %+v", resolved, wantD)
	}
	w.check(t, "ResolvedAt", resolved.ResolvedAt)
	if nfb.ID <= fb1.ID || nfb.SupersedesID != fb1.ID || !reflect.DeepEqual(nfb.Review, nr) || nfb.SupervisorID != "sup-1" ||
		nfb.TeamID != "team-1" || !nfb.ShareAsExample || nfb.CoachingRequired {
		t.Errorf("re-scoring's record = %+v; want one superseding %d", nfb, fb1.ID)
	}
	if got, err := e.s.GetFeedback(ctx, fb1.ID); err != nil || got.Review.ID != orig.ID || got.SupersedesID != 0 {
		t.Errorf("the first record = %+v, %v; want it kept, reporting review %d", got, err, orig.ID)
	}
	if got := feedbackIDs(e.feedback(store.FeedbackFilter{})); !slices.Equal(got, []int64{fb1.ID, nfb.ID}) {
		t.Errorf("records = %v, want %v", got, []int64{fb1.ID, nfb.ID})
	}
	e.checkPick("after re-scoring", c1.ID, store.PickReviewed, "qa-2")

	// Done: nobody finalises the pick again, the retracted review cannot be
	// disputed, and the new one can.
	for _, insp := range []string{"qa-1", "qa-2"} {
		r := e.finalOf(c1, insp, 10, "F")
		r.DisputeID = d.ID
		if _, _, err := e.s.FinalizeReview(ctx, r, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("FinalizeReview by %s after the dispute = %v, want ErrConflict", insp, err)
		}
	}
	if got := e.review(nr.ID); !reflect.DeepEqual(got, nr) {
		t.Errorf("re-scored review changed: %+v", got)
	}
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("OpenDispute on a retracted review = %v, want ErrConflict", err)
	}
	d2, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: nr.ID, OpenedBy: "sup-1", Reason: "still wrong", AssigneeID: "qa-3"})
	if err != nil || d2.Status != store.DisputeOpen || d2.ID == d.ID {
		t.Fatalf("OpenDispute on the re-scored review = %+v, %v", d2, err)
	}
	e.checkPick("second dispute", c1.ID, store.PickDisputed, "qa-3")
	// A resolved dispute's id does not let its assignee in again.
	stale := e.finalOf(c1, "qa-3", 10, "F")
	stale.DisputeID = d.ID
	if _, _, err := e.s.FinalizeReview(ctx, stale, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview naming a resolved dispute = %v, want ErrConflict", err)
	}
	stale.DisputeID = d2.ID
	third, tfb := e.finalize(stale, store.Feedback{})
	if third.SupersedesID != nr.ID || tfb.SupersedesID != nfb.ID {
		t.Errorf("second re-scoring supersedes review %d record %d, want %d and %d", third.SupersedesID, tfb.SupersedesID, nr.ID, nfb.ID)
	}
	if got := e.review(nr.ID); got.Status != store.ReviewRetracted || got.SupersededByID != third.ID {
		t.Errorf("first re-scoring after the second = %s superseded by %d", got.Status, got.SupersededByID)
	}
}

// testDisputeConcurrent opens disputes on one review at once: one wins.
func testDisputeConcurrent(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	c1 := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"))["c1"]
	r, _ := e.finalize(e.finalOf(c1, "qa-1", 40, "F"), store.Feedback{})
	const n = 4
	var ok, conflicts atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range n {
		wg.Go(func() {
			<-start
			assignee := []string{"qa-2", "qa-3"}[i%2]
			_, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: strconv.Itoa(i), AssigneeID: assignee})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				t.Errorf("OpenDispute: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || conflicts.Load() != n-1 {
		t.Errorf("racing OpenDispute: %d opened, %d conflicts; want 1 and %d", ok.Load(), conflicts.Load(), n-1)
	}
	ds, err := e.s.ListDisputes(ctx, store.DisputeFilter{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("ListDisputes = %+v, %v; want one", ds, err)
	}
	e.checkPick("after racing disputes", c1.ID, store.PickDisputed, ds[0].AssigneeID)
}

func testListDisputes(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("d1", "a2", "random", 1, "qa-1"), pick("e1", "a3", "random", 1, "qa-1"))
	open := func(ext, assignee string) store.Dispute {
		t.Helper()
		r, _ := e.finalize(e.finalOf(ps[ext], "qa-1", 50, "D"), store.Feedback{})
		d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup", Reason: "why " + ext, AssigneeID: assignee})
		if err != nil {
			t.Fatalf("OpenDispute: %v", err)
		}
		return d
	}
	d1 := open("c1", "qa-2")
	d2 := open("d1", "qa-3")
	d3 := open("c2", "qa-2")
	d4 := open("e1", "qa-3")
	res := e.finalOf(ps["c1"], "qa-2", 80, "B")
	res.DisputeID = d1.ID
	e.finalize(res, store.Feedback{})
	if got, _ := e.s.GetDispute(ctx, d1.ID); got.Status != store.DisputeResolved {
		t.Fatalf("dispute %d is %s after re-scoring", d1.ID, got.Status)
	}
	for _, tc := range []struct {
		f    store.DisputeFilter
		want []store.Dispute
	}{
		{store.DisputeFilter{}, []store.Dispute{d4, d3, d2, d1}},
		{store.DisputeFilter{SupervisorID: "sup-1"}, []store.Dispute{d4, d3, d1}},
		{store.DisputeFilter{SupervisorID: "sup-2"}, []store.Dispute{d2}},
		{store.DisputeFilter{SupervisorID: "nobody"}, nil},
		{store.DisputeFilter{AssigneeID: "qa-2"}, []store.Dispute{d3, d1}},
		{store.DisputeFilter{AssigneeID: "qa-1"}, nil},
		{store.DisputeFilter{PickID: ps["d1"].ID}, []store.Dispute{d2}},
		{store.DisputeFilter{Status: store.DisputeOpen}, []store.Dispute{d4, d3, d2}},
		{store.DisputeFilter{Status: store.DisputeResolved}, []store.Dispute{d1}},
		{store.DisputeFilter{SupervisorID: "sup-1", Status: store.DisputeOpen}, []store.Dispute{d4, d3}},
		{store.DisputeFilter{SupervisorID: "sup-1", AssigneeID: "qa-3"}, []store.Dispute{d4}},
		{store.DisputeFilter{AssigneeID: "qa-2", PickID: ps["c1"].ID, Status: store.DisputeResolved}, []store.Dispute{d1}},
		// Pages, newest first.
		{store.DisputeFilter{Limit: 2}, []store.Dispute{d4, d3}},
		{store.DisputeFilter{BeforeID: d3.ID, Limit: 2}, []store.Dispute{d2, d1}},
		{store.DisputeFilter{BeforeID: d1.ID, Limit: 2}, nil},
		{store.DisputeFilter{SupervisorID: "sup-1", BeforeID: d4.ID}, []store.Dispute{d3, d1}},
	} {
		got, err := e.s.ListDisputes(ctx, tc.f)
		if err != nil {
			t.Fatalf("ListDisputes(%+v): %v", tc.f, err)
		}
		if !slices.Equal(disputeIDs(got), disputeIDs(tc.want)) {
			t.Errorf("ListDisputes(%+v) = %v, want %v", tc.f, disputeIDs(got), disputeIDs(tc.want))
		}
		for _, d := range got {
			if g, err := e.s.GetDispute(ctx, d.ID); err != nil || !reflect.DeepEqual(g, d) {
				t.Errorf("ListDisputes row %+v differs from GetDispute %+v (%v)", d, g, err)
			}
		}
	}
	// The supervisor is the agent's current one.
	e.agents(store.Agent{AgentID: "a3", Name: "A3", TeamID: "team-2", SupervisorID: "sup-2", Active: true})
	if got, err := e.s.ListDisputes(ctx, store.DisputeFilter{SupervisorID: "sup-2"}); err != nil || !slices.Equal(disputeIDs(got), []int64{d4.ID, d2.ID}) {
		t.Errorf("ListDisputes(sup-2) after a3 moved = %v, %v; want %v", disputeIDs(got), err, []int64{d4.ID, d2.ID})
	}
}

// ---- reports

func reportRows(t *testing.T, s store.Store, f store.ReportFilter) []store.ReportRow {
	t.Helper()
	got, err := s.ReportRows(t.Context(), f)
	if err != nil {
		t.Fatalf("ReportRows: %v", err)
	}
	slices.SortFunc(got, compareRows)
	for i := range got {
		got[i].Flags = nilIfEmpty(got[i].Flags)
		got[i].Ratings = nilIfEmpty(got[i].Ratings)
	}
	return got
}

// reportRow is what a report should read of final review r.
func reportRow(r store.Review) store.ReportRow {
	ratings := expectRatings(r.Ratings)
	for i := range ratings {
		ratings[i].Comment = ""
	}
	return store.ReportRow{AgentID: r.AgentID, Week: r.Week, Score: r.Score, Critical: r.Critical,
		Flags: nilIfEmpty(r.Flags), Ratings: nilIfEmpty(ratings)}
}

func testReportRows(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	w45 := e.picks("2026-W45", pick("p45a1", "a1", "random", 1, "qa-1"))
	w46 := e.picks("2026-W46", pick("p46a1", "a1", "random", 1, "qa-1"), pick("p46a3", "a3", "random", 1, "qa-1"),
		pick("p46a2", "a2", "random", 1, "qa-2"))
	w47 := e.picks(week47, pick("p47a1", "a1", "random", 1, "qa-1"), pick("p47a1x", "a1", "complaint", 2, "qa-1"),
		pick("p47a1d", "a1", "random", 3, "qa-1"), pick("p47a2", "a2", "random", 1, "qa-2"), pick("p47a2p", "a2", "random", 2, ""))
	w48 := e.picks("2026-W48", pick("p48a2", "a2", "random", 1, "qa-2"))

	final := func(p store.Pick, insp string, score float64, grade string) store.Review {
		t.Helper()
		r, _ := e.finalize(e.finalOf(p, insp, score, grade), store.Feedback{})
		return r
	}
	final(w45["p45a1"], "qa-1", 91, "A")
	in46 := final(w46["p46a1"], "qa-1", 81, "B")
	final(w46["p46a3"], "qa-1", 61, "D")
	a2in46 := final(w46["p46a2"], "qa-2", 71.25, "C")
	// A final review with no ratings or flags at all.
	bare := e.finalOf(w47["p47a1"], "qa-1", 100, "A")
	bare.Ratings, bare.Flags = nil, nil
	in47, _ := e.finalize(bare, store.Feedback{})
	// Disputed and re-scored: only the re-scoring counts.
	disputed := final(w47["p47a1x"], "qa-1", 0, "F")
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: disputed.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"})
	if err != nil {
		t.Fatal(err)
	}
	rescored := e.finalOf(w47["p47a1x"], "qa-3", 55.5, "D")
	rescored.DisputeID = d.ID
	rescoredReview, _ := e.finalize(rescored, store.Feedback{})
	// Disputed and not yet re-scored: the disputed review counts still.
	openly := final(w47["p47a1d"], "qa-1", 33, "F")
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: openly.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"}); err != nil {
		t.Fatal(err)
	}
	// Drafts never count.
	e.saveDraft(e.draftOf(w47["p47a2"], "qa-2"))
	final(w48["p48a2"], "qa-2", 77, "C")

	got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1", "a2"}, FromWeek: "2026-W46", ToWeek: week47})
	want := []store.ReportRow{reportRow(in46), reportRow(openly), reportRow(rescoredReview), reportRow(in47), reportRow(a2in46)}
	slices.SortFunc(want, compareRows)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReportRows(a1, a2, W46–W47):\n got %+v\nwant %+v", got, want)
	}
	// Bounds are inclusive.
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1", "a2", "a3"}, FromWeek: "2026-W46", ToWeek: "2026-W46"}); len(got) != 3 {
		t.Errorf("ReportRows(W46 only) = %+v, want the three W46 reviews", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a2"}, FromWeek: "2026-W48", ToWeek: "2026-W48"}); len(got) != 1 || got[0].Score != 77 {
		t.Errorf("ReportRows(a2, W48) = %+v", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1"}, FromWeek: "2026-W40", ToWeek: "2026-W52"}); len(got) != 5 {
		t.Errorf("ReportRows(a1, all weeks) = %d rows, want 5", len(got))
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"nobody"}, FromWeek: "2026-W40", ToWeek: "2026-W52"}); len(got) != 0 {
		t.Errorf("ReportRows(unknown agent) = %+v", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{FromWeek: "2026-W40", ToWeek: "2026-W52"}); len(got) != 0 {
		t.Errorf("ReportRows(no agents) = %+v", got)
	}
	if got := reportRows(t, e.s, store.ReportFilter{AgentIDs: []string{"a1", "a2"}, FromWeek: week47, ToWeek: "2026-W46"}); len(got) != 0 {
		t.Errorf("ReportRows(empty range) = %+v", got)
	}
}

func compareRows(a, b store.ReportRow) int {
	return cmp.Or(cmp.Compare(a.AgentID, b.AgentID), cmp.Compare(a.Week, b.Week), cmp.Compare(a.Score, b.Score))
}

// testReportRowsManyAgents asks for more agents than one query binds,
// with reviewed agents on both sides of every chunk boundary.
func testReportRowsManyAgents(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	const n = 1203
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%04d", i)
	}
	reviewed := []int{0, 1, 499, 500, 501, 999, 1000, 1001, 1202}
	var specs []store.Pick
	var agents []store.Agent
	for _, i := range reviewed {
		agents = append(agents, store.Agent{AgentID: ids[i], Name: ids[i], TeamID: "team-1", SupervisorID: "sup-1", Active: true})
		specs = append(specs, pick("t-"+ids[i], ids[i], "random", 1, "qa-1"))
	}
	e.agents(agents...)
	ps := e.picks(week47, specs...)
	var want []store.ReportRow
	for k, i := range reviewed {
		r, _ := e.finalize(e.finalOf(ps["t-"+ids[i]], "qa-1", float64(k), "C"), store.Feedback{})
		want = append(want, reportRow(r))
	}
	slices.SortFunc(want, compareRows)
	got := reportRows(t, e.s, store.ReportFilter{AgentIDs: ids, FromWeek: week47, ToWeek: week47})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReportRows(%d agents) = %d rows, want %d:\n got %+v\nwant %+v", n, len(got), len(want), got, want)
	}
}

// ---- audit

// event is what a test expects of an audit event.
type event struct{ actor, action, entity, id string }

func (ev event) String() string { return ev.actor + " " + ev.action + " " + ev.entity + "/" + ev.id }

func eventOf(ev store.AuditEvent) event { return event{ev.Actor, ev.Action, ev.Entity, ev.EntityID} }

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

// testAudit does one of everything and checks each step wrote its events,
// in the steps' order, and that refused writes wrote none.
func testAudit(t *testing.T, s store.Store) {
	w := begin()
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"))
	c1 := ps["c1"]
	var steps [][]event // each step's events, in any order within the step
	steps = append(steps, []event{{"system", "rubric.create", "rubric", "1"}, {"system", "rubric.activate", "rubric", "1"}})

	v2, err := e.s.AddRubric(ctx, rubricDoc(2), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.create", "rubric", idStr(v2.Version)}})
	v3, err := e.s.AddRubric(ctx, rubricDoc(3), true, "admin-2")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin-2", "rubric.create", "rubric", idStr(v3.Version)}, {"admin-2", "rubric.activate", "rubric", idStr(v3.Version)}})
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(4), "admin"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.update", "rubric", idStr(v2.Version)}})
	if _, err := e.s.ActivateRubric(ctx, v2.Version, "admin"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.activate", "rubric", idStr(v2.Version)}})
	e.rubric = v2.Version

	d := e.saveDraft(e.draftOf(c1, "qa-1"))
	steps = append(steps, []event{{"qa-1", "review.create", "review", idStr(d.ID)}})
	e.saveDraft(e.draftOf(c1, "qa-1"))
	steps = append(steps, []event{{"qa-1", "review.update", "review", idStr(d.ID)}})
	r, fb := e.finalize(e.finalOf(c1, "qa-1", 30, "F"), store.Feedback{})
	steps = append(steps, []event{{"qa-1", "review.finalize", "review", idStr(r.ID)}, {"qa-1", "feedback.create", "feedback", idStr(fb.ID)}})
	if _, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "note"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"sup-1", "feedback.acknowledge", "feedback", idStr(fb.ID)}})

	// Refused writes record nothing.
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(5), "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRubric(locked) = %v", err)
	}
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-1", 1, "F"), store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second FinalizeReview = %v", err)
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-2")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft by another inspector = %v", err)
	}
	if _, err := e.s.AcknowledgeFeedback(ctx, fb.ID+100, "sup-1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AcknowledgeFeedback(unknown) = %v", err)
	}
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: d.ID + 100, OpenedBy: "sup-1", AssigneeID: "qa-2"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenDispute(unknown) = %v", err)
	}
	if _, err := e.s.ActivateRubric(ctx, 99, "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActivateRubric(99) = %v", err)
	}
	if _, err := e.s.EnsureRubric(ctx, rubricDoc(9), "system"); err != nil {
		t.Fatal(err) // a rubric exists: writes nothing
	}

	disp, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"})
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"sup-1", "dispute.open", "dispute", idStr(disp.ID)}})
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second OpenDispute = %v", err)
	}
	in := e.finalOf(c1, "qa-2", 70, "C")
	in.DisputeID = disp.ID
	nr, nfb := e.finalize(in, store.Feedback{})
	steps = append(steps, []event{
		{"qa-2", "review.retract", "review", idStr(r.ID)}, {"qa-2", "dispute.resolve", "dispute", idStr(disp.ID)},
		{"qa-2", "review.finalize", "review", idStr(nr.ID)}, {"qa-2", "feedback.create", "feedback", idStr(nfb.ID)},
	})
	w = w.close()

	all := e.audit(store.AuditFilter{})
	var wantN int
	for _, st := range steps {
		wantN += len(st)
	}
	if len(all) != wantN {
		t.Errorf("%d audit events, want %d:", len(all), wantN)
		for _, ev := range all {
			t.Logf("  %d %s", ev.ID, eventOf(ev))
		}
	}
	at := 0
	for i, st := range steps {
		if at+len(st) > len(all) {
			t.Fatalf("step %d: events missing", i)
		}
		got := make([]string, len(st))
		want := make([]string, len(st))
		for k := range st {
			got[k] = eventOf(all[at+k]).String()
			want[k] = st[k].String()
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("step %d events = %q, want %q", i, got, want)
		}
		at += len(st)
	}
	for i, ev := range all {
		if i > 0 && ev.ID <= all[i-1].ID {
			t.Errorf("audit ids not increasing: %d after %d", ev.ID, all[i-1].ID)
		}
		w.check(t, fmt.Sprintf("event %d At", ev.ID), ev.At)
		if !json.Valid([]byte(ev.Detail)) {
			t.Errorf("event %d detail is not JSON: %q", ev.ID, ev.Detail)
		}
	}
	// The dispute's detail names the review; the finalisations' the item.
	for _, tc := range []struct {
		action string
		n      int
		key    string
		want   int64
	}{
		{"dispute.open", 1, "review_id", r.ID},
		{"review.finalize", 2, "item_id", c1.ID},
	} {
		evs := actions(all, tc.action)
		if len(evs) != tc.n {
			t.Errorf("%d %s events, want %d", len(evs), tc.action, tc.n)
		}
		for _, ev := range evs {
			var detail map[string]any
			if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || detail[tc.key] != float64(tc.want) {
				t.Errorf("%s detail = %s, want %s %d", tc.action, ev.Detail, tc.key, tc.want)
			}
		}
	}
}

func testAuditFilters(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-2"))
	d1 := e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	d2 := e.saveDraft(e.draftOf(ps["c2"], "qa-2"))
	r1, fb1 := e.finalize(e.finalOf(ps["c1"], "qa-1", 30, "F"), store.Feedback{})
	if _, err := e.s.AcknowledgeFeedback(ctx, fb1.ID, "sup-1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AddRubric(ctx, rubricDoc(2), false, "qa-1"); err != nil { // an actor in two roles
		t.Fatal(err)
	}
	all := e.audit(store.AuditFilter{})
	for _, tc := range []struct {
		f    store.AuditFilter
		want func(ev store.AuditEvent) bool
	}{
		{store.AuditFilter{Actor: "qa-1"}, func(ev store.AuditEvent) bool { return ev.Actor == "qa-1" }},
		{store.AuditFilter{Actor: "nobody"}, func(store.AuditEvent) bool { return false }},
		{store.AuditFilter{Entity: "review"}, func(ev store.AuditEvent) bool { return ev.Entity == "review" }},
		{store.AuditFilter{Entity: "review", EntityID: idStr(d1.ID)}, func(ev store.AuditEvent) bool {
			return ev.Entity == "review" && ev.EntityID == idStr(d1.ID)
		}},
		{store.AuditFilter{EntityID: idStr(fb1.ID)}, func(ev store.AuditEvent) bool { return ev.EntityID == idStr(fb1.ID) }},
		{store.AuditFilter{Actor: "qa-2", Entity: "review"}, func(ev store.AuditEvent) bool { return ev.Actor == "qa-2" && ev.Entity == "review" }},
		{store.AuditFilter{Actor: "qa-1", Entity: "rubric"}, func(ev store.AuditEvent) bool { return ev.Actor == "qa-1" && ev.Entity == "rubric" }},
		{store.AuditFilter{AfterID: all[2].ID}, func(ev store.AuditEvent) bool { return ev.ID > all[2].ID }},
	} {
		var want []store.AuditEvent
		for _, ev := range all {
			if tc.want(ev) {
				want = append(want, ev)
			}
		}
		if got := e.audit(tc.f); !reflect.DeepEqual(nilIfEmpty(got), want) {
			t.Errorf("ListAudit(%+v) = %+v\nwant %+v", tc.f, got, want)
		}
	}
	// The draft of c1 has its create, update and finalize, in order.
	var acts []string
	for _, ev := range e.audit(store.AuditFilter{Entity: "review", EntityID: idStr(r1.ID)}) {
		acts = append(acts, ev.Action)
	}
	if want := []string{"review.create", "review.update", "review.finalize"}; r1.ID != d1.ID || !slices.Equal(acts, want) {
		t.Errorf("events of review %d = %q, want %q", r1.ID, acts, want)
	}
	if got := e.audit(store.AuditFilter{Entity: "review", EntityID: idStr(d2.ID)}); len(got) != 1 || got[0].Actor != "qa-2" || got[0].Action != "review.create" {
		t.Errorf("events of review %d = %+v", d2.ID, got)
	}
	// Paging.
	for _, limit := range []int{1, 3, 100} {
		var paged []store.AuditEvent
		f := store.AuditFilter{Limit: limit}
		for range len(all) + 2 {
			page := e.audit(f)
			if len(page) > limit {
				t.Fatalf("ListAudit(limit %d) returned %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			f.AfterID = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(paged, all) {
			t.Errorf("ListAudit paged by %d = %d events, want %d in order", limit, len(paged), len(all))
		}
	}
	if got := e.audit(store.AuditFilter{Actor: "qa-1", Limit: 2}); len(got) != 2 || got[0].Actor != "qa-1" || got[1].Actor != "qa-1" {
		t.Errorf("ListAudit(qa-1, limit 2) = %+v", got)
	}
}

// testFinalizeVersusReassign races finalising picks against an admin
// handing them to another inspector: for each pick exactly one of the two
// wins, and a reviewed pick's final review is by its inspector.
func testFinalizeVersusReassign(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 40
	var specs []store.Pick
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("r%02d", i), "a1", "random", i+1, "qa-1"))
	}
	ps := e.picks(week47, specs...)
	type outcome struct{ finalized, reassigned bool }
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i, sp := range specs {
		p := ps[sp.ExternalID]
		wg.Go(func() {
			<-start
			_, _, err := e.s.FinalizeReview(ctx, e.finalOf(p, "qa-1", 80, "B"), store.Feedback{})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("FinalizeReview: %v", err)
			}
			outcomes[i].finalized = err == nil
		})
		wg.Go(func() {
			<-start
			_, err := e.s.UpdatePick(ctx, p.ID, store.PickAssigned, store.Pick{InspectorID: "qa-2", Status: store.PickAssigned})
			if err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("UpdatePick: %v", err)
			}
			outcomes[i].reassigned = err == nil
		})
	}
	close(start)
	wg.Wait()
	finals := map[int64]store.Review{}
	for _, f := range e.feedback(store.FeedbackFilter{}) {
		finals[f.Review.PickID] = f.Review
	}
	for i, sp := range specs {
		p := e.pickNow(ps[sp.ExternalID].ID)
		o := outcomes[i]
		if o.finalized == o.reassigned {
			t.Errorf("%s: finalised %v and reassigned %v; want exactly one", p.ExternalID, o.finalized, o.reassigned)
		}
		r, reviewed := finals[p.ID]
		switch {
		case reviewed && (p.Status != store.PickReviewed || p.InspectorID != r.InspectorID):
			t.Errorf("%s is %s for %s but has a final review by %s", p.ExternalID, p.Status, p.InspectorID, r.InspectorID)
		case !reviewed && (p.Status != store.PickAssigned || p.InspectorID != "qa-2"):
			t.Errorf("%s is %s for %s without a final review", p.ExternalID, p.Status, p.InspectorID)
		}
	}
}

// testDraftRaces saves one draft from several goroutines at once (all
// succeed, into one row), then races saves against finalisations: a save
// either lands before the finalisation (whose review replaces it) or is
// refused; it never leaves a draft behind on a reviewed pick.
func testDraftRaces(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 20
	specs := []store.Pick{pick("c0", "a1", "random", 1, "qa-1")}
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("r%02d", i), "a1", "random", i+2, "qa-1"))
	}
	ps := e.picks(week47, specs...)

	// Lock the rubric version first, so that it does not serialise the saves.
	e.saveDraft(e.draftOf(ps["r00"], "qa-1"))
	c0 := ps["c0"]
	ids := make(chan int64, 8)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range 8 {
		wg.Go(func() {
			<-start
			r := e.draftOf(c0, "qa-1")
			r.Comment = strconv.Itoa(i)
			d, err := e.s.SaveDraft(ctx, r)
			if err != nil {
				t.Errorf("racing SaveDraft: %v", err)
				return
			}
			ids <- d.ID
		})
	}
	close(start)
	wg.Wait()
	close(ids)
	var got []int64
	for id := range ids {
		got = append(got, id)
	}
	if len(got) != 8 || len(slices.Compact(got)) != 1 {
		t.Errorf("racing SaveDraft returned review ids %v; want 8 saves of one draft", got)
	}
	if len(got) == 0 {
		t.FailNow()
	}
	if d, err := e.s.DraftOf(ctx, c0.ID, "qa-1"); err != nil || d.ID != got[0] {
		t.Errorf("DraftOf after racing saves = %+v, %v", d, err)
	}
	if evs := e.audit(store.AuditFilter{Entity: "review", EntityID: idStr(got[0])}); len(actions(evs, "review.create")) != 1 || len(actions(evs, "review.update")) != 7 {
		t.Errorf("racing saves wrote %d review.create and %d review.update events, want 1 and 7",
			len(actions(evs, "review.create")), len(actions(evs, "review.update")))
	}

	for i := range n {
		e.saveDraft(e.draftOf(ps[fmt.Sprintf("r%02d", i)], "qa-1"))
	}
	start = make(chan struct{})
	for i := range n {
		p := ps[fmt.Sprintf("r%02d", i)]
		wg.Go(func() {
			<-start
			if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(p, "qa-1", 80, "B"), store.Feedback{}); err != nil {
				t.Errorf("FinalizeReview(%s): %v", p.ExternalID, err)
			}
		})
		wg.Go(func() {
			<-start
			if _, err := e.s.SaveDraft(ctx, e.draftOf(p, "qa-1")); err != nil && !errors.Is(err, store.ErrConflict) {
				t.Errorf("SaveDraft(%s): %v", p.ExternalID, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		p := ps[fmt.Sprintf("r%02d", i)]
		if d, err := e.s.DraftOf(ctx, p.ID, "qa-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s is reviewed but has a draft: %+v, %v", p.ExternalID, d, err)
		}
		e.checkPick("after racing save and finalise", p.ID, store.PickReviewed, "qa-1")
	}
}

// testDisputeVersusResolution races re-scoring a disputed review against
// a second dispute on it: the second dispute must be refused whichever
// comes first (the first dispute is open, or the review is retracted).
func testDisputeVersusResolution(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const n = 20
	var specs []store.Pick
	for i := range n {
		specs = append(specs, pick(fmt.Sprintf("r%02d", i), "a1", "random", i+1, "qa-1"))
	}
	ps := e.picks(week47, specs...)
	type item struct {
		p       store.Pick
		review  store.Review
		dispute store.Dispute
	}
	items := make([]item, n)
	for i, sp := range specs {
		p := ps[sp.ExternalID]
		r, _ := e.finalize(e.finalOf(p, "qa-1", 40, "F"), store.Feedback{})
		d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: "first", AssigneeID: "qa-2"})
		if err != nil {
			t.Fatal(err)
		}
		items[i] = item{p, r, d}
	}
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for _, it := range items {
		wg.Go(func() {
			<-start
			in := e.finalOf(it.p, "qa-2", 80, "B")
			in.DisputeID = it.dispute.ID
			if _, _, err := e.s.FinalizeReview(ctx, in, store.Feedback{}); err != nil {
				t.Errorf("FinalizeReview(%s): %v", it.p.ExternalID, err)
			}
		})
		wg.Go(func() {
			<-start
			d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: it.review.ID, OpenedBy: "sup-1", Reason: "second", AssigneeID: "qa-3"})
			if err == nil {
				t.Errorf("%s: a second dispute %+v was opened on review %d while its first was being resolved", it.p.ExternalID, d, it.review.ID)
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("OpenDispute(%s): %v", it.p.ExternalID, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, it := range items {
		e.checkPick("after racing resolution and dispute", it.p.ID, store.PickReviewed, "qa-2")
	}
}

// testReportRowsDisputeRace resolves a dispute while other reviews of the
// same agent and week are finalised at the same moment: the re-scoring
// rewrites the week's report row from the reviews, and must neither drop a
// review finalised alongside it nor keep the retracted one.
func testReportRowsDisputeRace(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	const others = 5
	for round := range 6 {
		week := fmt.Sprintf("2026-W%02d", 40+round)
		specs := []store.Pick{pick(fmt.Sprintf("r%d-orig", round), "a1", "random", 1, "qa-1")}
		for i := range others {
			specs = append(specs, pick(fmt.Sprintf("r%d-x%d", round, i), "a1", "random", i+2, []string{"qa-1", "qa-3"}[i%2]))
		}
		ps := e.picks(week, specs...)
		orig, _ := e.finalize(e.finalOf(ps[specs[0].ExternalID], "qa-1", 10, "F"), store.Feedback{})
		d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: orig.ID, OpenedBy: "sup-1", Reason: "race", AssigneeID: "qa-2"})
		if err != nil {
			t.Fatalf("OpenDispute: %v", err)
		}
		rescore := e.finalOf(ps[specs[0].ExternalID], "qa-2", 99, "A")
		rescore.DisputeID = d.ID
		jobs := []store.Review{rescore}
		want := []float64{99}
		for i, sp := range specs[1:] {
			jobs = append(jobs, e.finalOf(ps[sp.ExternalID], sp.InspectorID, float64(50+i), "C"))
			want = append(want, float64(50+i))
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, j := range jobs {
			wg.Go(func() {
				<-start
				if _, _, err := e.s.FinalizeReview(ctx, j, store.Feedback{}); err != nil {
					t.Errorf("FinalizeReview(pick %d): %v", j.PickID, err)
				}
			})
		}
		close(start)
		wg.Wait()
		rows, err := e.s.ReportRows(ctx, store.ReportFilter{AgentIDs: []string{"a1"}, FromWeek: week, ToWeek: week})
		if err != nil {
			t.Fatalf("ReportRows: %v", err)
		}
		var got []float64
		for _, r := range rows {
			got = append(got, r.Score)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: report scores %v, want %v (the re-score and every review finalised beside it, not the retracted 10)", round, got, want)
		}
	}
}
