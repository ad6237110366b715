package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

func feedbackRecord(id int64) *qav1.FeedbackRecord {
	return &qav1.FeedbackRecord{
		Id: id, AgentId: fmt.Sprintf("a%d", id%3), SupervisorId: "sup-1", TeamId: "t1", Week: "2026-W47",
		Score: 87.5, ScoreText: "87.50", Grade: "good",
		Review:    &qav1.Review{Id: 100 + id, Status: "final", Score: 87.5, ScoreText: "87.50", Grade: "good"},
		CreatedAt: timestamppb.New(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)),
	}
}

func TestFeedbackListJSONFollowsEveryPage(t *testing.T) {
	fake := &fakeQA{}
	for id := int64(1); id <= 5; id++ {
		r := feedbackRecord(id)
		if id == 2 {
			r.AcknowledgedAt, r.AcknowledgedBy = timestamppb.Now(), "sup-1"
		}
		fake.records = append(fake.records, r)
	}
	addr := startFakeQA(t, fake)

	res := runQactl(t, "", "--addr", addr, "--json", "feedback", "list", "--unacked", "--limit", "2", "--all", "--week", "2026-W47")
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	var ids []string
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		for _, field := range []string{"id", "agent_id", "score", "grade", "acknowledged_at", "coaching_note"} {
			if _, ok := rec[field]; !ok {
				t.Errorf("record %s lacks %q", line, field)
			}
		}
		if rec["acknowledged_at"] != nil {
			t.Errorf("acknowledged_at = %v, want null", rec["acknowledged_at"])
		}
		ids = append(ids, fmt.Sprint(rec["id"]))
	}
	if got := strings.Join(ids, ","); got != "1,3,4,5" {
		t.Errorf("ids %s, want 1,3,4,5 (2 is acknowledged)", got)
	}
	var tokens []string
	for _, req := range fake.listRequests {
		if !req.GetUnacknowledged() || req.GetPageSize() != 2 || req.GetWeek() != "2026-W47" {
			t.Errorf("request %v lost a filter", req)
		}
		tokens = append(tokens, req.GetPageToken())
	}
	if fmt.Sprintf("%q", tokens) != `["" "3"]` {
		t.Errorf("page_token of each page %q, want \"\" and \"3\"", tokens)
	}

	// One page for a person, and where the next one starts.
	res = runQactl(t, "", "--addr", addr, "feedback", "list", "--limit", "2", "--page-token", "1")
	want := "ID  WEEK      AGENT  SCORE  GRADE  COACHING  ACKED\n" +
		"2   2026-W47  a2     87.50  good   -         " + shortTime(fake.records[1].GetAcknowledgedAt(), time.Local) + "\n" +
		"3   2026-W47  a0     87.50  good   -         no\n"
	if res.code != exitOK || res.stdout != want || res.stderr != "more records: --page-token 3, or --all\n" {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr %q", res.code, res.stdout, want, res.stderr)
	}
}

// sendRecords streams records with the given ids.
func sendRecords(stream grpc.ServerStreamingServer[qav1.WatchFeedbackResponse], ids ...int64) error {
	for _, id := range ids {
		if err := stream.Send(&qav1.WatchFeedbackResponse{Record: feedbackRecord(id)}); err != nil {
			return err
		}
	}
	return nil
}

type watchStream = grpc.ServerStreamingServer[qav1.WatchFeedbackResponse]

// runWatch runs qactl args in the background until its stdout holds lines
// lines (10 s at most), then ends it as Ctrl-C does and returns what it did.
func runWatch(t *testing.T, lines int, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, args, strings.NewReader(""), &out, &errOut) }()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < lines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop when its context ended")
	}
	return code, out.String(), errOut.String()
}

func TestFeedbackWatchJSONResumesAfterRestarts(t *testing.T) {
	fake := &fakeQA{watch: []watchSession{
		// Connected from now; the server goes down before anything new.
		func(_ *qav1.WatchFeedbackRequest, s watchStream) error {
			_ = s.SendHeader(nil)
			return status.Error(codes.Unavailable, "server shutting down; reconnect with after_id=7")
		},
		func(_ *qav1.WatchFeedbackRequest, s watchStream) error {
			_ = s.SendHeader(nil)
			if err := sendRecords(s, 8, 9); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "server shutting down; reconnect with after_id=9")
		},
		// Still down.
		func(*qav1.WatchFeedbackRequest, watchStream) error {
			return status.Error(codes.Unavailable, "storage is not ready")
		},
		// Back; the next record takes longer than --timeout.
		func(_ *qav1.WatchFeedbackRequest, s watchStream) error {
			_ = s.SendHeader(nil)
			time.Sleep(150 * time.Millisecond)
			if err := sendRecords(s, 10); err != nil {
				return err
			}
			<-s.Context().Done()
			return s.Context().Err()
		},
	}}
	addr := startFakeQA(t, fake)
	code, stdout, stderr := runWatch(t, 3, "--addr", addr, "--timeout", "50ms", "--json", "feedback", "watch", "--agent", "a1")
	if code != exitOK {
		t.Errorf("exit %d after cancel, want 0; stderr:\n%s", code, stderr)
	}

	var ids []string
	for line := range strings.Lines(stdout) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if _, ok := rec["acknowledged_at"]; !ok {
			t.Errorf("record lacks acknowledged_at: %s", line)
		}
		ids = append(ids, fmt.Sprint(rec["id"]))
	}
	if got := strings.Join(ids, ","); got != "8,9,10" {
		t.Errorf("printed ids %s, want 8,9,10", got)
	}
	var reqs []string
	for _, r := range fake.watchRequests() {
		if r.GetAgentId() != "a1" {
			t.Errorf("request %v lost --agent", r)
		}
		reqs = append(reqs, fmt.Sprintf("after=%d now=%t", r.GetAfterId(), r.GetFromNow()))
	}
	if got, want := strings.Join(reqs, "; "), "after=0 now=true; after=7 now=false; after=9 now=false; after=9 now=false"; got != want {
		t.Errorf("requests %s\nwant %s", got, want)
	}
	wantNotes := []string{
		"qactl: feedback stream interrupted (UNAVAILABLE: server shutting down; reconnect with after_id=7); reconnecting in 200ms, after id 7\n",
		"qactl: feedback stream interrupted (UNAVAILABLE: server shutting down; reconnect with after_id=9); reconnecting in 200ms, after id 9\n",
		"qactl: feedback stream interrupted (UNAVAILABLE: storage is not ready); reconnecting in 400ms, after id 9\n",
	}
	if got := stderr; got != strings.Join(wantNotes, "") {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, strings.Join(wantNotes, ""))
	}
}

// TestFeedbackWatchResumesFromTheHeaderCursor: a stream from now that
// drops without a resume hint (the connection reset) reconnects after the
// id the server started at, not from a later now that would skip records.
func TestFeedbackWatchResumesFromTheHeaderCursor(t *testing.T) {
	fake := &fakeQA{watch: []watchSession{
		func(_ *qav1.WatchFeedbackRequest, s watchStream) error {
			_ = s.SendHeader(metadata.Pairs("x-feedback-after-id", "12"))
			return status.Error(codes.Unavailable, "connection reset")
		},
		func(_ *qav1.WatchFeedbackRequest, s watchStream) error {
			_ = s.SendHeader(metadata.Pairs("x-feedback-after-id", "12"))
			if err := sendRecords(s, 13); err != nil {
				return err
			}
			<-s.Context().Done()
			return s.Context().Err()
		},
	}}
	addr := startFakeQA(t, fake)
	code, stdout, stderr := runWatch(t, 1, "--addr", addr, "--json", "feedback", "watch")
	if code != exitOK {
		t.Errorf("exit %d after cancel, want 0; stderr:\n%s", code, stderr)
	}
	var reqs []string
	for _, r := range fake.watchRequests() {
		reqs = append(reqs, fmt.Sprintf("after=%d now=%t", r.GetAfterId(), r.GetFromNow()))
	}
	if got, want := strings.Join(reqs, "; "), "after=0 now=true; after=12 now=false"; got != want {
		t.Errorf("requests %s, want %s", got, want)
	}
	if !strings.Contains(stdout, `"id":"13"`) && !strings.Contains(stdout, `"id":13`) {
		t.Errorf("stdout %q lacks record 13", stdout)
	}
}

func TestFeedbackWatchStopsOnOtherErrors(t *testing.T) {
	fake := &fakeQA{watch: []watchSession{
		func(_ *qav1.WatchFeedbackRequest, s watchStream) error {
			if err := sendRecords(s, 4); err != nil {
				return err
			}
			return status.Error(codes.PermissionDenied, "supervisors only")
		},
	}}
	addr := startFakeQA(t, fake)

	res := runQactl(t, "", "--addr", addr, "feedback", "watch", "--after", "3")
	if res.code != exitRPC || res.stderr != "qactl: PERMISSION_DENIED: supervisors only\n" {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	if want := "feedback 4: 2026-W47 agent a1, score 87.50 good (review 104)\n"; res.stdout != want {
		t.Errorf("stdout %q, want %q", res.stdout, want)
	}
	if reqs := fake.watchRequests(); len(reqs) != 1 || reqs[0].GetAfterId() != 3 || reqs[0].GetFromNow() {
		t.Errorf("requests %v, want one after 3", reqs)
	}
}
