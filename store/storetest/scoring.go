package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"qa-sampling/store"
)

// reviewTests cover RubricStore, ReviewStore, FeedbackStore, DisputeStore,
// ReportStore and AuditStore (tests in the files of those names); Run adds
// them to its list.
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
	{"ListReviews", testListReviews},
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
	{"ReassignPicks", testReassignPicks},
	{"ReportRows", testReportRows},
	{"ReportRowsManyAgents", testReportRowsManyAgents},
	{"ReportRowsDisputeRace", testReportRowsDisputeRace},
	{"Audit", testAudit},
	{"AuditFilters", testAuditFilters},
	{"AuditProgramme", testAuditProgramme},
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

func idStr(n int64) string { return strconv.FormatInt(n, 10) }
