package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
)

// fakeIngest is a stand-in IngestService that records what it receives and
// answers each item by the prefix of its id: "bad" rejected, "upd" updated,
// "same" unchanged, "kept" kept (already sampled), anything else accepted.
type fakeIngest struct {
	qav1.UnimplementedIngestServiceServer

	// wantToken, when set, is the only bearer token let in.
	wantToken string
	// failAfter, when positive, aborts the stream with failStatus once that
	// many transcripts arrived, answering none of the last request.
	failAfter  int
	failStatus *status.Status
	// holdAnswers answers requests two at a time in reverse item order, to
	// check that the client maps answers by index, not by arrival.
	holdAnswers bool
	// skipLastAnswer ends the stream normally but leaves the last item
	// unanswered.
	skipLastAnswer bool
	// stored answers GetTranscript.
	stored map[string]*qav1.Transcript

	mu            sync.Mutex
	authorization []string // the authorization metadata of each call
	transcripts   []*qav1.Transcript
	requests      int
	agentCalls    [][]*qav1.Agent
}

func statusForID(id string) (qav1.ItemStatus, string, string) {
	switch {
	case strings.HasPrefix(id, "bad"):
		return qav1.ItemStatus_ITEM_STATUS_REJECTED, "messages[0].text", "longer than 10000 bytes"
	case strings.HasPrefix(id, "upd"):
		return qav1.ItemStatus_ITEM_STATUS_UPDATED, "", ""
	case strings.HasPrefix(id, "same"):
		return qav1.ItemStatus_ITEM_STATUS_UNCHANGED, "", ""
	case strings.HasPrefix(id, "kept"):
		return qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED, "", ""
	}
	return qav1.ItemStatus_ITEM_STATUS_ACCEPTED, "", ""
}

func (f *fakeIngest) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	got := strings.Join(md.Get("authorization"), ",")
	f.mu.Lock()
	f.authorization = append(f.authorization, got)
	f.mu.Unlock()
	if f.wantToken != "" && got != "Bearer "+f.wantToken {
		return status.Error(codes.Unauthenticated, "missing or unknown token")
	}
	return nil
}

func (f *fakeIngest) PushTranscripts(stream grpc.BidiStreamingServer[qav1.PushTranscriptsRequest, qav1.PushTranscriptsResponse]) error {
	if err := f.authorize(stream.Context()); err != nil {
		return err
	}
	var index int64
	var held []*qav1.ItemResult
	answer := func(results []*qav1.ItemResult) error {
		if len(results) == 0 {
			return nil
		}
		return stream.Send(&qav1.PushTranscriptsResponse{Results: results})
	}
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if f.skipLastAnswer && len(held) > 0 {
				held = held[:len(held)-1]
			}
			return answer(held)
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		f.requests++
		f.transcripts = append(f.transcripts, req.GetTranscripts()...)
		received := len(f.transcripts)
		f.mu.Unlock()
		if f.failAfter > 0 && received >= f.failAfter {
			return f.failStatus.Err()
		}
		var results []*qav1.ItemResult
		for _, t := range req.GetTranscripts() {
			st, field, reason := statusForID(t.GetExternalId())
			results = append(results, &qav1.ItemResult{Index: index, Id: t.GetExternalId(), Status: st, Field: field, Reason: reason})
			index++
		}
		switch {
		case f.skipLastAnswer:
			if err := answer(held); err != nil {
				return err
			}
			held = results
		case f.holdAnswers && held == nil:
			held = results
		case f.holdAnswers:
			all := append(held, results...)
			for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
				all[i], all[j] = all[j], all[i]
			}
			held = nil
			if err := answer(all); err != nil {
				return err
			}
		default:
			if err := answer(results); err != nil {
				return err
			}
		}
	}
}

func (f *fakeIngest) UpsertAgents(ctx context.Context, req *qav1.UpsertAgentsRequest) (*qav1.UpsertAgentsResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.agentCalls = append(f.agentCalls, req.GetAgents())
	f.mu.Unlock()
	resp := &qav1.UpsertAgentsResponse{}
	for i, a := range req.GetAgents() {
		st, _, _ := statusForID(a.GetAgentId())
		r := &qav1.ItemResult{Index: int64(i), Id: a.GetAgentId(), Status: st}
		if st == qav1.ItemStatus_ITEM_STATUS_REJECTED {
			r.Field, r.Reason = "supervisor_id", "unknown supervisor"
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

func (f *fakeIngest) GetTranscript(ctx context.Context, req *qav1.GetTranscriptRequest) (*qav1.GetTranscriptResponse, error) {
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	if req.GetExternalId() == "" {
		st, _ := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "external_id", Description: "must not be empty"}},
		})
		return nil, st.Err()
	}
	t, ok := f.stored[req.GetExternalId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "transcript %q not found", req.GetExternalId())
	}
	return &qav1.GetTranscriptResponse{Transcript: t}, nil
}

func (f *fakeIngest) receivedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]string, len(f.transcripts))
	for i, t := range f.transcripts {
		ids[i] = t.GetExternalId()
	}
	return ids
}

// startFake serves f on a loopback port for the length of the test.
func startFake(t testing.TB, f *fakeIngest, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	qav1.RegisterIngestServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// result is what one run of qactl did.
type result struct {
	code           int
	stdout, stderr string
}

func runQactl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// transcriptJSON is a valid transcript line with the given id.
func transcriptJSON(id string) string {
	return fmt.Sprintf(`{"external_id":%q,"agent_id":"a1","channel":"chat","started_at":"2026-10-05T10:00:00Z","ended_at":"2026-10-05T10:05:00Z",`+
		`"messages":[{"role":"customer","text":"hi","sent_at":"2026-10-05T10:00:01Z"},{"role":"agent","text":"hello","sent_at":"2026-10-05T10:00:09Z"}]}`, id)
}
