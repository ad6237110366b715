package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestAuthorization checks every role against every IngestService method,
// and missing, malformed and revoked tokens.
func TestAuthorization(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn, "--token-cache-ttl", "0s")
	tokens := map[string]string{
		"admin":      srv.token("admin", "lead"),
		"ingest":     srv.token("ingest", "platform"),
		"inspector":  srv.token("inspector", "insp-1"),
		"supervisor": srv.token("supervisor", "sup-1"),
	}
	c := srv.client("")
	upsertAgents(t, withToken(context.Background(), tokens["admin"]), c, "a1")

	calls := map[string]func(ctx context.Context) error{
		"UpsertAgents": func(ctx context.Context) error {
			_, err := c.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor("a1")})
			return err
		},
		"PushTranscript": func(ctx context.Context) error {
			_, err := c.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: chat("auth-1", "a1", 1)})
			return err
		},
		"PushTranscripts": func(ctx context.Context) error {
			s, err := c.PushTranscripts(ctx)
			if err != nil {
				return err
			}
			_ = s.CloseSend()
			_, err = s.Recv()
			if err != nil && strings.Contains(err.Error(), "EOF") {
				return nil
			}
			return err
		},
		"GetTranscript": func(ctx context.Context) error {
			_, err := c.GetTranscript(ctx, &qav1.GetTranscriptRequest{ExternalId: "auth-1"})
			return err
		},
	}
	allowed := map[string][]string{
		"UpsertAgents":    {"admin", "ingest"},
		"PushTranscript":  {"admin", "ingest"},
		"PushTranscripts": {"admin", "ingest"},
		"GetTranscript":   {"admin"},
	}
	for _, method := range []string{"UpsertAgents", "PushTranscript", "PushTranscripts", "GetTranscript"} {
		for _, role := range []string{"admin", "ingest", "inspector", "supervisor"} {
			want := codes.PermissionDenied
			for _, r := range allowed[method] {
				if r == role {
					want = codes.OK
				}
			}
			err := calls[method](withToken(context.Background(), tokens[role]))
			if status.Code(err) != want {
				t.Errorf("%s as %s: got %v, want %v", method, role, err, want)
			}
		}
		for name, tok := range map[string]string{"no token": "", "garbage": "hello", "wrong secret": tokens["admin"][:len(tokens["admin"])-4] + "AAAA"} {
			if err := calls[method](withToken(context.Background(), tok)); status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s with %s: got %v, want Unauthenticated", method, name, err)
			}
		}
	}

	// Revocation: the token stops working (the server runs with no token cache).
	id := strings.SplitN(strings.TrimPrefix(tokens["ingest"], "qa_"), "_", 2)[0]
	if out, err := exec.Command(bin("qad"), "token", "revoke", "--db", srv.dsn, id).CombinedOutput(); err != nil {
		t.Fatalf("qad token revoke: %v %s", err, out)
	}
	if err := calls["UpsertAgents"](withToken(context.Background(), tokens["ingest"])); status.Code(err) != codes.Unauthenticated {
		t.Errorf("revoked token: got %v, want Unauthenticated", err)
	}
	list, err := exec.Command(bin("qad"), "token", "list", "--db", srv.dsn).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(list), id) || strings.Contains(string(list), tokens["ingest"]) {
		t.Errorf("token list should show ids and never secrets:\n%s", list)
	}
}

// TestHealthAndReflectionNeedNoToken: load balancers and grpcurl work
// without credentials.
func TestHealthAndReflectionNeedNoToken(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn)
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "qa.v1.IngestService"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h.GetStatus(), err)
	}
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, ","), "qa.v1.IngestService") {
		t.Fatalf("reflection lists %v, want qa.v1.IngestService among them", names)
	}
}
