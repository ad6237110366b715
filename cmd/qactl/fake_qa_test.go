package main

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// watchSession scripts one WatchFeedback call of fakeQA.
type watchSession func(req *qav1.WatchFeedbackRequest, stream grpc.ServerStreamingServer[qav1.WatchFeedbackResponse]) error

// fakeQA is a stand-in for the review, feedback and report services that
// records what it receives.
type fakeQA struct {
	qav1.UnimplementedReviewServiceServer
	qav1.UnimplementedFeedbackServiceServer
	qav1.UnimplementedReportServiceServer

	// items answer OpenItem by id.
	items map[int64]*qav1.OpenItemResponse
	// submitted answers SubmitReview: the request's ratings are copied in
	// and the output-only fields filled from it.
	submitted *qav1.Review
	// records answer ListFeedback, in id order.
	records []*qav1.FeedbackRecord
	// watch answers the WatchFeedback calls in turn; once they run out a
	// call waits for the client to go.
	watch []watchSession
	// agentReport answers GetAgentReport.
	agentReport *qav1.AgentReport

	mu           sync.Mutex
	opened       []int64
	submits      []*qav1.SubmitReviewRequest
	listRequests []*qav1.ListFeedbackRequest
	watchReqs    []*qav1.WatchFeedbackRequest
}

// startFakeQA serves f's review, feedback and report services, and any
// more that register adds.
func startFakeQA(t testing.TB, f *fakeQA, register ...func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	qav1.RegisterReviewServiceServer(srv, f)
	qav1.RegisterFeedbackServiceServer(srv, f)
	qav1.RegisterReportServiceServer(srv, f)
	for _, r := range register {
		r(srv)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func (f *fakeQA) OpenItem(_ context.Context, req *qav1.OpenItemRequest) (*qav1.OpenItemResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, req.GetId())
	resp, ok := f.items[req.GetId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "item %d not found", req.GetId())
	}
	return resp, nil
}

func (f *fakeQA) SubmitReview(_ context.Context, req *qav1.SubmitReviewRequest) (*qav1.SubmitReviewResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submits = append(f.submits, proto.CloneOf(req))
	r := proto.CloneOf(f.submitted)
	r.ItemId = req.GetItemId()
	r.Flags, r.Comment, r.Strengths, r.Suggestions = req.GetFlags(), req.GetComment(), req.GetStrengths(), req.GetSuggestions()
	r.Status = "draft"
	if req.GetFinal() {
		r.Status = "final"
	} else {
		r.Score, r.ScoreText, r.Grade = 0, "", ""
	}
	for _, d := range req.GetRatings() {
		d = proto.CloneOf(d)
		d.Max = 5
		if !d.GetNa() && req.GetFinal() {
			d.Percent = float64(d.GetValue()) * 20
			d.Failing = d.GetValue() < 3
			d.Critical = d.GetKey() == "compliance" && d.GetValue() <= 2
		}
		r.Ratings = append(r.Ratings, d)
	}
	resp := &qav1.SubmitReviewResponse{Review: r}
	if req.GetFinal() {
		resp.Feedback = &qav1.FeedbackRecord{Id: 31, SupervisorId: "sup-1", Review: r}
	}
	return resp, nil
}

// ListFeedback pages like the server: the token is the last id of the
// previous page, and next_page_token is set only when more records remain.
func (f *fakeQA) ListFeedback(_ context.Context, req *qav1.ListFeedbackRequest) (*qav1.ListFeedbackResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listRequests = append(f.listRequests, proto.CloneOf(req))
	limit := int(req.GetPageSize())
	if limit == 0 {
		limit = 100
	}
	after := req.GetAfterId()
	if req.GetPageToken() != "" {
		var err error
		if after, err = strconv.ParseInt(req.GetPageToken(), 10, 64); err != nil {
			return nil, status.Error(codes.InvalidArgument, "page_token: not a token from a previous response")
		}
	}
	resp := &qav1.ListFeedbackResponse{}
	for _, r := range f.records {
		if r.GetId() <= after || (req.GetUnacknowledged() && r.GetAcknowledgedAt() != nil) ||
			(req.GetAgentId() != "" && r.GetAgentId() != req.GetAgentId()) {
			continue
		}
		if len(resp.Records) == limit {
			resp.NextPageToken = strconv.FormatInt(resp.Records[limit-1].GetId(), 10)
			break
		}
		resp.Records = append(resp.Records, r)
	}
	return resp, nil
}

func (f *fakeQA) WatchFeedback(req *qav1.WatchFeedbackRequest, stream grpc.ServerStreamingServer[qav1.WatchFeedbackResponse]) error {
	f.mu.Lock()
	n := len(f.watchReqs)
	f.watchReqs = append(f.watchReqs, proto.CloneOf(req))
	f.mu.Unlock()
	if n < len(f.watch) {
		return f.watch[n](req, stream)
	}
	<-stream.Context().Done()
	return status.FromContextError(stream.Context().Err()).Err()
}

func (f *fakeQA) GetAgentReport(_ context.Context, req *qav1.GetAgentReportRequest) (*qav1.GetAgentReportResponse, error) {
	if f.agentReport == nil || req.GetAgentId() != f.agentReport.GetAgentId() {
		return nil, status.Errorf(codes.NotFound, "agent %q not found", req.GetAgentId())
	}
	return &qav1.GetAgentReportResponse{Report: f.agentReport}, nil
}

func (f *fakeQA) watchRequests() []*qav1.WatchFeedbackRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watchReqs
}

// syncBuffer is a bytes.Buffer for a command running in another goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
