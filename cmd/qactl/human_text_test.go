package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// fakeSampling answers the inspector and policy calls with fixed values.
type fakeSampling struct {
	qav1.UnimplementedSamplingServiceServer
	policy *qav1.Policy
	// policyErr, if set, is what GetPolicy fails with.
	policyErr error
}

func (f *fakeSampling) GetPolicy(context.Context, *qav1.GetPolicyRequest) (*qav1.GetPolicyResponse, error) {
	if f.policyErr != nil {
		return nil, f.policyErr
	}
	return &qav1.GetPolicyResponse{Policy: f.policy}, nil
}

func (f *fakeSampling) ListInspectors(context.Context, *qav1.ListInspectorsRequest) (*qav1.ListInspectorsResponse, error) {
	active, inactive := true, false
	return &qav1.ListInspectorsResponse{Inspectors: []*qav1.Inspector{
		{Id: "insp-1", Name: "Ann", Active: &active},
		{Id: "insp-2", Name: "Bo", Active: &inactive},
	}}, nil
}

func (f *fakeSampling) UpsertInspector(_ context.Context, req *qav1.UpsertInspectorRequest) (*qav1.UpsertInspectorResponse, error) {
	return &qav1.UpsertInspectorResponse{
		Inspector:     req.GetInspector(),
		ReturnedItems: []*qav1.Pick{{Id: 7, ExternalId: "c-7", AgentId: "a1", Reason: "random", Status: "pending"}},
	}, nil
}

func (f *fakeQA) ReleaseItem(_ context.Context, req *qav1.ReleaseItemRequest) (*qav1.ReleaseItemResponse, error) {
	return &qav1.ReleaseItemResponse{Item: &qav1.Pick{Id: req.GetId(), ExternalId: "c-9", AgentId: "a2", Reason: "complaint", Status: "pending"}}, nil
}

func startFakeSampling(t testing.TB, f *fakeSampling) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	qav1.RegisterSamplingServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// The inspector, policy and review release commands printed raw protojson
// in text mode; they now print lines and tables, and --json stays JSON.
func TestTextOutputIsNotProtoJSON(t *testing.T) {
	created := timestamppb.New(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))
	sampling := startFakeSampling(t, &fakeSampling{policy: &qav1.Policy{
		Version: 3, RandomPerAgent: 2, TargetedPerAgent: 1, NewHireDays: 90, NewHireExtra: 2,
		Rules: []string{"complaint", "vip", "gold_refund"}, TimeZone: "Asia/Shanghai", HandleTimePercentile: 0.9,
		CreatedBy: "admin", CreatedAt: created,
		ComplaintTags: []string{"complaint", "投诉"}, EscalationTags: []string{"升级"}, EscalationMinTransfers: proto.Int32(0),
		VipTiers: []string{"gold", "platinum"}, LowCsatMax: proto.Int32(2),
		NamedRules: []*qav1.NamedRule{{Name: "gold_refund", When: []*qav1.Condition{
			{Field: "tags", Op: "has", Value: "退款"},
			{Field: "attribute", Key: "shop", Op: "in", Values: []string{"旗舰店", "outlet east"}},
		}}},
	}})
	qa := startFakeQA(t, &fakeQA{})

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"inspector list", []string{"--addr", sampling, "inspector", "list"}, []string{
			"ID      NAME  ACTIVE", "insp-1  Ann   yes", "insp-2  Bo    no"}},
		{"inspector add", []string{"--addr", sampling, "inspector", "add", "insp-2", "--name", "Bo", "--inactive"}, []string{
			"inspector insp-2 (Bo): inactive", "1 open items returned to the pool:", "c-7"}},
		{"policy get", []string{"--addr", sampling, "policy", "get"}, []string{
			"version:                   3", "rules:                     complaint, vip, gold_refund",
			"time_zone:                 Asia/Shanghai", "handle_time_percentile:    0.9",
			"complaint_tags:            complaint, 投诉", "escalation_tags:           升级", "escalation_min_transfers:  0",
			"vip_tiers:                 gold, platinum", "low_csat_max:              2",
			`named_rules[0]:            gold_refund: tags has 退款 and attribute[shop] in [旗舰店, "outlet east"]`,
			"created_at:                2026-11-20T16:00:00+08:00"}},
		{"review release", []string{"--addr", qa, "review", "release", "9"}, []string{
			"released 9 (c-9, agent a2, complaint); status pending"}},
	} {
		res := runQactl(t, "", tc.args...)
		if res.code != exitOK {
			t.Fatalf("%s: exit %d, stderr:\n%s", tc.name, res.code, res.stderr)
		}
		if strings.Contains(res.stdout, "{") {
			t.Errorf("%s printed JSON in text mode:\n%s", tc.name, res.stdout)
		}
		for _, want := range tc.want {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, want, res.stdout)
			}
		}
		res = runQactl(t, "", append([]string{"--json"}, tc.args...)...)
		if res.code != exitOK || !strings.HasPrefix(res.stdout, "{") {
			t.Errorf("%s --json: exit %d, output %q", tc.name, res.code, res.stdout)
		}
	}
}

// withViolations is a status as the server builds it: the message
// summarises the violations the BadRequest detail lists.
func withViolations(t *testing.T, violations ...*errdetails.BadRequest_FieldViolation) error {
	t.Helper()
	var msg []string
	for _, v := range violations {
		msg = append(msg, v.GetField()+": "+v.GetDescription())
	}
	st, err := status.New(codes.InvalidArgument, strings.Join(msg, "; ")).WithDetails(&errdetails.BadRequest{FieldViolations: violations})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

// A server error was printed twice: the message, then the violations it
// summarises. Each violation now appears once.
func TestServerErrorIsPrintedOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"one violation", withViolations(t, &errdetails.BadRequest_FieldViolation{Field: "version", Description: "no such version"}),
			"qactl: INVALID_ARGUMENT: version: no such version\n"},
		{"two violations", withViolations(t,
			&errdetails.BadRequest_FieldViolation{Field: "policy.rules[0]", Description: "unknown rule"},
			&errdetails.BadRequest_FieldViolation{Field: "policy.time_zone", Description: "unknown zone"}),
			"qactl: INVALID_ARGUMENT: 2 problems:\n  policy.rules[0]: unknown rule\n  policy.time_zone: unknown zone\n"},
		{"no violations", status.Error(codes.PermissionDenied, "admins only"), "qactl: PERMISSION_DENIED: admins only\n"},
	} {
		addr := startFakeSampling(t, &fakeSampling{policyErr: tc.err})
		res := runQactl(t, "", "--addr", addr, "policy", "get")
		if res.code == exitOK {
			t.Errorf("%s: exit 0", tc.name)
		}
		if res.stderr != tc.want {
			t.Errorf("%s: stderr\n%s\nwant\n%s", tc.name, res.stderr, tc.want)
		}
	}
}
