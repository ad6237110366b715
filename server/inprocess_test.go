package server

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestInProcessServesWhatThePublicServerServes: every service registered
// on the public server is on the in-process one too (the request guard
// registers on both), so the HTTP API lacks none; and a call through it
// passes the same gate.
func TestInProcessServesWhatThePublicServerServes(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	public := slices.Sorted(maps.Keys(env.srv.grpc.GetServiceInfo()))
	inProcess := slices.Sorted(maps.Keys(env.srv.inproc.grpc.GetServiceInfo()))
	if !slices.Equal(public, inProcess) {
		t.Fatalf("in-process services %v, public %v", inProcess, public)
	}
	if !slices.Contains(public, qav1.ReviewService_ServiceDesc.ServiceName) {
		t.Fatalf("public services %v", public)
	}

	conn := env.srv.InProcess()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	info := qav1.NewInfoServiceClient(conn)
	_, err := info.GetServerInfo(ctx, &qav1.GetServerInfoRequest{})
	wantCode(t, err, codes.Unauthenticated)
	admin := env.as(store.RoleAdmin, "lead")
	md, _ := metadata.FromOutgoingContext(admin)
	if _, err := info.GetServerInfo(metadata.NewOutgoingContext(ctx, md), &qav1.GetServerInfoRequest{}); err != nil {
		t.Fatal(err)
	}
	ingest := env.as(store.RoleIngest, "platform")
	md, _ = metadata.FromOutgoingContext(ingest)
	_, err = qav1.NewSamplingServiceClient(conn).GetPolicy(metadata.NewOutgoingContext(ctx, md), &qav1.GetPolicyRequest{})
	wantCode(t, err, codes.PermissionDenied)
}
