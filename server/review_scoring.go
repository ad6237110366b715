package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
	"qa-sampling/store"
)

// Limits on what an inspector writes into a review.
// The review's comment is prose (fielderr.MaxProseBytes).
const (
	maxReviewText  = 8 << 10 // bytes of one strength, suggestion or rating comment
	maxReviewItems = 32      // strengths or suggestions
)

// optionalTime is nil for the zero time: "not yet" rather than 1970.
func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// reviewToProto converts a review; r, when not nil, is its rubric version,
// for the dimensions' names.
func reviewToProto(rv store.Review, r *scoring.Rubric) *qav1.Review {
	out := &qav1.Review{
		Id: rv.ID, ItemId: rv.PickID, ExternalId: rv.ExternalID, AgentId: rv.AgentID, InspectorId: rv.InspectorID,
		RubricVersion: rv.RubricVersion, Status: string(rv.Status), Flags: rv.Flags, Comment: rv.Comment,
		Strengths: rv.Strengths, Suggestions: rv.Suggestions, Week: rv.Week,
		DisputeId: rv.DisputeID, SupersedesId: rv.SupersedesID, SupersededById: rv.SupersededByID,
		CreatedAt:   optionalTime(rv.CreatedAt),
		UpdatedAt:   optionalTime(rv.UpdatedAt),
		FinalizedAt: optionalTime(rv.FinalizedAt),
	}
	if rv.Status != store.ReviewDraft {
		out.Score, out.ScoreText, out.Grade, out.Critical = rv.Score, scoring.Display(rv.Score), rv.Grade, rv.Critical
	}
	names := map[string]string{}
	if r != nil {
		for _, d := range r.Dimensions {
			names[d.Key] = d.Name
		}
	}
	for _, rt := range rv.Ratings {
		out.Ratings = append(out.Ratings, &qav1.DimensionRating{
			Key: rt.Key, Value: int32(rt.Value), Na: rt.NA, Comment: rt.Comment, Max: int32(rt.Max),
			Percent: rt.Percent, Failing: rt.Failing, Critical: rt.Critical, Name: names[rt.Key],
		})
	}
	return out
}

func feedbackToProto(f store.Feedback, r *scoring.Rubric) *qav1.FeedbackRecord {
	return &qav1.FeedbackRecord{
		Id: f.ID, Review: reviewToProto(f.Review, r), AgentId: f.Review.AgentID, SupervisorId: f.SupervisorID,
		TeamId: f.TeamID, Week: f.Review.Week, Score: f.Review.Score, ScoreText: scoring.Display(f.Review.Score),
		Grade: f.Review.Grade, CoachingRequired: f.CoachingRequired, ShareAsExample: f.ShareAsExample,
		SupersedesId: f.SupersedesID, CreatedAt: timestamppb.New(f.CreatedAt),
		AcknowledgedAt: optionalTime(f.AcknowledgedAt),
		AcknowledgedBy: f.AcknowledgedBy, CoachingNote: f.CoachingNote,
	}
}

func disputeToProto(d store.Dispute) *qav1.Dispute {
	return &qav1.Dispute{
		Id: d.ID, ReviewId: d.ReviewID, ItemId: d.PickID, AgentId: d.AgentID, OpenedBy: d.OpenedBy, Reason: d.Reason,
		AssigneeId: d.AssigneeID, Status: string(d.Status), ResolutionReviewId: d.ResolutionID,
		OpenedAt: timestamppb.New(d.OpenedAt), ResolvedAt: optionalTime(d.ResolvedAt),
	}
}

// checkTexts bounds a list of free-text entries written by people.
func checkTexts(l *fielderr.List, field string, texts []string) {
	if len(texts) > maxReviewItems {
		l.Add(field, "%d entries; at most %d", len(texts), maxReviewItems)
		return
	}
	for i, t := range texts {
		l.Text(fmt.Sprintf("%s[%d]", field, i), t, maxReviewText, false)
	}
}

// trimmed drops blank entries, so "--strength ”" does not store noise.
func trimmed(texts []string) []string {
	var out []string
	for _, t := range texts {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// reviewFromRequest checks the request's free text and builds the review
// to store, without ratings' computed parts.
func reviewFromRequest(req *qav1.SubmitReviewRequest) (store.Review, scoring.Input, *fielderr.Error) {
	rv := store.Review{
		PickID: req.GetItemId(), Flags: req.GetFlags(), Comment: strings.TrimSpace(req.GetComment()),
		Strengths: trimmed(req.GetStrengths()), Suggestions: trimmed(req.GetSuggestions()),
	}
	var l fielderr.List
	l.Text("comment", rv.Comment, fielderr.MaxProseBytes, false)
	checkTexts(&l, "strengths", rv.Strengths)
	checkTexts(&l, "suggestions", rv.Suggestions)
	in := scoring.Input{Flags: req.GetFlags()}
	for i, r := range req.GetRatings() {
		l.Text(fmt.Sprintf("ratings[%d].comment", i), r.GetComment(), maxReviewText, false)
		in.Ratings = append(in.Ratings, scoring.Rating{Dimension: r.GetKey(), Value: int(r.GetValue()), NA: r.GetNa()})
		rv.Ratings = append(rv.Ratings, store.Rating{Key: r.GetKey(), Value: int(r.GetValue()), NA: r.GetNa(), Comment: strings.TrimSpace(r.GetComment())})
	}
	if rv.Ratings == nil {
		rv.Ratings = []store.Rating{}
	}
	return rv, in, l.Collected()
}

// scoreRatings fills the computed parts of rv's ratings from the result.
func scoreRatings(rv *store.Review, res scoring.Result) {
	comments := make(map[string]string, len(rv.Ratings))
	for _, rt := range rv.Ratings {
		comments[rt.Key] = rt.Comment
	}
	rv.Ratings = rv.Ratings[:0]
	for _, d := range res.Dimensions {
		rv.Ratings = append(rv.Ratings, store.Rating{
			Key: d.Key, Value: d.Value, NA: d.NA, Max: d.Max, Percent: d.Percent,
			Failing: d.Failing, Critical: d.Critical, Comment: comments[d.Key],
		})
	}
	rv.Flags, rv.Score, rv.Grade, rv.Critical = res.Flags, res.Score, string(res.Grade), res.Critical
}

// draftRatings fills the scales of a draft's ratings, in rubric order.
func draftRatings(rv *store.Review, r scoring.Rubric) {
	byKey := make(map[string]store.Rating, len(rv.Ratings))
	for _, rt := range rv.Ratings {
		byKey[rt.Key] = rt
	}
	rv.Ratings = rv.Ratings[:0]
	for _, d := range r.Dimensions {
		rt, ok := byKey[d.Key]
		if !ok {
			continue
		}
		rt.Max = d.Max
		if !rt.NA {
			rt.Percent = 100 * float64(rt.Value) / float64(d.Max)
		}
		rv.Ratings = append(rv.Ratings, rt)
	}
}

// itemContext is what scoring an item depends on besides the request.
type itemContext struct {
	pick    store.Pick
	draft   *store.Review
	dispute *store.Dispute
	// disputed is the review the dispute contests.
	disputed *store.Review
	rubric   scoring.Rubric
	version  store.RubricVersion
}

// loadItem reads one of the caller's items to review: its draft, its
// open dispute if disputed, and the rubric it is scored against (the
// draft's version; for a dispute, the contested review's, so both scores
// are comparable; otherwise the active one).
func (s *reviewService) loadItem(ctx context.Context, id int64) (itemContext, error) {
	var ic itemContext
	p, err := s.ownItem(ctx, id, store.PickAssigned, store.PickDisputed, store.PickReviewed)
	if err != nil {
		return ic, err
	}
	if p.Status == store.PickReviewed {
		return ic, status.Errorf(codes.FailedPrecondition, "item %d already has a final review; only a dispute can re-score it", id)
	}
	ic.pick = p
	draft, err := s.store.DraftOf(ctx, p.ID, p.InspectorID)
	switch {
	case err == nil:
		ic.draft = &draft
	case !errors.Is(err, store.ErrNotFound):
		return ic, storeError(ctx, s.log, err)
	}
	version := int64(0)
	if p.Status == store.PickDisputed {
		ds, err := s.store.ListDisputes(ctx, store.DisputeFilter{PickID: p.ID, Status: store.DisputeOpen})
		if err != nil {
			return ic, storeError(ctx, s.log, err)
		}
		if len(ds) == 0 {
			return ic, status.Errorf(codes.FailedPrecondition, "item %d has no open dispute", p.ID)
		}
		ic.dispute = &ds[0]
		old, err := s.store.GetReview(ctx, ds[0].ReviewID)
		if err != nil {
			return ic, storeError(ctx, s.log, err)
		}
		ic.disputed = &old
		version = old.RubricVersion
	}
	if ic.draft != nil {
		version = ic.draft.RubricVersion
	}
	if ic.rubric, ic.version, err = s.rubrics.version(ctx, version); err != nil {
		return ic, storeError(ctx, s.log, err)
	}
	return ic, nil
}

func (s *reviewService) OpenItem(ctx context.Context, req *qav1.OpenItemRequest) (*qav1.OpenItemResponse, error) {
	ic, err := s.loadItem(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	st, err := s.store.GetTranscript(ctx, ic.pick.ExternalID)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.OpenItemResponse{
		Item: pickToProto(ic.pick), Transcript: transcriptToProto(&st), Rubric: rubricToProto(ic.rubric, ic.version),
	}
	if ic.draft != nil {
		out.Draft = reviewToProto(*ic.draft, &ic.rubric)
	}
	if ic.dispute != nil {
		out.Dispute = disputeToProto(*ic.dispute)
		out.DisputedReview = reviewToProto(*ic.disputed, &ic.rubric)
	}
	return out, nil
}

func (s *reviewService) SubmitReview(ctx context.Context, req *qav1.SubmitReviewRequest) (*qav1.SubmitReviewResponse, error) {
	rv, in, textErr := reviewFromRequest(req)
	ic, err := s.loadItem(ctx, req.GetItemId())
	if err != nil {
		return nil, err
	}
	// Every problem at once: the free text's and the ratings' against
	// the item's rubric.
	var problems fielderr.List
	if textErr != nil {
		problems.AddError("", textErr)
	}
	var res scoring.Result
	if req.GetFinal() {
		res, err = ic.rubric.Score(in)
	} else {
		err = ic.rubric.CheckDraft(in)
	}
	problems.AddError("", err)
	if err := invalidList(&problems); err != nil {
		return nil, err
	}
	rv.InspectorID, rv.RubricVersion = ic.pick.InspectorID, ic.version.Version
	if ic.dispute != nil {
		rv.DisputeID = ic.dispute.ID
	}
	if !req.GetFinal() {
		draftRatings(&rv, ic.rubric)
		saved, err := s.store.SaveDraft(ctx, rv)
		if err != nil {
			return nil, s.submitError(ctx, rv.PickID, err)
		}
		return &qav1.SubmitReviewResponse{Review: reviewToProto(saved, &ic.rubric)}, nil
	}
	scoreRatings(&rv, res)
	fb := store.Feedback{
		CoachingRequired: res.CoachingRequired(),
		ShareAsExample:   res.ShareAsExample(),
	}
	final, record, err := s.store.FinalizeReview(ctx, rv, fb)
	if err != nil {
		return nil, s.submitError(ctx, rv.PickID, err)
	}
	s.metrics.finalised.Inc()
	s.feedback.published(record.SupervisorID)
	return &qav1.SubmitReviewResponse{Review: reviewToProto(final, &ic.rubric), Feedback: feedbackToProto(record, &ic.rubric)}, nil
}

// submitError explains a lost race: the item left the caller's queue or
// got its final review between loading and writing.
func (s *reviewService) submitError(ctx context.Context, id int64, err error) error {
	if errors.Is(err, store.ErrConflict) {
		return status.Errorf(codes.FailedPrecondition, "item %d is no longer open for your review (finalised, released or reassigned meanwhile)", id)
	}
	return storeError(ctx, s.log, err)
}

func (s *reviewService) GetReview(ctx context.Context, req *qav1.GetReviewRequest) (*qav1.GetReviewResponse, error) {
	rv, err := readableReview(ctx, s.store, s.log, req.GetId())
	if err != nil {
		return nil, err
	}
	r, _, err := s.rubrics.version(ctx, rv.RubricVersion)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetReviewResponse{Review: reviewToProto(rv, &r)}, nil
}

// readableReview returns review id if the caller may read it; one they
// may not is NOT_FOUND, like one that does not exist.
func readableReview(ctx context.Context, st Storage, log *slog.Logger, id int64) (store.Review, error) {
	rv, err := st.GetReview(ctx, id)
	if err == nil {
		var ok bool
		if ok, err = canReadReview(ctx, st, rv); err == nil && !ok {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Review{}, status.Errorf(codes.NotFound, "review %d not found", id)
	}
	if err != nil {
		return store.Review{}, storeError(ctx, log, err)
	}
	return rv, nil
}

// canReadReview: an inspector reads their own reviews, a supervisor the
// final and retracted reviews of the agents they own (access.go), an
// admin all.
func canReadReview(ctx context.Context, st Storage, rv store.Review) (bool, error) {
	who, _ := PrincipalFrom(ctx)
	switch who.Role {
	case store.RoleAdmin:
		return true, nil
	case store.RoleInspector:
		return rv.InspectorID == who.Subject, nil
	case store.RoleSupervisor:
		if rv.Status == store.ReviewDraft {
			return false, nil
		}
		return ownsAgentID(ctx, st, rv.AgentID)
	}
	return false, nil
}
