package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestWatchFeedbackEndsWhenItsTokenIsRevoked: a supervisor's stream opened
// with a token gets no record finalised after the token was revoked; it
// ends UNAUTHENTICATED instead.
func TestWatchFeedbackEndsWhenItsTokenIsRevoked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TokenCacheTTL = 0 // the store's revocation counts at once
	e := startScoring(t, cfg)
	plain, tok, err := NewToken(store.RoleSupervisor, "sup-a", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateToken(t.Context(), tok, "qad"); err != nil {
		t.Fatal(err)
	}
	watchCtx, stop := context.WithCancel(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+plain))
	defer stop()
	stream, err := e.feedback.WatchFeedback(watchCtx, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RevokeToken(t.Context(), tok.ID, time.Now(), "qad"); err != nil {
		t.Fatal(err)
	}
	item, inspector := e.itemOf(t, "agent-a")
	if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	got, err := stream.Recv()
	if err == nil {
		t.Fatalf("the revoked token's stream received record %d", got.GetRecord().GetId())
	}
	wantCode(t, err, codes.Unauthenticated)
}
