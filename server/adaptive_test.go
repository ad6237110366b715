package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestAdaptiveQuotaPreview: after a week in which agent-a's scores
// straddle the pass line and agent-b's sit well above it, an adaptive
// policy's preview of the next week gives agent-a extra picks (reason
// adaptive, up to max_extra) and agent-b none, the same on every preview;
// a bad option is refused naming its field.
func TestAdaptiveQuotaPreview(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	ratings := func(v int32) []*qav1.DimensionRating {
		return []*qav1.DimensionRating{rating("attitude", v), rating("knowledge", v), rating("efficiency", v),
			rating("communication", v), rating("compliance", v)}
	}
	// agent-a: 100, 60, 80 (mean 80, interval about 30–130: straddles
	// 70); agent-b: 100, 100, 100 (no spread: clearly above).
	for _, v := range []int32{5, 3, 4} {
		for _, agent := range []string{"agent-a", "agent-b"} {
			item, ctx := e.itemOf(t, agent)
			score := v
			if agent == "agent-b" {
				score = 5
			}
			if _, err := e.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratings(score), Final: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ingest := qav1.NewIngestServiceClient(e.conn)
	ingestCtx := e.as(store.RoleIngest, "platform")
	next := flowChatStart.Add(7 * 24 * time.Hour)
	for i := range 12 {
		for _, agent := range []string{"agent-a", "agent-b"} {
			id := fmt.Sprintf("next-%s-%02d", agent, i)
			if _, err := ingest.PushTranscript(ingestCtx, &qav1.PushTranscriptRequest{Transcript: testChat(id, agent, next.Add(time.Duration(i)*time.Hour))}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sampling := qav1.NewSamplingServiceClient(e.conn)
	p, err := sampling.GetPolicy(e.admin, &qav1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	policy := p.GetPolicy()
	policy.Adaptive = &qav1.AdaptiveQuota{MaxExtra: 0, PassScore: 70, Weeks: 2}
	_, err = sampling.UpdatePolicy(e.admin, &qav1.UpdatePolicyRequest{Policy: policy})
	wantCode(t, err, codes.InvalidArgument)
	if err == nil || !strings.Contains(err.Error(), "adaptive.max_extra") {
		t.Errorf("refusal %v does not name adaptive.max_extra", err)
	}
	policy.Adaptive.MaxExtra = 3
	if _, err := sampling.UpdatePolicy(e.admin, &qav1.UpdatePolicyRequest{Policy: policy}); err != nil {
		t.Fatal(err)
	}
	preview := func() map[string][]string {
		t.Helper()
		resp, err := sampling.PreviewWeek(e.admin, &qav1.PreviewWeekRequest{Week: "2026-W47"})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, pk := range resp.GetPicks() {
			out[pk.GetAgentId()] = append(out[pk.GetAgentId()], pk.GetReason()+":"+pk.GetExternalId())
		}
		return out
	}
	first := preview()
	adaptive := func(agent string) int {
		n := 0
		for _, r := range first[agent] {
			if len(r) > 9 && r[:9] == "adaptive:" {
				n++
			}
		}
		return n
	}
	if adaptive("agent-a") != 3 || adaptive("agent-b") != 0 {
		t.Errorf("adaptive picks: agent-a %d (want 3), agent-b %d (want 0): %v", adaptive("agent-a"), adaptive("agent-b"), first)
	}
	if len(first["agent-a"]) != len(first["agent-b"])+3 {
		t.Errorf("agent-a %d picks, agent-b %d: want 3 more for agent-a", len(first["agent-a"]), len(first["agent-b"]))
	}
	for range 2 {
		again := preview()
		for agent, picks := range first {
			if !slices.Equal(again[agent], picks) {
				t.Fatalf("preview changed for %s: %v then %v", agent, picks, again[agent])
			}
		}
	}
}
