package server

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/dispute"
	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
	"qa-sampling/store"
)

const (
	// watchBatch is how many records a stream reads at a time.
	watchBatch = 500
	// watchCursorHeader is the WatchFeedback response header holding the
	// id the stream starts after.
	watchCursorHeader = "x-feedback-after-id"
)

// feedbackService is the supervisor's side. A supervisor's calls are
// confined to the records of the agents they supervise now (access.go);
// another's record is NOT_FOUND.
type feedbackService struct {
	qav1.UnimplementedFeedbackServiceServer
	store         Storage
	rubrics       *rubricBook
	hub           *feedbackHub
	metrics       *opsMetrics
	disputeWindow time.Duration
	now           func() time.Time
	log           *slog.Logger
	// recheck authenticates a stream's caller again (nil: never). A
	// stream may stay open for days; without it a revoked token or an
	// ended console session would go on receiving records.
	recheck func(ctx context.Context, method string) error
}

var grades = []string{string(scoring.GradeExcellent), string(scoring.GradeGood), string(scoring.GradePass),
	string(scoring.GradeNeedsImprovement), string(scoring.GradeFail)}

// records converts fs; each record's rubric version is a locked one, which
// the rubric book parses once and then serves from memory.
func (s *feedbackService) records(ctx context.Context, fs []store.Feedback) ([]*qav1.FeedbackRecord, error) {
	out := make([]*qav1.FeedbackRecord, 0, len(fs))
	for _, f := range fs {
		r, _, err := s.rubrics.version(ctx, f.Review.RubricVersion)
		if err != nil {
			return nil, err
		}
		out = append(out, feedbackToProto(f, &r))
	}
	return out, nil
}

func (s *feedbackService) ListFeedback(ctx context.Context, req *qav1.ListFeedbackRequest) (*qav1.ListFeedbackResponse, error) {
	supervisor, err := supervisorScope(ctx, req.GetSupervisorId())
	if err != nil {
		return nil, err
	}
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), req.GetAfterId())
	if g := req.GetGrade(); g != "" && !slices.Contains(grades, g) {
		l.Add("grade", "%s is not one of %s", fielderr.Quote(g), strings.Join(grades, ", "))
	}
	checkWeek(&l, "week", req.GetWeek())
	if req.GetAcknowledged() && req.GetUnacknowledged() {
		l.Add("acknowledged", "not together with unacknowledged")
	}
	if req.GetNewestFirst() && req.GetAfterId() != 0 {
		l.Add("after_id", "not with newest_first: page with page_token")
	}
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	filter := store.FeedbackFilter{
		SupervisorID: supervisor, AgentID: req.GetAgentId(), Week: req.GetWeek(), Grade: req.GetGrade(),
		Unacknowledged: req.GetUnacknowledged(), Acknowledged: req.GetAcknowledged(), Limit: pg.fetch(),
	}
	if req.GetNewestFirst() {
		// The token is the last (oldest) id of the previous page.
		filter.NewestFirst, filter.BeforeID = true, pg.after
	} else {
		filter.AfterID = pg.after
	}
	fs, err := s.store.ListFeedback(ctx, filter)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListFeedbackResponse{}
	fs, out.NextPageToken = cut(pg, fs, func(f store.Feedback) int64 { return f.ID })
	if out.NextPageToken != "" {
		out.NextAfterId = fs[len(fs)-1].ID
	}
	if out.Records, err = s.records(ctx, fs); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return out, nil
}

// WatchFeedback sends the backlog after the cursor, then each new record.
// It reads the database only when the hub says something was written.
// The stream's header carries the starting cursor (watchCursorHeader).
func (s *feedbackService) WatchFeedback(req *qav1.WatchFeedbackRequest, stream qav1.FeedbackService_WatchFeedbackServer) error {
	ctx := stream.Context()
	supervisor, err := supervisorScope(ctx, req.GetSupervisorId())
	if err != nil {
		return err
	}
	cursor := req.GetAfterId()
	if cursor < 0 {
		return badField("after_id", "must not be negative")
	}
	if req.GetFromNow() {
		// The newest of the caller's own records, not the newest of all:
		// the header must not show how busy other supervisors are. No
		// record of theirs is skipped, as every later one of theirs has a
		// larger id.
		if cursor, err = s.store.LastFeedbackID(ctx, supervisor); err != nil {
			return storeError(ctx, s.log, err)
		}
	}
	// Counted before the header, so a client holding the header is counted.
	defer s.metrics.watching()()
	// Headers now, not with the first record: a client knows the stream
	// is established before anything arrives, and learns the cursor
	// from_now resolved to, so that a reconnect after an abrupt drop
	// resumes there instead of at a later "now".
	if err := stream.SendHeader(metadata.Pairs(watchCursorHeader, strconv.FormatInt(cursor, 10))); err != nil {
		return err
	}
	for {
		changed := s.hub.wait(supervisor)
		fs, err := s.store.ListFeedback(ctx, store.FeedbackFilter{
			SupervisorID: supervisor, AgentID: req.GetAgentId(), AfterID: cursor, Limit: watchBatch,
		})
		if err != nil {
			return storeError(ctx, s.log, err)
		}
		records, err := s.records(ctx, fs)
		if err != nil {
			return storeError(ctx, s.log, err)
		}
		if len(records) > 0 && s.recheck != nil {
			// The credential cache makes this cheap; a revocation through
			// this server's API empties the cache at once.
			if err := s.recheck(ctx, "/qa.v1.FeedbackService/WatchFeedback"); err != nil {
				return err
			}
		}
		for _, r := range records {
			if err := stream.Send(&qav1.WatchFeedbackResponse{Record: r}); err != nil {
				return err
			}
			cursor = r.GetId()
		}
		if len(fs) == watchBatch {
			continue // more backlog
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-s.hub.closed:
			return status.Errorf(codes.Unavailable, "server shutting down; reconnect with after_id=%d", cursor)
		case <-changed:
		}
	}
}

// ownRecord returns record id if the caller owns its agent (access.go);
// another's record is NOT_FOUND, like one that does not exist.
func (s *feedbackService) ownRecord(ctx context.Context, id int64) (store.Feedback, error) {
	f, err := s.store.GetFeedback(ctx, id)
	if err == nil {
		var ok bool
		if ok, err = ownsAgentID(ctx, s.store, f.Review.AgentID); err == nil && !ok {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return f, status.Errorf(codes.NotFound, "feedback %d not found", id)
	}
	if err != nil {
		return f, storeError(ctx, s.log, err)
	}
	return f, nil
}

// GetFeedback reads one of the caller's records (ownRecord) with its
// transcript: the conversation behind the score, shown to the record's
// owner only, so GetTranscript stays closed to supervisors.
func (s *feedbackService) GetFeedback(ctx context.Context, req *qav1.GetFeedbackRequest) (*qav1.GetFeedbackResponse, error) {
	f, err := s.ownRecord(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	recs, err := s.records(ctx, []store.Feedback{f})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	t, err := s.store.GetTranscript(ctx, f.Review.ExternalID)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.GetFeedbackResponse{Record: recs[0], Transcript: transcriptToProto(&t)}
	if out.AgentNames, err = transcriptAgentNames(ctx, s.store, s.log, out.Transcript); err != nil {
		return nil, err
	}
	if err := s.disputeState(ctx, f.Review, out); err != nil {
		return nil, err
	}
	if f.Review.Status == store.ReviewRetracted {
		next, err := s.store.ListFeedback(ctx, store.FeedbackFilter{SupersedesID: f.ID, Limit: 1})
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		if len(next) > 0 {
			out.SupersededById = next[0].ID
		}
	}
	return out, nil
}

// disputeState tells the record's reader until when its review may be
// disputed, whether it has an open dispute, and whether OpenDispute would
// take one now (the same rule, dispute.CheckOpen), so a page can offer the
// button with its deadline without knowing the rules.
func (s *feedbackService) disputeState(ctx context.Context, rv store.Review, out *qav1.GetFeedbackResponse) error {
	open, err := s.store.ListDisputes(ctx, store.DisputeFilter{PickID: rv.PickID, Status: store.DisputeOpen})
	if err != nil {
		return storeError(ctx, s.log, err)
	}
	contested := dispute.Contested{ReviewID: rv.ID, InspectorID: rv.InspectorID, FinalizedAt: rv.FinalizedAt, SupersededByID: rv.SupersededByID}
	if len(open) > 0 {
		contested.OpenDisputeID = open[0].ID
	}
	out.OpenDisputeId = contested.OpenDisputeID
	out.DisputeClosesAt = timestamppb.New(rv.FinalizedAt.Add(s.disputeWindow))
	out.Disputable = dispute.CheckOpen(contested, s.now(), s.disputeWindow) == nil
	return nil
}

func (s *feedbackService) AcknowledgeFeedback(ctx context.Context, req *qav1.AcknowledgeFeedbackRequest) (*qav1.AcknowledgeFeedbackResponse, error) {
	note := strings.TrimSpace(req.GetNote())
	if err := badText("note", note, fielderr.MaxProseBytes, false); err != nil {
		return nil, err
	}
	if _, err := s.ownRecord(ctx, req.GetId()); err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	f, err := s.store.AcknowledgeFeedback(ctx, req.GetId(), who.Subject, note)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	recs, err := s.records(ctx, []store.Feedback{f})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.AcknowledgeFeedbackResponse{Record: recs[0]}, nil
}

func (s *feedbackService) OpenDispute(ctx context.Context, req *qav1.OpenDisputeRequest) (*qav1.OpenDisputeResponse, error) {
	reason := strings.TrimSpace(req.GetReason())
	if reason == "" {
		return nil, badField("reason", "required: say what the review got wrong")
	}
	if err := badText("reason", reason, fielderr.MaxProseBytes, true); err != nil {
		return nil, err
	}
	rv, err := readableReview(ctx, s.store, s.log, req.GetReviewId())
	if err != nil {
		return nil, err
	}
	open, err := s.store.ListDisputes(ctx, store.DisputeFilter{PickID: rv.PickID, Status: store.DisputeOpen})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	contested := dispute.Contested{ReviewID: rv.ID, InspectorID: rv.InspectorID, FinalizedAt: rv.FinalizedAt, SupersededByID: rv.SupersededByID}
	if len(open) > 0 {
		contested.OpenDisputeID = open[0].ID
	}
	if err := dispute.CheckOpen(contested, s.now(), s.disputeWindow); err != nil {
		return nil, disputeRefused(err)
	}
	in, err := assignmentInputsFor(ctx, s.store, rv.AgentID)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	assignee := dispute.Assignee(contested, in.loads, in.supervisorID, in.recent)
	if assignee == "" {
		return nil, status.Errorf(codes.FailedPrecondition, "no active inspector other than %s (and not the agent's supervisor) can re-score review %d; add one with `qactl inspector add`", rv.InspectorID, rv.ID)
	}
	who, _ := PrincipalFrom(ctx)
	d, err := s.store.OpenDispute(ctx, store.Dispute{ReviewID: rv.ID, OpenedBy: who.Subject, Reason: reason, AssigneeID: assignee})
	if errors.Is(err, store.ErrConflict) {
		return nil, status.Errorf(codes.AlreadyExists, "review %d already has an open dispute", rv.ID)
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.OpenDisputeResponse{Dispute: disputeToProto(d)}, nil
}

// disputeRefused maps a broken dispute rule to its status: a second open
// dispute is ALREADY_EXISTS, the others FAILED_PRECONDITION.
func disputeRefused(err error) error {
	var already *dispute.AlreadyOpenError
	if errors.As(err, &already) {
		return status.Error(codes.AlreadyExists, err.Error())
	}
	return status.Error(codes.FailedPrecondition, err.Error())
}

func (s *feedbackService) ListDisputes(ctx context.Context, req *qav1.ListDisputesRequest) (*qav1.ListDisputesResponse, error) {
	var l fielderr.List
	st := store.DisputeStatus(req.GetStatus())
	if st != "" && st != store.DisputeOpen && st != store.DisputeResolved {
		l.Add("status", "%s is not open or resolved", fielderr.Quote(string(st)))
	}
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	supervisor, err := supervisorScope(ctx, "")
	if err != nil {
		return nil, err
	}
	// Newest first: the next page holds the disputes before the token.
	ds, err := s.store.ListDisputes(ctx, store.DisputeFilter{SupervisorID: supervisor, Status: st, BeforeID: pg.after, Limit: pg.fetch()})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListDisputesResponse{}
	ds, out.NextPageToken = cut(pg, ds, func(d store.Dispute) int64 { return d.ID })
	for _, d := range ds {
		out.Disputes = append(out.Disputes, disputeToProto(d))
	}
	return out, nil
}
