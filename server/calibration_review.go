package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
	"qa-sampling/store"
)

// Calibration items in the review calls. They share the inspector's queue
// and OpenItem/SubmitReview with picks, told apart by their ids
// (store.IsCalibrationItem). Blind: the agent's id and name never reach
// the inspector, neither on the item nor in the chat; reviews are stored
// with the item and never make feedback, report cells or disputes.

// pickKindCalibration marks a calibration item in the queue.
const pickKindCalibration = "calibration"

func calibrationItemToProto(it store.CalibrationItem, open bool) *qav1.Pick {
	st := string(store.PickAssigned)
	if it.Final() {
		st = string(store.PickReviewed)
	} else if !open {
		st = "closed"
	}
	return &qav1.Pick{Id: it.ID, ExternalId: it.ExternalID, InspectorId: it.InspectorID, Status: st,
		Kind: pickKindCalibration, SessionId: it.SessionID}
}

// blindReview hides the agent of a calibration review.
func blindReview(rv store.Review) store.Review {
	rv.AgentID = ""
	return rv
}

// blindTranscript removes every trace of the agent's identity from a
// calibration chat: its owner and each message's author (roles stay).
func blindTranscript(t *qav1.Transcript) {
	t.AgentId = ""
	for _, m := range t.GetMessages() {
		m.AgentId = ""
	}
}

// queueCalibration returns the caller's open calibration items after
// afterID, at most limit, as queue entries.
func (s *reviewService) queueCalibration(ctx context.Context, afterID int64, limit int) ([]*qav1.Pick, error) {
	who, _ := PrincipalFrom(ctx)
	items, err := s.store.ListCalibrationItems(ctx, store.CalibrationItemFilter{InspectorID: who.Subject, Open: true, AfterID: afterID, Limit: limit})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := make([]*qav1.Pick, len(items))
	for i, it := range items {
		out[i] = calibrationItemToProto(it, true)
	}
	return out, nil
}

// calibrationContext is one of the caller's calibration items with its
// session and rubric.
type calibrationContext struct {
	item    store.CalibrationItem
	session store.CalibrationSession
	rubric  scoring.Rubric
	version store.RubricVersion
}

func (s *reviewService) loadCalibrationItem(ctx context.Context, id int64) (calibrationContext, error) {
	var cc calibrationContext
	who, _ := PrincipalFrom(ctx)
	it, err := s.store.GetCalibrationItem(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && it.InspectorID != who.Subject) {
		return cc, status.Errorf(codes.NotFound, "item %d is not in your queue", id)
	}
	if err != nil {
		return cc, storeError(ctx, s.log, err)
	}
	cc.item = it
	if cc.session, err = s.store.GetCalibration(ctx, it.SessionID); err != nil {
		return cc, storeError(ctx, s.log, err)
	}
	if cc.rubric, cc.version, err = s.rubrics.version(ctx, cc.session.RubricVersion); err != nil {
		return cc, storeError(ctx, s.log, err)
	}
	return cc, nil
}

func (s *reviewService) openCalibrationItem(ctx context.Context, id int64) (*qav1.OpenItemResponse, error) {
	cc, err := s.loadCalibrationItem(ctx, id)
	if err != nil {
		return nil, err
	}
	open := cc.session.Status == store.CalibrationOpen
	if !open && !cc.item.Final() {
		return nil, status.Errorf(codes.FailedPrecondition, "calibration session %d is %s; item %d can no longer be scored",
			cc.session.ID, cc.session.Status, id)
	}
	st, err := s.store.GetTranscript(ctx, cc.item.ExternalID)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.OpenItemResponse{Item: calibrationItemToProto(cc.item, open), Transcript: transcriptToProto(&st),
		Rubric: rubricToProto(cc.rubric, cc.version), AgentNames: map[string]string{}}
	blindTranscript(out.Transcript)
	if rv := cc.item.Review; rv != nil {
		if cc.item.Final() {
			out.Review = reviewToProto(blindReview(*rv), &cc.rubric)
		} else {
			out.Draft = reviewToProto(blindReview(*rv), &cc.rubric)
		}
	}
	return out, nil
}

func (s *reviewService) submitCalibration(ctx context.Context, req *qav1.SubmitReviewRequest) (*qav1.SubmitReviewResponse, error) {
	rv, in, textErr := reviewFromRequest(req)
	cc, err := s.loadCalibrationItem(ctx, req.GetItemId())
	if err != nil {
		return nil, err
	}
	if cc.item.Final() {
		return nil, status.Errorf(codes.FailedPrecondition, "item %d already has a final review", cc.item.ID)
	}
	if cc.session.Status != store.CalibrationOpen {
		return nil, status.Errorf(codes.FailedPrecondition, "calibration session %d is %s; item %d can no longer be scored",
			cc.session.ID, cc.session.Status, cc.item.ID)
	}
	res, err := scoreSubmission(cc.rubric, in, req.GetFinal(), textErr)
	if err != nil {
		return nil, err
	}
	rv.InspectorID, rv.RubricVersion, rv.Status = cc.item.InspectorID, cc.version.Version, store.ReviewDraft
	if req.GetFinal() {
		scoreRatings(&rv, res)
		rv.Status = store.ReviewFinal
	} else {
		draftRatings(&rv, cc.rubric)
	}
	saved, err := s.store.SaveCalibrationReview(ctx, rv)
	if errors.Is(err, store.ErrConflict) {
		return nil, status.Errorf(codes.FailedPrecondition, "item %d is no longer open for your review (finalised or its session closed meanwhile)", rv.PickID)
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.SubmitReviewResponse{Review: reviewToProto(blindReview(saved), &cc.rubric)}, nil
}

// calibrationReview serves GetReview for a calibration review: its
// inspector's own (blind) or any for an admin; others NOT_FOUND.
func (s *reviewService) calibrationReview(ctx context.Context, id int64) (*qav1.GetReviewResponse, error) {
	who, _ := PrincipalFrom(ctx)
	it, err := s.store.GetCalibrationItem(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeError(ctx, s.log, err)
	}
	own := who.Role == store.RoleInspector && it.InspectorID == who.Subject
	if err != nil || it.Review == nil || (who.Role != store.RoleAdmin && !own) {
		return nil, status.Errorf(codes.NotFound, "review %d not found", id)
	}
	rv := *it.Review
	if who.Role != store.RoleAdmin {
		rv = blindReview(rv)
	}
	r, _, err := s.rubrics.version(ctx, rv.RubricVersion)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetReviewResponse{Review: reviewToProto(rv, &r)}, nil
}

// notReleasable refuses to release or skip a calibration item: every
// participant scores every chat of their session. Another's item, or none,
// is NOT_FOUND as for picks.
func (s *reviewService) notReleasable(ctx context.Context, id int64, verb string) error {
	if _, err := s.loadCalibrationItem(ctx, id); err != nil {
		return err
	}
	return status.Errorf(codes.FailedPrecondition, "item %d is a calibration item: it cannot be %s; an admin closes its session", id, verb)
}
