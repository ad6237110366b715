package server

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// reviewService is the inspector's queue. Every call on an item acts on
// the caller's own items only; another inspector's item is NOT_FOUND,
// never shown. GetReview also serves supervisors and admins (canReadReview).
type reviewService struct {
	qav1.UnimplementedReviewServiceServer
	job      *SamplingJob
	store    Storage
	rubrics  *rubricBook
	feedback *feedbackHub
	metrics  *opsMetrics
	log      *slog.Logger
}

func (s *reviewService) ListQueue(ctx context.Context, req *qav1.ListQueueRequest) (*qav1.ListQueueResponse, error) {
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	var queue []store.Pick
	for _, st := range []store.PickStatus{store.PickAssigned, store.PickDisputed} {
		picks, err := s.store.ListPicks(ctx, store.PickFilter{InspectorID: who.Subject, Status: st})
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		queue = append(queue, picks...)
	}
	slices.SortFunc(queue, func(a, b store.Pick) int { return cmp.Compare(a.ID, b.ID) })
	out := &qav1.ListQueueResponse{}
	queue, out.NextPageToken = pageOf(pg, queue, func(p store.Pick) int64 { return p.ID }, false)
	for _, p := range queue {
		out.Items = append(out.Items, pickToProto(p))
	}
	return out, nil
}

// ownItem returns item id if it is in the caller's queue with one of the
// given statuses (assigned if none are given).
func (s *reviewService) ownItem(ctx context.Context, id int64, statuses ...store.PickStatus) (store.Pick, error) {
	who, _ := PrincipalFrom(ctx)
	if len(statuses) == 0 {
		statuses = []store.PickStatus{store.PickAssigned}
	}
	// The first pick from id on, a primary key lookup; whoever's it is,
	// the caller learns nothing but "not in your queue".
	picks, err := s.store.ListPicks(ctx, store.PickFilter{AfterID: id - 1, Limit: 1})
	if err != nil {
		return store.Pick{}, storeError(ctx, s.log, err)
	}
	if len(picks) == 0 || picks[0].ID != id || picks[0].InspectorID != who.Subject {
		return store.Pick{}, status.Errorf(codes.NotFound, "item %d is not in your queue", id)
	}
	if p := picks[0]; !slices.Contains(statuses, p.Status) {
		return store.Pick{}, status.Errorf(codes.FailedPrecondition, "item %d is %s; this needs it %s", id, p.Status, joinStatuses(statuses))
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
		return nil, badField("reason", "required: say why (spam, wrong_agent, not_reviewable, ...)")
	}
	if err := badText("reason", reason, fielderr.MaxNoteBytes, true); err != nil {
		return nil, err
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

func joinStatuses(ss []store.PickStatus) string {
	parts := make([]string, len(ss))
	for i, st := range ss {
		parts[i] = string(st)
	}
	return strings.Join(parts, " or ")
}
