package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
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
	checkWeek(&l, "week", req.GetWeek())
	l.ID("reason", req.GetReason(), false)
	statuses := []store.PickStatus{store.PickAssigned, store.PickDisputed}
	if st := store.PickStatus(req.GetStatus()); st != "" {
		if !slices.Contains(statuses, st) {
			l.Add("status", "%s is not a queue status: assigned or disputed (empty for both)", fielderr.Quote(req.GetStatus()))
		}
		statuses = []store.PickStatus{st}
	}
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	// A page of each status from the token on, merged: the first of their
	// union in id order are among the first of each.
	var queue []*qav1.Pick
	for _, st := range statuses {
		picks, err := s.store.ListPicks(ctx, store.PickFilter{InspectorID: who.Subject, Status: st, Week: req.GetWeek(),
			Reason: req.GetReason(), AfterID: pg.after, Limit: pg.fetch()})
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		for _, p := range picks {
			queue = append(queue, pickToProto(p))
		}
	}
	// Open calibration items are assigned work of no week or reason
	// (calibration_review.go); their ids follow every pick's.
	if req.GetWeek() == "" && req.GetReason() == "" && slices.Contains(statuses, store.PickAssigned) {
		items, err := s.queueCalibration(ctx, pg.after, pg.fetch())
		if err != nil {
			return nil, err
		}
		queue = append(queue, items...)
	}
	slices.SortFunc(queue, func(a, b *qav1.Pick) int { return cmp.Compare(a.GetId(), b.GetId()) })
	out := &qav1.ListQueueResponse{}
	out.Items, out.NextPageToken = cut(pg, queue, func(p *qav1.Pick) int64 { return p.GetId() })
	return out, nameAgents(ctx, s.store, s.log, out.Items)
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
	if store.IsCalibrationItem(req.GetId()) {
		return nil, s.notReleasable(ctx, req.GetId(), "released")
	}
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
	if store.IsCalibrationItem(req.GetId()) {
		return nil, s.notReleasable(ctx, req.GetId(), "skipped")
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

// Limits on what an inspector writes into a review.
// The review's comment is prose (fielderr.MaxProseBytes).
const (
	maxReviewText  = 8 << 10 // bytes of one strength, suggestion or rating comment
	maxReviewItems = 32      // strengths or suggestions
)

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
	// final is the item's final review when it is already reviewed.
	final *store.Review
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
	ic.pick = p
	if p.Status == store.PickReviewed {
		// Finished work opens read-only, scored against its own rubric
		// version; SubmitReview refuses it (readOnly).
		final, err := s.store.FinalReviewOf(ctx, p.ID)
		if err != nil {
			return ic, storeError(ctx, s.log, err)
		}
		ic.final = &final
		if ic.rubric, ic.version, err = s.rubrics.version(ctx, final.RubricVersion); err != nil {
			return ic, storeError(ctx, s.log, err)
		}
		return ic, nil
	}
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
	if store.IsCalibrationItem(req.GetId()) {
		return s.openCalibrationItem(ctx, req.GetId())
	}
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
		Hints: hintsToProto(&st.Checks),
	}
	if ic.draft != nil {
		out.Draft = reviewToProto(*ic.draft, &ic.rubric)
	}
	if ic.dispute != nil {
		out.Dispute = disputeToProto(*ic.dispute)
		out.DisputedReview = reviewToProto(*ic.disputed, &ic.rubric)
	}
	if ic.final != nil {
		out.Review = reviewToProto(*ic.final, &ic.rubric)
	}
	if out.AgentNames, err = s.agentNames(ctx, out.Transcript); err != nil {
		return nil, err
	}
	return out, nil
}

// agentNames looks up the directory names of the agents who wrote in t:
// its owner and any agent a transfer brought in (a handful at most).
func (s *reviewService) agentNames(ctx context.Context, t *qav1.Transcript) (map[string]string, error) {
	return transcriptAgentNames(ctx, s.store, s.log, t)
}

// transcriptAgentNames is agentNames for any service: the review page and
// a supervisor's record both show who wrote.
func transcriptAgentNames(ctx context.Context, st Storage, log *slog.Logger, t *qav1.Transcript) (map[string]string, error) {
	ids := []string{t.GetAgentId()}
	for _, m := range t.GetMessages() {
		ids = append(ids, m.GetAgentId())
	}
	names, err := directoryNames(ctx, st, log, ids)
	if err != nil {
		return nil, err
	}
	// An agent the directory knows without a name is shown by id.
	maps.DeleteFunc(names, func(_, name string) bool { return name == "" })
	return names, nil
}

// scoreSubmission checks a submitted review against its rubric and
// reports every problem at once: the free text's and the ratings'. A
// final review is scored; a draft is only checked.
func scoreSubmission(rubric scoring.Rubric, in scoring.Input, final bool, textErr *fielderr.Error) (scoring.Result, error) {
	var problems fielderr.List
	if textErr != nil {
		problems.AddError("", textErr)
	}
	var res scoring.Result
	var err error
	if final {
		res, err = rubric.Score(in)
	} else {
		err = rubric.CheckDraft(in)
	}
	problems.AddError("", err)
	return res, invalidList(&problems)
}

func (s *reviewService) SubmitReview(ctx context.Context, req *qav1.SubmitReviewRequest) (*qav1.SubmitReviewResponse, error) {
	if store.IsCalibrationItem(req.GetItemId()) {
		return s.submitCalibration(ctx, req)
	}
	rv, in, textErr := reviewFromRequest(req)
	ic, err := s.loadItem(ctx, req.GetItemId())
	if err != nil {
		return nil, err
	}
	if ic.final != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "item %d already has a final review; only a dispute can re-score it", ic.pick.ID)
	}
	res, err := scoreSubmission(ic.rubric, in, req.GetFinal(), textErr)
	if err != nil {
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
	if store.IsCalibrationItem(req.GetId()) {
		return s.calibrationReview(ctx, req.GetId())
	}
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

func (s *reviewService) ListReviews(ctx context.Context, req *qav1.ListReviewsRequest) (*qav1.ListReviewsResponse, error) {
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	inspector := req.GetInspectorId()
	if who.Role != store.RoleAdmin {
		if inspector != "" && inspector != who.Subject {
			return nil, status.Error(codes.PermissionDenied, "inspector_id: inspectors see only their own reviews; leave it empty")
		}
		inspector = who.Subject
	}
	f := store.ReviewFilter{InspectorID: inspector, Finalised: true, Limit: pg.fetch()}
	if pg.hasAfter {
		f.BeforeID = pg.after
	}
	reviews, err := s.store.ListReviews(ctx, f)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListReviewsResponse{}
	reviews, out.NextPageToken = cut(pg, reviews, func(r store.Review) int64 { return r.ID })
	for _, rv := range reviews {
		r, _, err := s.rubrics.version(ctx, rv.RubricVersion)
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		out.Reviews = append(out.Reviews, reviewToProto(rv, &r))
	}
	return out, nameReviewAgents(ctx, s.store, s.log, out.Reviews)
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
