package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// fakeAudit serves events two a page and records each request.
type fakeAudit struct {
	qav1.UnimplementedAuditServiceServer
	events []*qav1.AuditEvent

	mu       sync.Mutex
	requests []*qav1.ListAuditEventsRequest
}

func (f *fakeAudit) ListAuditEvents(_ context.Context, req *qav1.ListAuditEventsRequest) (*qav1.ListAuditEventsResponse, error) {
	f.mu.Lock()
	f.requests = append(f.requests, proto.CloneOf(req))
	f.mu.Unlock()
	from := 0
	if req.GetPageToken() != "" {
		from, _ = strconv.Atoi(req.GetPageToken())
	}
	to := min(from+2, len(f.events))
	out := &qav1.ListAuditEventsResponse{Events: f.events[from:to]}
	if to < len(f.events) {
		out.NextPageToken = strconv.Itoa(to)
	}
	return out, nil
}

// startFakeAudit serves f, and info beside it unless nil.
func startFakeAudit(t *testing.T, f *fakeAudit, info *fakeInfo) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	qav1.RegisterAuditServiceServer(srv, f)
	if info != nil {
		qav1.RegisterInfoServiceServer(srv, info)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func auditEventsForTest() []*qav1.AuditEvent {
	at := timestamppb.New(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	return []*qav1.AuditEvent{
		{Id: 1, At: at, Actor: "default", Action: "policy.create", Entity: "policy", EntityId: "1",
			Detail: `{"version":1,"policy":{"random_per_agent":2,"time_zone":"Asia/Shanghai"}}`},
		{Id: 2, At: at, Actor: "admin", Action: "policy.create", Entity: "policy", EntityId: "2",
			Detail: `{"version":2,"policy":{"random_per_agent":3,"time_zone":"Asia/Shanghai"}}`},
		{Id: 5, At: at, Actor: "qa-1", Action: "review.update", Entity: "review", EntityId: "7",
			Detail: `{"item_id":9,"ratings":"attitude,4,5,;accuracy,1,3,fc","flags":["rude"]}`},
		{Id: 6, At: at, Actor: "qad:root", Action: "token.create", Entity: "token", EntityId: "k3",
			Detail: `{"token_id":"k3","role":"admin","subject":"Wang Wei"}`},
		{Id: 8, At: at, Actor: "admin", Action: "rubric.activate", Entity: "rubric", EntityId: "2", Detail: `{}`},
	}
}

// audit list passes every filter, follows every page with --all, prints
// a table with a compact detail, and --json one object per event.
func TestAuditList(t *testing.T) {
	fake := &fakeAudit{events: auditEventsForTest()}
	addr := startFakeAudit(t, fake, nil)
	args := []string{"--addr", addr, "audit", "list", "--entity", "policy", "--entity-id", "2", "--actor", "admin",
		"--action", "policy.create", "--since", "2026-11-23T00:00:00+08:00", "--until", "2026-11-24T00:00:00Z", "--all"}
	res := runQactl(t, "", args...)
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
	if len(fake.requests) != 3 {
		t.Fatalf("%d requests, want the 3 pages", len(fake.requests))
	}
	want := &qav1.ListAuditEventsRequest{Entity: "policy", EntityId: "2", Actor: "admin", Action: "policy.create",
		Since: timestamppb.New(time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)), Until: timestamppb.New(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))}
	for i, got := range fake.requests {
		want.PageToken = map[int]string{0: "", 1: "2", 2: "4"}[i]
		if !proto.Equal(got, want) {
			t.Errorf("request %d = %v, want %v", i, got, want)
		}
	}
	when := formatTimestamp(timestamppb.New(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)), time.Local)
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "ID  AT") {
		t.Fatalf("table:\n%s", res.stdout)
	}
	for i, want := range []string{
		`policy.create    policy/1  version=1 policy={"random_per_agent":2,"time_zone":"Asia/Shanghai"}`,
		`policy.create    policy/2  version=2 policy={"random_per_agent":3,"time_zone":"Asia/Shanghai"}`,
		`review.update    review/7  item_id=9 ratings=attitude,4,5,;accuracy,1,3,fc flags=["rude"]`,
		`token.create     token/k3  token_id=k3 role=admin subject="Wang Wei"`,
		`rubric.activate  rubric/2  -`,
	} {
		if line := lines[i+1]; !strings.Contains(line, when) || !strings.HasSuffix(line, want) {
			t.Errorf("line %d = %q, want the time %s and to end %q", i+1, line, when, want)
		}
	}

	// One page without --all, with the token for the next.
	fake.requests = nil
	res = runQactl(t, "", "--addr", addr, "audit", "list")
	if res.code != exitOK || len(fake.requests) != 1 || strings.Count(res.stdout, "\n") != 3 ||
		!strings.Contains(res.stderr, "more events: --page-token 2, or --all") {
		t.Errorf("one page: exit %d, %d requests, stdout:\n%s\nstderr:\n%s", res.code, len(fake.requests), res.stdout, res.stderr)
	}

	// --json: each event whole, one object a line, the detail as stored.
	res = runQactl(t, "", "--addr", addr, "--json", "audit", "list", "--all")
	lines = strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if res.code != exitOK || len(lines) != len(fake.events) {
		t.Fatalf("--json: exit %d, stdout:\n%s", res.code, res.stdout)
	}
	for i, line := range lines {
		var ev struct {
			ID     string `json:"id"`
			Action string `json:"action"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.ID != fmt.Sprint(fake.events[i].GetId()) ||
			ev.Action != fake.events[i].GetAction() || ev.Detail != fake.events[i].GetDetail() {
			t.Errorf("--json line %d = %s (%v)", i, line, err)
		}
	}
}

func TestAuditListRefusesABadTime(t *testing.T) {
	fake := &fakeAudit{}
	addr := startFakeAudit(t, fake, nil)
	for _, flag := range []string{"--since", "--until"} {
		res := runQactl(t, "", "--addr", addr, "audit", "list", flag, "last tuesday")
		if res.code != exitUsage || !strings.HasPrefix(res.stderr, "qactl: "+flag+`: "last tuesday" is neither RFC 3339`) {
			t.Errorf("%s: exit %d, stderr %q", flag, res.code, res.stderr)
		}
	}
	if len(fake.requests) != 0 {
		t.Errorf("%d requests after usage errors, want none", len(fake.requests))
	}
	// A date is its midnight in the programme's zone; the local one
	// when the server cannot say (this fake has no InfoService).
	if res := runQactl(t, "", "--addr", addr, "audit", "list", "--since", "2026-11-23"); res.code != exitOK || len(fake.requests) != 1 ||
		!fake.requests[0].GetSince().AsTime().Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.Local)) {
		t.Errorf("--since 2026-11-23: exit %d, requests %v, stderr %s", res.code, fake.requests, res.stderr)
	}
}

func TestCompactDetail(t *testing.T) {
	for _, tc := range []struct {
		detail string
		width  int
		want   string
	}{
		{`{"a":1,"b":"x y","c":"plain","d":[1, 2],"e":{"f": null},"g":""}`, 100, `a=1 b="x y" c=plain d=[1,2] e={"f":null} g=""`},
		{`{"note":"line one\nline two"}`, 100, `note="line one\nline two"`},
		{`{"comment":"多行\n文本","k":"v"}`, 100, `comment="多行\n文本" k=v`},
		{`{}`, 100, `-`},
		{`[1, 2]`, 100, `[1,2]`},
		{`not json`, 100, `not json`},
		{"not\njson", 100, "not ⏎ json"},
		{`{"a":"0123456789"}`, 8, `a=01234…`},
		{`{"质检":"一二三四五六"}`, 6, `质检=一二…`},
	} {
		if got := compactDetail(tc.detail, tc.width); got != tc.want {
			t.Errorf("compactDetail(%q, %d) = %q, want %q", tc.detail, tc.width, got, tc.want)
		}
	}
}

// With the programme's zone known, a date is its midnight there, also
// with --json (which asks for the zone only then), and the table shows
// times in it.
func TestAuditListDatesInTheProgrammesZone(t *testing.T) {
	fake := &fakeAudit{events: auditEventsForTest()[:1]}
	info := &fakeInfo{zone: "Asia/Shanghai"}
	addr := startFakeAudit(t, fake, info)
	res := runQactl(t, "", "--addr", addr, "--json", "audit", "list", "--since", "2026-11-23", "--until", "2026-11-24T00:00:00Z")
	wantSince := time.Date(2026, 11, 22, 16, 0, 0, 0, time.UTC)
	if res.code != exitOK || len(fake.requests) != 1 || !fake.requests[0].GetSince().AsTime().Equal(wantSince) ||
		!fake.requests[0].GetUntil().AsTime().Equal(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)) || info.calls.Load() != 1 {
		t.Errorf("exit %d, requests %v, %d zone calls; want since %s", res.code, fake.requests, info.calls.Load(), wantSince)
	}
	res = runQactl(t, "", "--addr", addr, "--json", "audit", "list", "--since", "2026-11-23T00:00:00Z")
	if res.code != exitOK || info.calls.Load() != 1 {
		t.Errorf("--json without a date: exit %d, %d zone calls, want still 1", res.code, info.calls.Load())
	}
	res = runQactl(t, "", "--addr", addr, "audit", "list")
	if res.code != exitOK || !strings.Contains(res.stdout, "2026-11-23T09:00:00+08:00  default") {
		t.Errorf("table: exit %d, stdout:\n%s", res.code, res.stdout)
	}
}
