package server

import (
	"fmt"
	"log/slog"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// Queue and week lists name each pick's agent from the directory.
func TestPicksNameTheirAgents(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	want := map[string]string{"agent-a": "A", "agent-b": "B"}
	queued := 0
	for id, ctx := range e.inspectors {
		q, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range q.GetItems() {
			queued++
			if it.GetAgentName() != want[it.GetAgentId()] {
				t.Errorf("%s's queue: item %d of %s named %q, want %q", id, it.GetId(), it.GetAgentId(), it.GetAgentName(), want[it.GetAgentId()])
			}
		}
	}
	picks, err := qav1.NewSamplingServiceClient(e.conn).ListPicks(e.admin, &qav1.ListPicksRequest{Week: flowWeek})
	if err != nil {
		t.Fatal(err)
	}
	if queued == 0 || len(picks.GetPicks()) == 0 {
		t.Fatalf("fixture: %d queued, %d picks", queued, len(picks.GetPicks()))
	}
	for _, p := range picks.GetPicks() {
		if p.GetAgentName() != want[p.GetAgentId()] {
			t.Errorf("week's pick %d of %s named %q, want %q", p.GetId(), p.GetAgentId(), p.GetAgentName(), want[p.GetAgentId()])
		}
	}

	// Finished reviews name their agent too.
	item, ctx := e.itemOf(t, "agent-a")
	if _, err := e.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	reviews, err := e.review.ListReviews(ctx, &qav1.ListReviewsRequest{})
	if err != nil || len(reviews.GetReviews()) != 1 || reviews.GetReviews()[0].GetAgentName() != "A" {
		t.Errorf("finished reviews %v, %v: want one of agent-a named A", reviews, err)
	}

	// Many agents (a preview of a week) are named from one directory read;
	// an agent the directory lacks, and a calibration item, stay nameless.
	var many []*qav1.Pick
	for i := range fewAgentsForLookups + 5 {
		many = append(many, &qav1.Pick{AgentId: fmt.Sprintf("gone-%02d", i)})
	}
	many = append(many, &qav1.Pick{AgentId: "agent-b"}, &qav1.Pick{AgentId: "agent-a", Kind: pickKindCalibration})
	if err := nameAgents(t.Context(), e.store, slog.Default(), many); err != nil {
		t.Fatal(err)
	}
	for _, p := range many {
		wantName := ""
		if p.GetAgentId() == "agent-b" {
			wantName = "B"
		}
		if p.GetAgentName() != wantName {
			t.Errorf("%s (kind %q) named %q, want %q", p.GetAgentId(), p.GetKind(), p.GetAgentName(), wantName)
		}
	}
}
