package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// The HTTP API's figures (issue 10): with -http, the same calls as a
// browser or an HTTP platform makes them (POST /qa.v1.<Service>/<Method>,
// JSON), each timed from the request sent to the whole response read, on
// loopback, beside the same call over gRPC. With -watch-over http the
// supervisors' feedback streams are held over HTTP (JSON lines) instead
// of gRPC, so two runs differing only in it give the server CPU per
// finalise that HTTP streams cost beyond gRPC ones.

// httpCallResult is the HTTP API measurement.
type httpCallResult struct {
	ListQueueHTTP   Dist `json:"list_queue_http"`
	ListQueueGRPC   Dist `json:"list_queue_grpc"`
	ListQueueItems  int  `json:"list_queue_items"`
	GetFeedbackHTTP Dist `json:"get_feedback_http"`
	GetFeedbackGRPC Dist `json:"get_feedback_grpc"`
	TeamReportHTTP  Dist `json:"team_report_http"`
	TeamReportBytes int  `json:"team_report_json_bytes"`
	TeamReportSup   Dist `json:"team_report_supervisor_http"`
	// The console's request: a page of 100 agents, by mean, lowest first.
	TeamReportPage Dist `json:"team_report_page_http"`
}

// httpCalls is how many times each call is timed.
const httpCalls = 64

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

// bearer is u's token.
func (u *user) bearer() string { return u.md.Get("authorization")[0] }

// postJSON calls method over the HTTP API as u and returns the response
// body; a non-200 answer is an error with its JSON body.
func (b *bench) postJSON(ctx context.Context, u *user, method string, req proto.Message) ([]byte, error) {
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(b.cfg.http, "/")+method, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", u.bearer())
	r.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(r)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, out)
	}
	return out, nil
}

// timeHTTP times n calls of method as u over HTTP, decoding the last
// answer into into (when set).
func (b *bench) timeHTTP(ctx context.Context, u *user, method string, reqs func(i int) proto.Message, n int, into proto.Message) (Dist, int, error) {
	var lat []time.Duration
	size := 0
	for i := range n {
		t0 := time.Now()
		body, err := b.postJSON(ctx, u, method, reqs(i))
		if err != nil {
			return Dist{}, 0, err
		}
		lat = append(lat, time.Since(t0))
		size = len(body)
		if into != nil && i == n-1 {
			if err := protojson.Unmarshal(body, into); err != nil {
				return Dist{}, 0, err
			}
		}
	}
	return distOf(lat), size, nil
}

// runHTTPQueue times ListQueue over HTTP and gRPC while the queues are
// full (before scoring): the first page of 1000 items, round robin over
// the inspectors.
func (b *bench) runHTTPQueue(ctx context.Context, res *httpCallResult) error {
	var insps []*user
	for i := range b.cfg.inspectors {
		u, err := b.user("inspector", inspectorID(i))
		if err != nil {
			return err
		}
		insps = append(insps, u)
	}
	req := &qav1.ListQueueRequest{PageSize: 1000}
	var lat []time.Duration
	for i := range httpCalls {
		u := insps[i%len(insps)]
		t0 := time.Now()
		q, err := qav1.NewReviewServiceClient(u.conn).ListQueue(u.ctx(ctx), req)
		if err != nil {
			return fmt.Errorf("ListQueue: %w", err)
		}
		lat = append(lat, time.Since(t0))
		res.ListQueueItems = len(q.GetItems())
	}
	res.ListQueueGRPC = distOf(lat)
	lat = lat[:0]
	for i := range httpCalls {
		t0 := time.Now()
		if _, err := b.postJSON(ctx, insps[i%len(insps)], "/qa.v1.ReviewService/ListQueue", req); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	res.ListQueueHTTP = distOf(lat)
	return nil
}

// runHTTPCalls times GetFeedback (records of several supervisors) and
// GetTeamReport (as admin over every agent and week, and as a supervisor)
// over HTTP, after scoring.
func (b *bench) runHTTPCalls(ctx context.Context, res *httpCallResult) error {
	type pick struct {
		u  *user
		id int64
	}
	var picks []pick
	rng := rand.New(rand.NewPCG(b.cfg.seed, 10))
	for s := range min(b.cfg.supervisors, 8) {
		u, err := b.user("supervisor", supervisorID(s))
		if err != nil {
			return err
		}
		list, err := qav1.NewFeedbackServiceClient(u.conn).ListFeedback(u.ctx(ctx), &qav1.ListFeedbackRequest{PageSize: 500})
		if err != nil {
			return fmt.Errorf("ListFeedback: %w", err)
		}
		recs := list.GetRecords()
		for range httpCalls / 8 {
			if len(recs) > 0 {
				picks = append(picks, pick{u: u, id: recs[rng.IntN(len(recs))].GetId()})
			}
		}
	}
	if len(picks) == 0 {
		return errors.New("no feedback records to get")
	}
	var lat []time.Duration
	for _, p := range picks {
		t0 := time.Now()
		if _, err := qav1.NewFeedbackServiceClient(p.u.conn).GetFeedback(p.u.ctx(ctx), &qav1.GetFeedbackRequest{Id: p.id}); err != nil {
			return fmt.Errorf("GetFeedback: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	res.GetFeedbackGRPC = distOf(lat)
	lat = lat[:0]
	for _, p := range picks {
		t0 := time.Now()
		if _, err := b.postJSON(ctx, p.u, "/qa.v1.FeedbackService/GetFeedback", &qav1.GetFeedbackRequest{Id: p.id}); err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
	}
	res.GetFeedbackHTTP = distOf(lat)

	report := &qav1.GetTeamReportRequest{TeamId: b.cfg.team, LastWeek: b.lastWeek.String(), Weeks: int32(b.cfg.weeks)}
	var err error
	if _, err = b.postJSON(ctx, b.admin, "/qa.v1.ReportService/GetTeamReport", report); err != nil { // warm
		return err
	}
	res.TeamReportHTTP, res.TeamReportBytes, err = b.timeHTTP(ctx, b.admin, "/qa.v1.ReportService/GetTeamReport",
		func(int) proto.Message { return report }, b.cfg.reportCalls, nil)
	if err != nil {
		return err
	}
	paged := &qav1.GetTeamReportRequest{TeamId: report.TeamId, LastWeek: report.LastWeek, Weeks: report.Weeks, PageSize: 100, OrderBy: "mean"}
	res.TeamReportPage, _, err = b.timeHTTP(ctx, b.admin, "/qa.v1.ReportService/GetTeamReport",
		func(i int) proto.Message {
			p := proto.Clone(paged).(*qav1.GetTeamReportRequest)
			p.PageToken = strconv.Itoa(i % 20 * 100)
			return p
		}, b.cfg.reportCalls, nil)
	if err != nil {
		return err
	}
	sup, err := b.user("supervisor", supervisorID(0))
	if err != nil {
		return err
	}
	res.TeamReportSup, _, err = b.timeHTTP(ctx, sup, "/qa.v1.ReportService/GetTeamReport",
		func(int) proto.Message { return report }, b.cfg.reportCalls, nil)
	return err
}

// watchHTTP opens u's WatchFeedback over the HTTP API (JSON lines) and
// returns its receive function, like the gRPC stream's Recv; the answer
// has arrived (the stream's cursor is fixed) when it returns.
func (b *bench) watchHTTP(ctx context.Context, u *user) (func() (*qav1.WatchFeedbackResponse, error), error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(b.cfg.http, "/")+"/qa.v1.FeedbackService/WatchFeedback",
		strings.NewReader(`{"fromNow": true}`))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", u.bearer())
	r.Header.Set("Accept", "application/x-ndjson")
	resp, err := watchClient.Do(r) //nolint:bodyclose // the receive function closes it when the stream ends
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	lines := bufio.NewReaderSize(resp.Body, 64<<10)
	return func() (*qav1.WatchFeedbackResponse, error) {
		line, err := lines.ReadBytes('\n')
		if err != nil {
			_ = resp.Body.Close()
			if ctx.Err() != nil {
				return nil, status.Error(codes.Canceled, "stream closed")
			}
			return nil, err
		}
		var framed struct {
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(line, &framed); err != nil {
			return nil, err
		}
		if framed.Error != nil {
			return nil, fmt.Errorf("stream error: %s", framed.Error)
		}
		out := &qav1.WatchFeedbackResponse{}
		return out, protojson.Unmarshal(framed.Result, out)
	}, nil
}

// watchClient holds one connection per open stream.
var watchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}

func printHTTP(p func(string, ...any), r *httpCallResult) {
	p("== 4. HTTP API (JSON), each call timed to the last response byte, on loopback")
	p("ListQueue, page of %d   HTTP %s", r.ListQueueItems, r.ListQueueHTTP)
	p("                        gRPC %s", r.ListQueueGRPC)
	p("GetFeedback             HTTP %s", r.GetFeedbackHTTP)
	p("                        gRPC %s", r.GetFeedbackGRPC)
	p("GetTeamReport as admin  HTTP %s (%d KiB of JSON)", r.TeamReportHTTP, r.TeamReportBytes/1024)
	p("GetTeamReport as admin, page of 100 by mean  HTTP %s", r.TeamReportPage)
	p("GetTeamReport as sup    HTTP %s", r.TeamReportSup)
}
