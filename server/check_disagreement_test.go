package server

import (
	"maps"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestDisagreementOrderIsFrozenWithTheRun: under check_disagreement a
// run's rule order comes from the reviews finalised before it and is
// stored with it. A dispute re-scored after the run retracts a review the
// order rests on and new reviews are finalised, so the order recomputed
// now would differ; the run's top-up, and the preview of its week, still
// take the stored order (a late chat both check rules match is named
// after the rule the run put first), and GetRun / ListRuns show it.
func TestDisagreementOrderIsFrozenWithTheRun(t *testing.T) {
	f := newDisagreementFixture(t)
	e, sampling, push, w47, final, item := f.e, f.sampling, f.push, f.w47, f.final, f.item
	policy, updated := f.policy, f.updated
	frozen := []string{"check:forbidden_phrase", "check:no_closing"}

	preview, err := sampling.PreviewWeek(e.admin, &qav1.PreviewWeekRequest{Week: "2026-W47"})
	if err != nil {
		t.Fatal(err)
	}
	if got := preview.GetDisagreement().GetRules(); !slices.Equal(got, frozen) {
		t.Errorf("preview's rule order %v, want %v", got, frozen)
	}
	if got := reasons(preview.GetPicks()); !maps.Equal(got, map[string]string{"n1": "check:forbidden_phrase"}) {
		t.Errorf("preview picks %v, want n1 for check:forbidden_phrase", got)
	}

	run, err := sampling.RunWeek(e.admin, &qav1.RunWeekRequest{Week: "2026-W47"})
	if err != nil {
		t.Fatal(err)
	}
	order := run.GetRun().GetDisagreement()
	if !slices.Equal(order.GetRules(), frozen) || order.GetFromWeek() != "2026-W46" || order.GetToWeek() != "2026-W46" ||
		order.GetReviews() != 1 || !order.GetReviewsBefore().AsTime().Equal(run.GetRun().GetCreatedAt().AsTime()) {
		t.Fatalf("run's order %v; want %v from W46's 1 review finalised before the run's creation %v", order, frozen,
			run.GetRun().GetCreatedAt().AsTime())
	}
	weights := map[string]*qav1.CheckWeight{}
	for _, w := range order.GetWeights() {
		weights[w.GetCheck()] = w
	}
	if w := weights["no_closing"]; w.GetTp() != 1 || w.GetFp() != 0 || w.GetWeight() != 0 || w.GetDimension() != "attitude" {
		t.Errorf("no_closing's weight %v, want tp 1, fp 0, weight 0 on attitude", w)
	}
	if w := weights["forbidden_phrase"]; w.GetTp() != 0 || w.GetFp() != 0 || w.GetWeight() != 1 {
		t.Errorf("forbidden_phrase's weight %v, want 1 (nothing to judge by)", w)
	}
	runID := run.GetRun().GetId()
	if got := reasons(listPicks(t, sampling, e, runID)); !maps.Equal(got, map[string]string{"n1": "check:forbidden_phrase"}) {
		t.Errorf("run picks %v, want n1 for check:forbidden_phrase", got)
	}

	// After the run: the review is disputed and re-scored passing (the
	// one counted is retracted), and another is finalised passing.
	d, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: final.GetReview().GetId(), Reason: "closed politely"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.review.SubmitReview(e.inspectors[d.GetDispute().GetAssigneeId()],
		&qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	itemB, inspectorB := e.itemOf(t, "agent-b")
	if _, err := e.review.SubmitReview(inspectorB, &qav1.SubmitReviewRequest{ItemId: itemB.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	// The scenario is meaningful: the order computed now, for a run made
	// at this run's creation or now, is the policy's.
	pv, err := e.store.GetPolicy(t.Context(), updated.GetPolicy().GetVersion())
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := decodePolicy(pv)
	if err != nil {
		t.Fatal(err)
	}
	week, _ := isoweek.Parse("2026-W47")
	for _, at := range []time.Time{run.GetRun().GetCreatedAt().AsTime(), time.Now()} {
		again, err := e.srv.Sampling.disagreementOrder(t.Context(), week, decoded, at)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(again.Rules, policy.Rules) {
			t.Fatalf("order recomputed at %v after the dispute %v, want the policy's %v (else this test shows nothing)", at, again.Rules, policy.Rules)
		}
	}

	// A late chat of agent-b, who has no pick yet: named after the first
	// of the two rules in the order the top-up takes them.
	push("n2", "agent-b", w47.Add(time.Hour))
	late := map[string]string{"n2": "check:forbidden_phrase"}
	preview, err = sampling.PreviewWeek(e.admin, &qav1.PreviewWeekRequest{Week: "2026-W47"})
	if err != nil {
		t.Fatal(err)
	}
	if preview.GetTopUpOfRun() != runID || !proto.Equal(preview.GetDisagreement(), order) || !maps.Equal(reasons(preview.GetPicks()), late) {
		t.Errorf("preview of the run week: run %d, order %v, picks %v; want run %d's order %v and %v",
			preview.GetTopUpOfRun(), preview.GetDisagreement().GetRules(), reasons(preview.GetPicks()), runID, frozen, late)
	}
	up, err := sampling.RunWeek(e.admin, &qav1.RunWeekRequest{Week: "2026-W47", TopUp: true})
	if err != nil {
		t.Fatal(err)
	}
	if up.GetTopUp().GetPicks() != 1 {
		t.Errorf("top-up added %d picks, want n2", up.GetTopUp().GetPicks())
	}
	want := map[string]string{"n1": "check:forbidden_phrase", "n2": "check:forbidden_phrase"}
	if got := reasons(listPicks(t, sampling, e, runID)); !maps.Equal(got, want) {
		t.Errorf("picks after the top-up %v, want %v (the run's order, not the policy's)", got, want)
	}
	got, err := sampling.GetRun(e.admin, &qav1.GetRunRequest{Id: runID})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got.GetRun().GetDisagreement(), order) {
		t.Errorf("GetRun's order %v, want the run's %v", got.GetRun().GetDisagreement(), order)
	}
	runs, err := sampling.ListRuns(e.admin, &qav1.ListRunsRequest{Week: "2026-W47"})
	if err != nil || len(runs.GetRuns()) != 1 || !proto.Equal(runs.GetRuns()[0].GetDisagreement(), order) {
		t.Errorf("ListRuns %v, %v; want the run with its order", runs.GetRuns(), err)
	}
	// The W46 run, under a policy without the option, has none.
	if old, err := sampling.ListRuns(e.admin, &qav1.ListRunsRequest{Week: flowWeek}); err != nil || len(old.GetRuns()) != 1 ||
		old.GetRuns()[0].GetDisagreement() != nil {
		t.Errorf("ListRuns(%s) %v, %v; want one run without an order", flowWeek, old.GetRuns(), err)
	}
}

// disagreementFixture is a server whose 2026-W46 run has one final review
// rating the attitude of a chat no_closing flagged failing (no_closing
// then has precision 1, weight 0, and forbidden_phrase, with nothing to
// judge by, weight 1), a W47 chat n1 of agent-a that both rules of the
// newest policy match (check:no_closing, check:forbidden_phrase, under
// check_disagreement over 1 week), and push to add more such chats.
type disagreementFixture struct {
	e        *scoringEnv
	sampling qav1.SamplingServiceClient
	push     func(id, agent string, at time.Time)
	w47      time.Time
	final    *qav1.SubmitReviewResponse
	item     *qav1.Pick
	policy   *qav1.Policy
	updated  *qav1.UpdatePolicyResponse
}

func newDisagreementFixture(t *testing.T) disagreementFixture {
	t.Helper()
	e := startScoring(t, DefaultConfig()) // 2026-W46 run, default policy
	f := disagreementFixture{e: e, sampling: qav1.NewSamplingServiceClient(e.conn), w47: flowChatStart.Add(7 * 24 * time.Hour)}
	ingest := qav1.NewIngestServiceClient(e.conn)
	ingestCtx := e.as(store.RoleIngest, "platform")
	item, inspector := e.itemOf(t, "agent-a")
	failing := []*qav1.DimensionRating{rating("attitude", 1), rating("knowledge", 5), rating("efficiency", 5),
		rating("communication", 5), rating("compliance", 5)}
	var err error
	f.item = item
	if f.final, err = e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: failing, Final: true}); err != nil {
		t.Fatal(err)
	}
	// A forbidden phrase and no closing: both rules match.
	f.push = func(id, agent string, at time.Time) {
		t.Helper()
		c := testChat(id, agent, at)
		c.Messages[1].Text = "您好，订单 " + id + " 绝对明天发出"
		if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: c}); err != nil {
			t.Fatal(err)
		}
	}
	f.push("n1", "agent-a", f.w47)
	p, err := f.sampling.GetPolicy(e.admin, &qav1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	f.policy = p.GetPolicy()
	f.policy.RandomPerAgent, f.policy.TargetedPerAgent, f.policy.NewHireExtra = 0, 3, 0
	f.policy.Rules = []string{"check:no_closing", "check:forbidden_phrase"}
	f.policy.CheckDisagreement = &qav1.CheckDisagreement{Weeks: 1}
	if f.updated, err = f.sampling.UpdatePolicy(e.admin, &qav1.UpdatePolicyRequest{Policy: f.policy}); err != nil {
		t.Fatal(err)
	}
	return f
}

// reasons maps each pick's chat to its reason.
func reasons(picks []*qav1.Pick) map[string]string {
	out := map[string]string{}
	for _, p := range picks {
		out[p.GetExternalId()] = p.GetReason()
	}
	return out
}

func listPicks(t *testing.T, sampling qav1.SamplingServiceClient, e *scoringEnv, runID int64) []*qav1.Pick {
	t.Helper()
	resp, err := sampling.ListPicks(e.admin, &qav1.ListPicksRequest{RunId: runID})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPicks()
}

// TestRunWithoutAStoredOrderTopsUp: a run of a check_disagreement policy
// made before orders were stored (none with it) is completed and topped
// up as before, with the order recomputed from the reviews finalised
// before its creation; it shows no stored order.
func TestRunWithoutAStoredOrderTopsUp(t *testing.T) {
	f := newDisagreementFixture(t)
	e, sampling, push, w47, updated := f.e, f.sampling, f.push, f.w47, f.updated
	week, _ := isoweek.Parse("2026-W47")
	seed, err := e.srv.Sampling.WeekSeed(t.Context(), week)
	if err != nil {
		t.Fatal(err)
	}
	// As a run created before migration 00021 was: no order stored.
	legacy, _, err := e.store.CreateRun(t.Context(), store.Run{Week: week.String(), PolicyVersion: updated.GetPolicy().GetVersion(),
		Seed: seed, Trigger: "schedule", CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	run, err := sampling.RunWeek(e.admin, &qav1.RunWeekRequest{Week: week.String()})
	if err != nil {
		t.Fatal(err)
	}
	if run.GetRun().GetId() != legacy.ID || run.GetCreated() || run.GetRun().GetDisagreement() != nil {
		t.Fatalf("RunWeek %v; want run %d completed, with no stored order", run.GetRun(), legacy.ID)
	}
	if got := reasons(listPicks(t, sampling, e, legacy.ID)); !maps.Equal(got, map[string]string{"n1": "check:forbidden_phrase"}) {
		t.Errorf("run picks %v, want n1 for check:forbidden_phrase (no_closing confirmed: weight 0)", got)
	}
	push("n2", "agent-b", w47.Add(time.Hour))
	up, err := sampling.RunWeek(e.admin, &qav1.RunWeekRequest{Week: week.String(), TopUp: true})
	if err != nil {
		t.Fatal(err)
	}
	if up.GetTopUp().GetPicks() != 1 || up.GetRun().GetDisagreement() != nil {
		t.Errorf("top-up %v of run %v; want one pick, no stored order", up.GetTopUp(), up.GetRun())
	}
	if got := reasons(listPicks(t, sampling, e, legacy.ID)); got["n2"] != "check:forbidden_phrase" {
		t.Errorf("top-up picks %v, want n2 for check:forbidden_phrase", got)
	}
}
