package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestAuthFailuresCounted refuses a call for each reason and checks the
// code the caller gets and qa_auth_failures_total{reason}.
func TestAuthFailuresCounted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.TokenCacheTTL = 0
	env := startEnv(t, cfg)
	c := qav1.NewIngestServiceClient(env.conn)

	plain, tok, err := NewToken(store.RoleAdmin, "lead", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.store.CreateToken(t.Context(), tok, "qad"); err != nil {
		t.Fatal(err)
	}
	revoked, revokedTok, err := NewToken(store.RoleAdmin, "gone", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := env.store.CreateToken(t.Context(), revokedTok, "qad"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.RevokeToken(t.Context(), revokedTok.ID, time.Now(), "qad"); err != nil {
		t.Fatal(err)
	}
	bearer := func(v string) context.Context {
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", v)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(plain, tokenPrefix), "_")
	cases := []struct {
		reason string
		ctx    context.Context
		want   codes.Code
	}{
		{"missing", t.Context(), codes.Unauthenticated},
		{"missing", bearer("Basic abc"), codes.Unauthenticated},
		{"malformed", bearer("Bearer hello"), codes.Unauthenticated},
		{"unknown", bearer("Bearer qa_aaaaaaaa_secret"), codes.Unauthenticated},
		{"wrong_secret", bearer("Bearer " + tokenPrefix + id + "_AAAA"), codes.Unauthenticated},
		{"revoked", bearer("Bearer " + revoked), codes.Unauthenticated},
		{"permission_denied", env.as(store.RoleSupervisor, "sup"), codes.PermissionDenied},
	}
	for _, tc := range cases {
		_, err := c.GetTranscript(tc.ctx, &qav1.GetTranscriptRequest{ExternalId: "x"})
		if status.Code(err) != tc.want {
			t.Errorf("%s: got %v, want %v", tc.reason, err, tc.want)
		}
	}
	for reason, want := range map[string]float64{"missing": 2, "malformed": 1, "unknown": 1, "wrong_secret": 1, "revoked": 1, "permission_denied": 1, "unavailable": 0} {
		if got := testutil.ToFloat64(env.srv.gate.failures.WithLabelValues(reason)); got != want {
			t.Errorf("qa_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	// The admitted token still works, and its stream is admitted too.
	if _, err := c.GetTranscript(bearer("Bearer "+plain), &qav1.GetTranscriptRequest{ExternalId: "x"}); status.Code(err) != codes.NotFound {
		t.Errorf("admin GetTranscript: got %v, want NotFound", err)
	}
}
