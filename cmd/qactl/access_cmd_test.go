package main

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// fakeAccess answers the AccessService with fixed data and records what
// it is asked.
type fakeAccess struct {
	qav1.UnimplementedAccessServiceServer

	mu       sync.Mutex
	requests []proto.Message
	bearers  []string
}

func (f *fakeAccess) record(ctx context.Context, req proto.Message) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, proto.Clone(req))
	f.bearers = append(f.bearers, strings.Join(md.Get("authorization"), ","))
}

var accessAt = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai

func (f *fakeAccess) CreateLoginLink(ctx context.Context, req *qav1.CreateLoginLinkRequest) (*qav1.CreateLoginLinkResponse, error) {
	f.record(ctx, req)
	if req.GetRole() == "ingest" {
		return nil, invalidArgumentForTest("role", `"ingest" cannot sign in to the console`)
	}
	return &qav1.CreateLoginLinkResponse{Url: "https://qa.example.com/login/CODE", Code: "CODE", ExpiresAt: timestamppb.New(accessAt.Add(24 * time.Hour))}, nil
}

func (f *fakeAccess) ListSessions(ctx context.Context, req *qav1.ListSessionsRequest) (*qav1.ListSessionsResponse, error) {
	f.record(ctx, req)
	return &qav1.ListSessionsResponse{Sessions: []*qav1.Session{
		{Id: "s2", Role: "supervisor", Subject: "sup-1", CreatedAt: timestamppb.New(accessAt), LastSeenAt: timestamppb.New(accessAt.Add(time.Hour)),
			ExpiresAt: timestamppb.New(time.Now().Add(time.Hour)), StartedBy: "link", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit"},
		{Id: "s1", Role: "inspector", Subject: "insp-1", CreatedAt: timestamppb.New(accessAt), LastSeenAt: timestamppb.New(accessAt),
			ExpiresAt: timestamppb.New(accessAt.Add(12 * time.Hour)), RevokedAt: timestamppb.New(accessAt.Add(time.Minute)), StartedBy: "token"},
	}}, nil
}

func (f *fakeAccess) RevokeSession(ctx context.Context, req *qav1.RevokeSessionRequest) (*qav1.RevokeSessionResponse, error) {
	f.record(ctx, req)
	if req.GetId() != "s2" {
		return nil, status.Error(codes.NotFound, "not found")
	}
	return &qav1.RevokeSessionResponse{Session: &qav1.Session{Id: "s2", Role: "supervisor", Subject: "sup-1", RevokedAt: timestamppb.New(accessAt)}}, nil
}

func (f *fakeAccess) ListTokens(ctx context.Context, req *qav1.ListTokensRequest) (*qav1.ListTokensResponse, error) {
	f.record(ctx, req)
	return &qav1.ListTokensResponse{Tokens: []*qav1.Token{
		{Id: "k1", Role: "admin", Subject: "lead", CreatedAt: timestamppb.New(accessAt)},
		{Id: "k2", Role: "supervisor", Subject: "sup-1", CreatedAt: timestamppb.New(accessAt), RevokedAt: timestamppb.New(accessAt.Add(time.Hour))},
	}}, nil
}

func (f *fakeAccess) RevokeToken(ctx context.Context, req *qav1.RevokeTokenRequest) (*qav1.RevokeTokenResponse, error) {
	f.record(ctx, req)
	return &qav1.RevokeTokenResponse{Token: &qav1.Token{Id: req.GetId(), Role: "supervisor", Subject: "sup-1"}, SessionsEnded: 2}, nil
}

func (f *fakeAccess) WhoAmI(ctx context.Context, req *qav1.WhoAmIRequest) (*qav1.WhoAmIResponse, error) {
	f.record(ctx, req)
	md, _ := metadata.FromIncomingContext(ctx)
	resp := &qav1.WhoAmIResponse{Role: "supervisor", Subject: "sup-1"}
	if strings.HasPrefix(strings.Join(md.Get("authorization"), ""), "Bearer qs_") {
		resp.Session = &qav1.Session{Id: "s2", CreatedAt: timestamppb.New(accessAt), ExpiresAt: timestamppb.New(accessAt.Add(12 * time.Hour))}
	}
	return resp, nil
}

func invalidArgumentForTest(field, reason string) error {
	st, _ := status.New(codes.InvalidArgument, field+": "+reason).WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: reason}}})
	return st.Err()
}

func startFakeAccess(t *testing.T, f *fakeAccess) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	qav1.RegisterAccessServiceServer(srv, f)
	qav1.RegisterInfoServiceServer(srv, &fakeInfo{zone: "Asia/Shanghai"})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestAccessCommands(t *testing.T) {
	fake := &fakeAccess{}
	addr := startFakeAccess(t, fake)
	qactl := func(args ...string) result {
		t.Helper()
		return runQactl(t, "", append([]string{"--addr", addr, "--token", "qa_k1_secret"}, args...)...)
	}

	res := qactl("access", "login-link", "--role", "inspector", "--subject", "insp-1")
	if res.code != exitOK || res.stdout != "https://qa.example.com/login/CODE\n" || !strings.Contains(res.stderr, "2026-11-24 09:00 +08:00") {
		t.Errorf("login-link: %d %q %q; want the URL alone on stdout, the expiry in the programme's zone on stderr", res.code, res.stdout, res.stderr)
	}
	if got, want := fake.requests[0], (&qav1.CreateLoginLinkRequest{Role: "inspector", Subject: "insp-1"}); !proto.Equal(got, want) {
		t.Errorf("request %v, want %v", got, want)
	}
	if fake.bearers[0] != "Bearer qa_k1_secret" {
		t.Errorf("authorization %q", fake.bearers[0])
	}
	res = qactl("--json", "access", "login-link", "--role", "admin", "--subject", "lead")
	var link map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &link); err != nil || link["code"] != "CODE" || link["expires_at"] != "2026-11-24T01:00:00Z" {
		t.Errorf("login-link --json: %q (%v)", res.stdout, err)
	}
	res = qactl("access", "login-link", "--role", "ingest", "--subject", "bridge")
	if res.code != exitRPC || !strings.Contains(res.stderr, "INVALID_ARGUMENT: role:") {
		t.Errorf("login-link for ingest: %d %q; want the field named", res.code, res.stderr)
	}

	fake.requests = nil
	res = qactl("access", "sessions", "--subject", "sup-1")
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if res.code != exitOK || len(lines) != 3 || !strings.HasPrefix(lines[0], "ID  ROLE") {
		t.Fatalf("sessions: %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(lines[1], "s2  supervisor  sup-1    live     2026-11-23 09:00 +08:00  2026-11-23 10:00 +08:00") ||
		!strings.HasSuffix(lines[1], "link   Mozilla/5.0 (iPhone; CPU iPhone OS 18_0…") {
		t.Errorf("sessions line 1 = %q", lines[1])
	}
	if !strings.Contains(lines[2], "s1  inspector   insp-1   revoked") || !strings.Contains(lines[2], "2026-11-23 09:01 +08:00  token  -") {
		t.Errorf("sessions line 2 = %q", lines[2])
	}
	if got, want := fake.requests[0], (&qav1.ListSessionsRequest{Subject: "sup-1", ActiveOnly: true}); !proto.Equal(got, want) {
		t.Errorf("request %v, want %v", got, want)
	}
	res = qactl("--json", "access", "sessions", "--all")
	if strings.Count(res.stdout, "\n") != 2 || !strings.Contains(res.stdout, `"revoked_at":"2026-11-23T01:01:00Z"`) {
		t.Errorf("sessions --json:\n%s", res.stdout)
	}
	if got := fake.requests[len(fake.requests)-1]; !proto.Equal(got, &qav1.ListSessionsRequest{}) {
		t.Errorf("--all asked %v, want every session", got)
	}

	if res = qactl("access", "revoke-session", "s2"); res.code != exitOK || res.stdout != "revoked session s2 of sup-1 (supervisor)\n" {
		t.Errorf("revoke-session: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if res = qactl("access", "revoke-session", "nope"); res.code != exitRPC || !strings.Contains(res.stderr, "NOT_FOUND") {
		t.Errorf("revoke-session unknown: %d %q", res.code, res.stderr)
	}
	if res = qactl("access", "revoke-session"); res.code != exitUsage {
		t.Errorf("revoke-session without an id: %d %q", res.code, res.stderr)
	}

	res = qactl("access", "tokens")
	want := "ID  ROLE        SUBJECT  CREATED                  REVOKED\n" +
		"k1  admin       lead     2026-11-23 09:00 +08:00  -\n" +
		"k2  supervisor  sup-1    2026-11-23 09:00 +08:00  2026-11-23 10:00 +08:00\n"
	if res.code != exitOK || res.stdout != want {
		t.Errorf("tokens:\n%s\nwant\n%s", res.stdout, want)
	}
	if res = qactl("access", "revoke-token", "k2"); res.code != exitOK || res.stdout != "revoked token k2 of sup-1 (supervisor); ended 2 console session(s)\n" {
		t.Errorf("revoke-token: %d %q %q", res.code, res.stdout, res.stderr)
	}
	if res = qactl("--json", "access", "revoke-token", "k2"); !strings.Contains(res.stdout, `"sessions_ended":2`) {
		t.Errorf("revoke-token --json: %q", res.stdout)
	}

	if res = qactl("whoami"); res.code != exitOK || res.stdout != "sup-1 (supervisor)\n" {
		t.Errorf("whoami with a token: %d %q %q", res.code, res.stdout, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "--token", "qs_s2_secret", "whoami")
	if res.stdout != "sup-1 (supervisor)\nconsole session s2, signed in 2026-11-23 09:00 +08:00, ends 2026-11-23 21:00 +08:00 if unused\n" {
		t.Errorf("whoami with a session: %q %q", res.stdout, res.stderr)
	}
}
