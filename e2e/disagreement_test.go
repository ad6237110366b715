package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestDisagreementOrderFrozenWithTheRun (issue 11 §4 with issue 9's
// verifiable runs): on a real qad, each backend, a run under
// check_disagreement stores the rule order its weights gave; a review the
// weights rested on is then disputed and re-scored (the order recomputed
// from the reviews now would be the policy's), and a top-up of the run
// still takes the stored order, which `sample run show` (text and --json)
// and the preview of the run week show.
func TestDisagreementOrderFrozenWithTheRun(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testDisagreementOrderFrozen(t, b.dsn) })
	}
}

func testDisagreementOrderFrozen(t *testing.T, dsn string) {
	srv := startServer(t, dsn, "--sample-schedule", "off")
	admin, ingestToken := srv.token("admin", "qa-lead"), srv.token("ingest", "platform")
	ctx := withToken(t.Context(), ingestToken)
	client := srv.client(ingestToken)
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor("a1", "a2", "a3")}); err != nil {
		t.Fatal(err)
	}
	qactl, writeFile := srv.qactlOK, func(doc string) string { return writeDoc(t, doc) }
	push := func(c *qav1.Transcript) {
		t.Helper()
		if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: c}); err != nil {
			t.Fatalf("push %s: %v", c.GetExternalId(), err)
		}
	}
	// 2026-W47: f1 promises 绝对 (forbidden_phrase); c1 is well served.
	f1 := checkChat("f1", "a1")
	f1.Messages[3].Text = "已为您登记换货，绝对明天上门取件。"
	push(f1)
	push(checkChat("c1", "a1"))
	qactl(admin, "policy", "set", "--file", writeFile(`{"random_per_agent": 3, "targeted_per_agent": 0, "new_hire_days": 90,
		"new_hire_extra": 0, "time_zone": "Asia/Shanghai", "handle_time_percentile": 0.9}`))
	for _, id := range []string{"insp-1", "insp-2"} {
		qactl(admin, "inspector", "add", id, "--name", id)
	}
	qactl(admin, "sample", "run", "--week", "2026-W47")
	reviewOf := map[string]string{}
	var f1Item pickJSON
	for _, p := range parsePicks(t, qactl(admin, "--json", "sample", "list", "--week", "2026-W47")) {
		// f1's attitude fails: forbidden_phrase is confirmed (precision 1,
		// weight 0); no_greeting fired nowhere (weight 1).
		spec := "attitude=5,knowledge=4,efficiency=4,communication=4,compliance=4"
		if p.ExternalID == "f1" {
			spec, f1Item = "attitude=1,knowledge=4,efficiency=4,communication=4,compliance=4", p
		}
		rv := &qav1.Review{}
		unmarshalJSON(t, qactl(srv.token("inspector", p.InspectorID), "--json", "review", "submit", p.ID, "--rating", spec, "--final"), rv)
		reviewOf[p.ExternalID] = strconv.FormatInt(rv.GetId(), 10)
	}

	// 2026-W48: x1 has no greeting and the forbidden phrase: both rules,
	// listed forbidden_phrase first, match it.
	nextWeek := func(c *qav1.Transcript) *qav1.Transcript {
		shift := func(ts *timestamppb.Timestamp) *timestamppb.Timestamp {
			return timestamppb.New(ts.AsTime().AddDate(0, 0, 7))
		}
		c.StartedAt, c.EndedAt = shift(c.StartedAt), shift(c.EndedAt)
		for _, m := range c.Messages {
			m.SentAt = shift(m.SentAt)
		}
		c.Messages[1].Text = "在的"
		c.Messages[3].Text = "已为您登记换货，绝对明天上门取件。"
		return c
	}
	push(nextWeek(checkChat("x1", "a3")))
	qactl(admin, "policy", "set", "--file", writeFile(`{"random_per_agent": 0, "targeted_per_agent": 3, "new_hire_days": 90,
		"new_hire_extra": 0, "time_zone": "Asia/Shanghai", "handle_time_percentile": 0.9,
		"rules": ["check:forbidden_phrase", "check:no_greeting"], "check_disagreement": {"weeks": 1}}`))
	frozen := []string{"check:no_greeting", "check:forbidden_phrase"}
	run := &qav1.RunWeekResponse{}
	unmarshalJSON(t, qactl(admin, "--json", "sample", "run", "--week", "2026-W48"), run)
	order := run.GetRun().GetDisagreement()
	if !slices.Equal(order.GetRules(), frozen) || order.GetReviews() != 2 || order.GetFromWeek() != "2026-W47" ||
		!order.GetReviewsBefore().AsTime().Equal(run.GetRun().GetCreatedAt().AsTime()) {
		t.Fatalf("the run's rule order %v; want %v from W47's 2 reviews finalised before the run", order, frozen)
	}
	runID := run.GetRun().GetId()
	reasons := func() map[string]string {
		out := map[string]string{}
		for _, p := range parsePicks(t, qactl(admin, "--json", "sample", "list", "--week", "2026-W48")) {
			out[p.ExternalID] = p.Reason
		}
		return out
	}
	if got := reasons(); len(got) != 1 || got["x1"] != "check:no_greeting" {
		t.Fatalf("W48 picks %v, want x1 for check:no_greeting", got)
	}

	// After the run, a1's supervisor disputes f1's review and it is
	// re-scored passing: forbidden_phrase is no longer confirmed (weight
	// 1, tying no_greeting), so the order recomputed now is the policy's.
	d := &qav1.Dispute{}
	unmarshalJSON(t, qactl(srv.token("supervisor", "sup-1"), "--json", "dispute", "open", reviewOf["f1"], "--reason", "the promise was kept"), d)
	qactl(srv.token("inspector", d.GetAssigneeId()), "--json", "review", "submit", f1Item.ID, "--rating",
		"attitude=5,knowledge=4,efficiency=4,communication=4,compliance=4", "--final")

	// A late W48 chat of a2, who has no pick yet: the top-up names it
	// after the run's first rule, not the policy's.
	push(nextWeek(checkChat("x2", "a2")))
	preview := &qav1.PreviewWeekResponse{}
	unmarshalJSON(t, qactl(admin, "--json", "sample", "run", "--week", "2026-W48", "--dry-run"), preview)
	if preview.GetTopUpOfRun() != runID || !slices.Equal(preview.GetDisagreement().GetRules(), frozen) ||
		len(preview.GetPicks()) != 1 || preview.GetPicks()[0].GetReason() != "check:no_greeting" {
		t.Errorf("dry run of the run week: run %d, order %v, picks %v; want run %d's order and x2 for check:no_greeting",
			preview.GetTopUpOfRun(), preview.GetDisagreement().GetRules(), preview.GetPicks(), runID)
	}
	qactl(admin, "sample", "run", "--week", "2026-W48", "--top-up")
	if got := reasons(); len(got) != 2 || got["x1"] != "check:no_greeting" || got["x2"] != "check:no_greeting" {
		t.Errorf("W48 picks after the top-up %v, want x1 and x2 for check:no_greeting (the run's order)", got)
	}

	shown := &qav1.GetRunResponse{}
	id := strconv.FormatInt(runID, 10)
	unmarshalJSON(t, qactl(admin, "--json", "sample", "run", "show", id), shown)
	got := shown.GetRun().GetDisagreement()
	weights := map[string]*qav1.CheckWeight{}
	for _, w := range got.GetWeights() {
		weights[w.GetCheck()] = w
	}
	if !slices.Equal(got.GetRules(), frozen) || len(shown.GetRun().GetTopUps()) != 1 ||
		weights["forbidden_phrase"].GetTp() != 1 || weights["forbidden_phrase"].GetWeight() != 0 || weights["no_greeting"].GetWeight() != 1 {
		t.Errorf("sample run show --json: order %v, weights %v, top-ups %d; want %v, forbidden_phrase tp 1 weight 0, no_greeting 1, one top-up",
			got.GetRules(), got.GetWeights(), len(shown.GetRun().GetTopUps()), frozen)
	}
	text := qactl(admin, "sample", "run", "show", id)
	for _, want := range []string{
		"rule order (check_disagreement, frozen with the run; its top-ups keep it): check:no_greeting, check:forbidden_phrase",
		"weights from 2 final reviews of 2026-W47..2026-W47",
		"forbidden_phrase",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("sample run show lacks %q:\n%s", want, text)
		}
	}
}
