package server

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// reviewService is the inspector's queue. Every call acts on the caller's
// own items only; another inspector's item is NOT_FOUND, never shown.
type reviewService struct {
	qav1.UnimplementedReviewServiceServer
	job   *SamplingJob
	store Storage
	log   *slog.Logger
}

func (s *reviewService) ListQueue(ctx context.Context, _ *qav1.ListQueueRequest) (*qav1.ListQueueResponse, error) {
	who, _ := PrincipalFrom(ctx)
	picks, err := s.store.ListPicks(ctx, store.PickFilter{InspectorID: who.Subject, Status: store.PickAssigned})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListQueueResponse{}
	for _, p := range picks {
		out.Items = append(out.Items, pickToProto(p))
	}
	return out, nil
}

// ownItem returns the caller's assigned item id.
func (s *reviewService) ownItem(ctx context.Context, id int64) (store.Pick, error) {
	who, _ := PrincipalFrom(ctx)
	// The first of the caller's assigned picks from id on: id itself if it
	// is theirs, so one row is read instead of the whole queue.
	picks, err := s.store.ListPicks(ctx, store.PickFilter{InspectorID: who.Subject, Status: store.PickAssigned, AfterID: id - 1, Limit: 1})
	if err != nil {
		return store.Pick{}, storeError(ctx, s.log, err)
	}
	if len(picks) == 0 || picks[0].ID != id {
		return store.Pick{}, status.Errorf(codes.NotFound, "item %d is not in your queue", id)
	}
	return picks[0], nil
}

func (s *reviewService) ReleaseItem(ctx context.Context, req *qav1.ReleaseItemRequest) (*qav1.ReleaseItemResponse, error) {
	p, err := s.ownItem(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	p.InspectorID, p.Status = "", store.PickPool
	released, err := s.store.UpdatePick(ctx, p.ID, store.PickAssigned, p)
	if errors.Is(err, store.ErrConflict) {
		return nil, status.Errorf(codes.FailedPrecondition, "item %d changed meanwhile; list your queue again", p.ID)
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	who, _ := PrincipalFrom(ctx)
	if reassigned, ok, err := s.job.Reassign(ctx, released, who.Subject); err != nil {
		return nil, storeError(ctx, s.log, err)
	} else if ok {
		released = reassigned
	}
	return &qav1.ReleaseItemResponse{Item: pickToProto(released)}, nil
}

func (s *reviewService) SkipItem(ctx context.Context, req *qav1.SkipItemRequest) (*qav1.SkipItemResponse, error) {
	reason := strings.TrimSpace(req.GetReason())
	if reason == "" {
		return nil, invalidArgument(&transcript.FieldError{Field: "reason", Reason: "required: say why (spam, wrong_agent, not_reviewable, ...)"})
	}
	p, err := s.ownItem(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	p.Status, p.SkipReason = store.PickSkipped, reason
	skipped, err := s.store.UpdatePick(ctx, p.ID, store.PickAssigned, p)
	if errors.Is(err, store.ErrConflict) {
		return nil, status.Errorf(codes.FailedPrecondition, "item %d changed meanwhile; list your queue again", p.ID)
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.SkipItemResponse{Skipped: pickToProto(skipped)}
	replacement, ok, err := s.job.Replacement(ctx, skipped)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	if ok {
		out.Replacement = pickToProto(replacement)
	}
	return out, nil
}
