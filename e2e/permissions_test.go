package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// rpcCall is one call of the permission matrix: the request is harmless
// (it stores nothing), and ok is the code it gets from a role allowed to
// call the method.
type rpcCall struct {
	call func(ctx context.Context) error
	ok   codes.Code
}

// allowedRoles is the expectation of the matrix, written from the API
// documentation (README's service table and the proto comments), not read
// from the server's own table.
var allowedRoles = map[string][]string{
	"/qa.v1.RubricService/GetRubric":      {"admin", "inspector", "supervisor"},
	"/qa.v1.RubricService/ListRubrics":    {"admin"},
	"/qa.v1.RubricService/CreateRubric":   {"admin"},
	"/qa.v1.RubricService/UpdateRubric":   {"admin"},
	"/qa.v1.RubricService/ActivateRubric": {"admin"},
	"/qa.v1.RubricService/ValidateRubric": {"admin"},

	"/qa.v1.ReviewService/ListQueue":    {"inspector"},
	"/qa.v1.ReviewService/ReleaseItem":  {"inspector"},
	"/qa.v1.ReviewService/SkipItem":     {"inspector"},
	"/qa.v1.ReviewService/OpenItem":     {"inspector"},
	"/qa.v1.ReviewService/SubmitReview": {"inspector"},
	"/qa.v1.ReviewService/GetReview":    {"admin", "inspector", "supervisor"},
	"/qa.v1.ReviewService/ListReviews":  {"admin", "inspector"},

	"/qa.v1.FeedbackService/ListFeedback":        {"admin", "supervisor"},
	"/qa.v1.FeedbackService/WatchFeedback":       {"admin", "supervisor"},
	"/qa.v1.FeedbackService/AcknowledgeFeedback": {"supervisor"},
	"/qa.v1.FeedbackService/OpenDispute":         {"supervisor"},
	"/qa.v1.FeedbackService/ListDisputes":        {"admin", "supervisor"},
	"/qa.v1.FeedbackService/GetFeedback":         {"admin", "supervisor"},

	"/qa.v1.ReportService/GetAgentReport": {"admin", "supervisor"},
	"/qa.v1.ReportService/GetTeamReport":  {"admin", "supervisor"},
	"/qa.v1.ReportService/ListTeams":      {"admin", "supervisor"},

	"/qa.v1.AuditService/ListAuditEvents": {"admin"},

	"/qa.v1.InfoService/GetServerInfo":     {"admin", "ingest", "inspector", "supervisor"},
	"/qa.v1.SamplingService/ReassignItems": {"admin"},

	"/qa.v1.CalibrationService/CreateCalibration":       {"admin"},
	"/qa.v1.CalibrationService/ListCalibrations":        {"admin", "inspector"},
	"/qa.v1.CalibrationService/GetCalibration":          {"admin", "inspector"},
	"/qa.v1.CalibrationService/CloseCalibration":        {"admin"},
	"/qa.v1.CalibrationService/GetCalibrationResults":   {"admin", "inspector"},
	"/qa.v1.InspectorReportService/GetInspectorsReport": {"admin"},
}

// noSuchID is an id no test ever creates.
const noSuchID = int64(1) << 40

// watchCode opens a feedback stream and reads one record: nil if one
// arrives, else the error that ended the stream. Allowed callers are given
// a cursor with a record behind it, so that they never wait.
func watchCode(ctx context.Context, c qav1.FeedbackServiceClient, req *qav1.WatchFeedbackRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := c.WatchFeedback(ctx, req)
	if err != nil {
		return err
	}
	_, err = s.Recv()
	return err
}

// unary is the matrix entry of a unary method called with req.
func unary[Req, Resp any](method func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req, ok codes.Code) rpcCall {
	return rpcCall{func(ctx context.Context) error {
		_, err := method(ctx, req)
		return err
	}, ok}
}

// matrixCalls builds a harmless call for every method of the five
// services.
func matrixCalls(c qaClients, rubric *qav1.Rubric, week string) map[string]rpcCall {
	all := ratingsProtoFixed()
	return map[string]rpcCall{
		"/qa.v1.RubricService/GetRubric":      unary(c.rubric.GetRubric, &qav1.GetRubricRequest{}, codes.OK),
		"/qa.v1.RubricService/ListRubrics":    unary(c.rubric.ListRubrics, &qav1.ListRubricsRequest{}, codes.OK),
		"/qa.v1.RubricService/CreateRubric":   unary(c.rubric.CreateRubric, &qav1.CreateRubricRequest{}, codes.InvalidArgument),
		"/qa.v1.RubricService/UpdateRubric":   unary(c.rubric.UpdateRubric, &qav1.UpdateRubricRequest{}, codes.InvalidArgument),
		"/qa.v1.RubricService/ActivateRubric": unary(c.rubric.ActivateRubric, &qav1.ActivateRubricRequest{}, codes.InvalidArgument),
		"/qa.v1.RubricService/ValidateRubric": unary(c.rubric.ValidateRubric, &qav1.ValidateRubricRequest{Rubric: rubric}, codes.OK),

		"/qa.v1.ReviewService/ListQueue": unary(c.review.ListQueue, &qav1.ListQueueRequest{}, codes.OK),

		"/qa.v1.CalibrationService/CreateCalibration":       unary(c.calib.CreateCalibration, &qav1.CreateCalibrationRequest{}, codes.InvalidArgument),
		"/qa.v1.CalibrationService/ListCalibrations":        unary(c.calib.ListCalibrations, &qav1.ListCalibrationsRequest{}, codes.OK),
		"/qa.v1.CalibrationService/GetCalibration":          unary(c.calib.GetCalibration, &qav1.GetCalibrationRequest{Id: noSuchID}, codes.NotFound),
		"/qa.v1.CalibrationService/CloseCalibration":        unary(c.calib.CloseCalibration, &qav1.CloseCalibrationRequest{Id: noSuchID}, codes.NotFound),
		"/qa.v1.CalibrationService/GetCalibrationResults":   unary(c.calib.GetCalibrationResults, &qav1.GetCalibrationResultsRequest{Id: noSuchID}, codes.NotFound),
		"/qa.v1.InspectorReportService/GetInspectorsReport": unary(c.inspRep.GetInspectorsReport, &qav1.GetInspectorsReportRequest{Weeks: 1, LastWeek: week}, codes.OK),
		"/qa.v1.ReviewService/ReleaseItem":                  unary(c.review.ReleaseItem, &qav1.ReleaseItemRequest{Id: noSuchID}, codes.NotFound),
		"/qa.v1.ReviewService/SkipItem":                     unary(c.review.SkipItem, &qav1.SkipItemRequest{Id: noSuchID, Reason: "spam"}, codes.NotFound),
		"/qa.v1.ReviewService/OpenItem":                     unary(c.review.OpenItem, &qav1.OpenItemRequest{Id: noSuchID}, codes.NotFound),
		"/qa.v1.ReviewService/SubmitReview":                 unary(c.review.SubmitReview, &qav1.SubmitReviewRequest{ItemId: noSuchID, Ratings: all, Final: true}, codes.NotFound),
		"/qa.v1.ReviewService/GetReview":                    unary(c.review.GetReview, &qav1.GetReviewRequest{Id: noSuchID}, codes.NotFound),
		"/qa.v1.ReviewService/ListReviews":                  unary(c.review.ListReviews, &qav1.ListReviewsRequest{}, codes.OK),

		"/qa.v1.FeedbackService/ListFeedback": unary(c.feedback.ListFeedback, &qav1.ListFeedbackRequest{}, codes.OK),
		"/qa.v1.FeedbackService/WatchFeedback": {func(ctx context.Context) error {
			return watchCode(ctx, c.feedback, &qav1.WatchFeedbackRequest{AfterId: 0})
		}, codes.OK},
		"/qa.v1.FeedbackService/AcknowledgeFeedback": unary(c.feedback.AcknowledgeFeedback, &qav1.AcknowledgeFeedbackRequest{Id: noSuchID, Note: "n"}, codes.NotFound),
		"/qa.v1.FeedbackService/OpenDispute":         unary(c.feedback.OpenDispute, &qav1.OpenDisputeRequest{ReviewId: noSuchID, Reason: "wrong"}, codes.NotFound),
		"/qa.v1.FeedbackService/ListDisputes":        unary(c.feedback.ListDisputes, &qav1.ListDisputesRequest{}, codes.OK),
		"/qa.v1.FeedbackService/GetFeedback":         unary(c.feedback.GetFeedback, &qav1.GetFeedbackRequest{Id: noSuchID}, codes.NotFound),

		"/qa.v1.ReportService/GetAgentReport": unary(c.report.GetAgentReport, &qav1.GetAgentReportRequest{AgentId: "a1", LastWeek: week, Weeks: 1}, codes.OK),
		"/qa.v1.ReportService/GetTeamReport":  unary(c.report.GetTeamReport, &qav1.GetTeamReportRequest{TeamId: "team-a", LastWeek: week, Weeks: 1}, codes.OK),
		"/qa.v1.ReportService/ListTeams":      unary(c.report.ListTeams, &qav1.ListTeamsRequest{}, codes.OK),

		"/qa.v1.AuditService/ListAuditEvents": unary(c.audit.ListAuditEvents, &qav1.ListAuditEventsRequest{}, codes.OK),

		"/qa.v1.InfoService/GetServerInfo":     unary(c.info.GetServerInfo, &qav1.GetServerInfoRequest{}, codes.OK),
		"/qa.v1.SamplingService/ReassignItems": unary(c.sampling.ReassignItems, &qav1.ReassignItemsRequest{ItemId: noSuchID, ToPool: true}, codes.NotFound),
	}
}

func ratingsProtoFixed() []*qav1.DimensionRating {
	var out []*qav1.DimensionRating
	for _, k := range dimensionKeys {
		out = append(out, &qav1.DimensionRating{Key: k, Value: 4})
	}
	return out
}

// TestScoringPermissionMatrix calls every method of the scoring services
// as every role, and without a token or with a bad one.
func TestScoringPermissionMatrix(t *testing.T) {
	const week = "2026-W45"
	w := newWorld(t, backends(t)[0].dsn, defaultOrg)
	w.setupGRPC()
	w.pushWeek(week, 1)
	w.finalize(picksOf(t, w.runWeek(week), "a1")[0], "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4")
	rubric, err := w.c.rubric.GetRubric(w.admin(), &qav1.GetRubricRequest{})
	if err != nil {
		t.Fatal(err)
	}
	calls := matrixCalls(w.c, rubric.GetRubric(), week)

	// Every method of the services is in the matrix, so a new one cannot
	// slip past it.
	for _, sd := range []grpc.ServiceDesc{qav1.RubricService_ServiceDesc, qav1.ReviewService_ServiceDesc,
		qav1.FeedbackService_ServiceDesc, qav1.ReportService_ServiceDesc, qav1.AuditService_ServiceDesc,
		qav1.InfoService_ServiceDesc, qav1.CalibrationService_ServiceDesc} {
		var names []string
		for _, m := range sd.Methods {
			names = append(names, m.MethodName)
		}
		for _, s := range sd.Streams {
			names = append(names, s.StreamName)
		}
		for _, n := range names {
			full := "/" + sd.ServiceName + "/" + n
			if _, ok := calls[full]; !ok {
				t.Errorf("%s has no call in the matrix", full)
			}
			if _, ok := allowedRoles[full]; !ok {
				t.Errorf("%s has no expectation in the matrix", full)
			}
		}
	}

	subjects := map[string]string{"admin": "qa-lead", "ingest": "bridge", "inspector": "insp-1", "supervisor": "sup-a"}
	methods := make([]string, 0, len(calls))
	for m := range calls {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	for _, method := range methods {
		c := calls[method]
		for _, role := range []string{"admin", "ingest", "inspector", "supervisor"} {
			want := codes.PermissionDenied
			if slices.Contains(allowedRoles[method], role) {
				want = c.ok
			}
			if got := codeOf(c.call(w.as(subjects[role]))); got != want {
				t.Errorf("%s as %s: %v, want %v", method, role, got, want)
			}
		}
		for name, tok := range map[string]string{"no token": "", "a bad token": "qa_nope_nope"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if got := codeOf(c.call(withToken(ctx, tok))); got != codes.Unauthenticated {
				t.Errorf("%s with %s: %v, want Unauthenticated", method, name, got)
			}
			cancel()
		}
	}
}

// TestDataScoping: right role, wrong data. A supervisor never gets another
// supervisor's agents' records, reviews, disputes or reports; an inspector
// never another inspector's items; ingest never scores.
func TestDataScoping(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { dataScoping(t, b.dsn) })
	}
}

func dataScoping(t *testing.T, dsn string) {
	const week = "2026-W45"
	// b2 is sup-b's agent in sup-a's team: a team report covers only the
	// caller's own agents in it.
	org := append(slices.Clone(defaultOrg), orgAgent{"b2", "team-a", "sup-b"})
	w := newWorld(t, dsn, org)
	w.setupGRPC()
	w.pushWeek(week, 2)
	picks := w.runWeek(week)
	spec := "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4"
	recA := w.finalize(picksOf(t, picks, "a1")[0], spec).GetFeedback()
	recB := w.finalize(picksOf(t, picks, "b1")[0], spec).GetFeedback()
	recB2 := w.finalize(picksOf(t, picks, "b2")[0], spec).GetFeedback()
	reviewA := recA.GetReview()
	supA, supB := w.as("sup-a"), w.as("sup-b")

	// Feedback lists: only one's own records, whatever the filter.
	for _, req := range []*qav1.ListFeedbackRequest{{}, {AgentId: "a1"}, {Week: week}, {Unacknowledged: true}} {
		resp, err := w.c.feedback.ListFeedback(supB, req)
		if err != nil {
			t.Fatalf("sup-b ListFeedback %v: %v", req, err)
		}
		for _, r := range resp.GetRecords() {
			if r.GetSupervisorId() != "sup-b" {
				t.Errorf("sup-b ListFeedback %v returned %v", req, r)
			}
		}
		if req.GetAgentId() == "" && len(resp.GetRecords()) != 2 {
			t.Errorf("sup-b ListFeedback %v: %d records, want b1's and b2's", req, len(resp.GetRecords()))
		}
	}
	if resp, err := w.c.feedback.ListFeedback(supB, &qav1.ListFeedbackRequest{SupervisorId: "sup-a"}); err == nil && len(resp.GetRecords()) > 0 {
		t.Errorf("sup-b asking for sup-a's records got %v", resp.GetRecords())
	}

	// The stream: records come in id order and a1's comes first, so sup-b
	// seeing b1's record first proves a1's was not sent.
	ctx, cancel := context.WithTimeout(supB, 30*time.Second)
	defer cancel()
	stream, err := w.c.feedback.WatchFeedback(ctx, &qav1.WatchFeedbackRequest{AfterId: 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []int64{recB.GetId(), recB2.GetId()} {
		got, err := stream.Recv()
		if err != nil {
			t.Fatalf("sup-b's stream: %v", err)
		}
		if got.GetRecord().GetId() != want {
			t.Fatalf("sup-b's stream sent %v, want record %d", got.GetRecord(), want)
		}
	}
	if err := watchCode(supB, w.c.feedback, &qav1.WatchFeedbackRequest{SupervisorId: "sup-a", AfterId: 0}); codeOf(err) != codes.PermissionDenied {
		t.Errorf("sup-b watching sup-a's records: %v, want PERMISSION_DENIED", err)
	}

	// Acknowledge, dispute, read the review, report: NOT_FOUND.
	if _, err := w.c.feedback.AcknowledgeFeedback(supB, &qav1.AcknowledgeFeedbackRequest{Id: recA.GetId(), Note: "mine now"}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b acknowledging a1's record: %v, want NOT_FOUND", err)
	}
	if _, err := w.c.feedback.OpenDispute(supB, &qav1.OpenDisputeRequest{ReviewId: reviewA.GetId(), Reason: "no"}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b disputing a1's review: %v, want NOT_FOUND", err)
	}
	if _, err := w.c.review.GetReview(supB, &qav1.GetReviewRequest{Id: reviewA.GetId()}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b reading a1's review: %v, want NOT_FOUND", err)
	}
	if _, err := w.c.review.GetReview(supB, &qav1.GetReviewRequest{Id: recB.GetReview().GetId()}); err != nil {
		t.Errorf("sup-b reading b1's review: %v", err)
	}
	if _, err := w.c.report.GetAgentReport(supB, &qav1.GetAgentReportRequest{AgentId: "a1", LastWeek: week, Weeks: 2}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-b's report of a1: %v, want NOT_FOUND", err)
	}
	if _, err := w.c.report.GetTeamReport(supA, &qav1.GetTeamReportRequest{TeamId: "team-b", LastWeek: week, Weeks: 2}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-a's report of team-b: %v, want NOT_FOUND", err)
	}
	for sup, want := range map[string][]string{"sup-a": {"a1", "a2"}, "sup-b": {"b2"}} {
		resp, err := w.c.report.GetTeamReport(w.as(sup), &qav1.GetTeamReportRequest{TeamId: "team-a", LastWeek: week, Weeks: 2})
		if err != nil {
			t.Fatalf("%s's report of team-a: %v", sup, err)
		}
		var ids []string
		for _, a := range resp.GetReport().GetAgents() {
			ids = append(ids, a.GetAgentId())
		}
		if !slices.Equal(ids, want) || resp.GetReport().GetSummary().GetReviews() != 1 {
			t.Errorf("%s's report of team-a covers %v with %d reviews; want %v with 1", sup, ids, resp.GetReport().GetSummary().GetReviews(), want)
		}
	}
	admin, err := w.c.feedback.ListFeedback(w.admin(), &qav1.ListFeedbackRequest{AgentId: "a1"})
	if err != nil || len(admin.GetRecords()) != 1 || admin.GetRecords()[0].GetAcknowledgedAt() != nil {
		t.Errorf("a1's record as the admin sees it after sup-b's attempts: %v %v", admin.GetRecords(), err)
	}

	// Disputes: sup-a's dispute is invisible to sup-b.
	if _, err := w.c.feedback.OpenDispute(supA, &qav1.OpenDisputeRequest{ReviewId: reviewA.GetId(), Reason: "the customer was verified"}); err != nil {
		t.Fatalf("sup-a's dispute: %v", err)
	}
	for sup, want := range map[string]int{"sup-a": 1, "sup-b": 0} {
		resp, err := w.c.feedback.ListDisputes(w.as(sup), &qav1.ListDisputesRequest{})
		if err != nil || len(resp.GetDisputes()) != want {
			t.Errorf("%s ListDisputes: %v %v; want %d", sup, resp.GetDisputes(), err, want)
		}
	}

	// Inspectors: another's item is NOT_FOUND for every queue call.
	item := picksOf(t, picks, "a2")[0]
	owner := item.GetInspectorId()
	other := orgInspectors[0]
	if other == owner {
		other = orgInspectors[1]
	}
	draft, err := w.c.review.SubmitReview(w.as(owner), &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratingsProto(t, "attitude=2")})
	if err != nil {
		t.Fatalf("owner's draft: %v", err)
	}
	octx := w.as(other)
	for name, call := range map[string]func() error{
		"OpenItem": func() error { _, err := w.c.review.OpenItem(octx, &qav1.OpenItemRequest{Id: item.GetId()}); return err },
		"SubmitReview draft": func() error {
			_, err := w.c.review.SubmitReview(octx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratingsProto(t, "attitude=1")})
			return err
		},
		"SubmitReview final": func() error {
			_, err := w.c.review.SubmitReview(octx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratingsProto(t, spec), Final: true})
			return err
		},
		"ReleaseItem": func() error {
			_, err := w.c.review.ReleaseItem(octx, &qav1.ReleaseItemRequest{Id: item.GetId()})
			return err
		},
		"SkipItem": func() error {
			_, err := w.c.review.SkipItem(octx, &qav1.SkipItemRequest{Id: item.GetId(), Reason: "spam"})
			return err
		},
		"GetReview of the draft": func() error {
			_, err := w.c.review.GetReview(octx, &qav1.GetReviewRequest{Id: draft.GetReview().GetId()})
			return err
		},
	} {
		if err := call(); codeOf(err) != codes.NotFound {
			t.Errorf("%s calling %s on %s's item: %v, want NOT_FOUND", other, name, owner, err)
		}
	}
	if _, err := w.c.review.GetReview(supA, &qav1.GetReviewRequest{Id: draft.GetReview().GetId()}); codeOf(err) != codes.NotFound {
		t.Errorf("sup-a reading a draft: %v, want NOT_FOUND", err)
	}
	queue, err := w.c.review.ListQueue(octx, &qav1.ListQueueRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range queue.GetItems() {
		if p.GetInspectorId() != other {
			t.Errorf("%s's queue holds %v", other, p)
		}
	}
	opened, err := w.c.review.OpenItem(w.as(owner), &qav1.OpenItemRequest{Id: item.GetId()})
	if err != nil || len(opened.GetDraft().GetRatings()) != 1 || opened.GetDraft().GetRatings()[0].GetValue() != 2 {
		t.Errorf("the owner's draft after the other's attempts: %v %v", opened.GetDraft(), err)
	}

	// ingest reads no scores.
	ing := w.as("bridge")
	for name, call := range map[string]func() error{
		"GetReview": func() error {
			_, err := w.c.review.GetReview(ing, &qav1.GetReviewRequest{Id: reviewA.GetId()})
			return err
		},
		"ListFeedback": func() error { _, err := w.c.feedback.ListFeedback(ing, &qav1.ListFeedbackRequest{}); return err },
		"WatchFeedback": func() error {
			return watchCode(ing, w.c.feedback, &qav1.WatchFeedbackRequest{AfterId: 0})
		},
		"GetAgentReport": func() error {
			_, err := w.c.report.GetAgentReport(ing, &qav1.GetAgentReportRequest{AgentId: "a1", LastWeek: week})
			return err
		},
		"GetTeamReport": func() error {
			_, err := w.c.report.GetTeamReport(ing, &qav1.GetTeamReportRequest{TeamId: "team-a", LastWeek: week})
			return err
		},
	} {
		if err := call(); codeOf(err) != codes.PermissionDenied {
			t.Errorf("ingest %s: %v, want PERMISSION_DENIED", name, err)
		}
	}
}
