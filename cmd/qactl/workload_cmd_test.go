package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// fakeWorkload answers the workload calls: ListInspectors a page of one
// inspector at a time, ReassignItems with a fixed answer, ListQueue over
// queue in pages; it records the requests.
type fakeWorkload struct {
	qav1.UnimplementedSamplingServiceServer
	qav1.UnimplementedReviewServiceServer
	inspectors []*qav1.Inspector
	pool       int32
	reassigned *qav1.ReassignItemsResponse
	queue      []*qav1.Pick

	mu        sync.Mutex
	reassigns []*qav1.ReassignItemsRequest
	queueReqs []*qav1.ListQueueRequest
}

func (f *fakeWorkload) ListInspectors(_ context.Context, req *qav1.ListInspectorsRequest) (*qav1.ListInspectorsResponse, error) {
	i := 0
	if req.GetPageToken() != "" {
		i, _ = strconv.Atoi(req.GetPageToken())
	}
	resp := &qav1.ListInspectorsResponse{Inspectors: f.inspectors[i : i+1], PoolItems: f.pool}
	if i+1 < len(f.inspectors) {
		resp.NextPageToken = strconv.Itoa(i + 1)
	}
	return resp, nil
}

func (f *fakeWorkload) ReassignItems(_ context.Context, req *qav1.ReassignItemsRequest) (*qav1.ReassignItemsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reassigns = append(f.reassigns, proto.CloneOf(req))
	return f.reassigned, nil
}

// ListQueue pages queue by position: the token is the next index.
func (f *fakeWorkload) ListQueue(_ context.Context, req *qav1.ListQueueRequest) (*qav1.ListQueueResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queueReqs = append(f.queueReqs, proto.CloneOf(req))
	start, _ := strconv.Atoi(req.GetPageToken())
	size := int(req.GetPageSize())
	if size == 0 {
		size = 100
	}
	end := min(start+size, len(f.queue))
	resp := &qav1.ListQueueResponse{Items: f.queue[start:end]}
	if end < len(f.queue) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func startFakeWorkload(t *testing.T, f *fakeWorkload) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	qav1.RegisterSamplingServiceServer(srv, f)
	qav1.RegisterReviewServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

func TestInspectorListShowsOpenItems(t *testing.T) {
	active := true
	addr := startFakeWorkload(t, &fakeWorkload{pool: 4, inspectors: []*qav1.Inspector{
		{Id: "insp-1", Name: "Ann", Active: &active, OpenItems: 3618, AssignedItems: 3617, DisputedItems: 1},
		{Id: "insp-2", Name: "Bo", Active: &active},
	}})
	res := runQactl(t, "", "--addr", addr, "inspector", "list")
	want := "ID      NAME  ACTIVE  OPEN  ASSIGNED  DISPUTED\n" +
		"insp-1  Ann   yes     3618  3617      1\n" +
		"insp-2  Bo    yes     0     0         0\n" +
		"pool: 4 items no inspector holds\n"
	if res.code != exitOK || res.stdout != want {
		t.Errorf("inspector list: exit %d\n%s\nwant\n%s%s", res.code, res.stdout, want, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "--json", "inspector", "list")
	resp := &qav1.ListInspectorsResponse{}
	unmarshalLine(t, res.stdout, resp)
	if res.code != exitOK || len(resp.GetInspectors()) != 2 || resp.GetPoolItems() != 4 || resp.GetInspectors()[0].GetOpenItems() != 3618 {
		t.Errorf("inspector list --json: exit %d, %v", res.code, resp)
	}
}

func TestReviewReassign(t *testing.T) {
	f := &fakeWorkload{reassigned: &qav1.ReassignItemsResponse{
		Moved: []*qav1.Pick{{Id: 5, ExternalId: "c-5", AgentId: "b1", Reason: "random", Rank: 1, InspectorId: "insp-2", Status: "assigned"}},
		NotMoved: []*qav1.UnmovedItem{{Item: &qav1.Pick{Id: 6, AgentId: "a1", InspectorId: "insp-1", Status: "assigned"},
			Reason: `"insp-2" supervises agent "a1", whose item 6 is`}},
	}}
	addr := startFakeWorkload(t, f)

	res := runQactl(t, "", "--addr", addr, "review", "reassign", "--from", "insp-1", "--to", "insp-2", "--reason", "holiday")
	if res.code != exitOK || !strings.HasPrefix(res.stdout, "moved 1 items\nID  EXTERNAL_ID") || !strings.Contains(res.stdout, "c-5") ||
		!strings.Contains(res.stdout, "not moved: 1 items\nID  AGENT  INSPECTOR  STATUS    WHY\n"+`6   a1     insp-1     assigned  "insp-2" supervises agent "a1", whose item 6 is`) {
		t.Errorf("review reassign --from: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "--json", "review", "reassign", "7", "--pool")
	resp := &qav1.ReassignItemsResponse{}
	unmarshalLine(t, res.stdout, resp)
	if res.code != exitOK || len(resp.GetMoved()) != 1 || len(resp.GetNotMoved()) != 1 {
		t.Errorf("review reassign --json: exit %d, %v", res.code, resp)
	}
	if res := runQactl(t, "", "--addr", addr, "review", "reassign", "--from-pool", "--pool"); res.code != exitOK {
		t.Errorf("review reassign --from-pool: exit %d\n%s", res.code, res.stderr)
	}
	f.mu.Lock()
	got := f.reassigns
	f.mu.Unlock()
	want := []*qav1.ReassignItemsRequest{
		{FromInspectorId: "insp-1", ToInspectorId: "insp-2", Reason: "holiday"},
		{ItemId: 7, ToPool: true},
		{FromPool: true, ToPool: true},
	}
	if len(got) != len(want) || !proto.Equal(got[0], want[0]) || !proto.Equal(got[1], want[1]) || !proto.Equal(got[2], want[2]) {
		t.Errorf("requests %v, want %v", got, want)
	}

	for _, args := range [][]string{
		{"7", "--from", "insp-1", "--to", "insp-2"},   // both sources
		{"--to", "insp-2"},                            // no source
		{"7", "--to", "insp-2", "--pool"},             // both targets
		{"7"},                                         // no target
		{"x", "--pool"},                               // not an id
		{"7", "--from-pool", "--pool"},                // an item and the pool
		{"--from", "insp-1", "--from-pool", "--pool"}, // two sources
	} {
		res := runQactl(t, "", append([]string{"--addr", addr, "review", "reassign"}, args...)...)
		if res.code != exitUsage {
			t.Errorf("review reassign %v: exit %d, want %d (usage)\n%s", args, res.code, exitUsage, res.stderr)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reassigns) != 3 {
		t.Errorf("a bad command line reached the server: %v", f.reassigns[3:])
	}
}

func TestReviewQueuePages(t *testing.T) {
	f := &fakeWorkload{}
	for i := range 5 {
		f.queue = append(f.queue, &qav1.Pick{Id: int64(10 + i), ExternalId: "c-" + strconv.Itoa(i), AgentId: "a1", Reason: "random", InspectorId: "insp-1", Status: "assigned"})
	}
	addr := startFakeWorkload(t, f)
	res := runQactl(t, "", "--addr", addr, "review", "queue", "--week", "2026-W47", "--status", "assigned", "--limit", "2")
	if res.code != exitOK || strings.Count(res.stdout, "\n") != 3 || !strings.Contains(res.stdout, "c-1") || strings.Contains(res.stdout, "c-2") ||
		res.stderr != "more items: --page-token 2, or --all\n" {
		t.Errorf("one page: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "review", "queue", "--limit", "2", "--page-token", "2")
	if res.code != exitOK || !strings.Contains(res.stdout, "c-2") || !strings.Contains(res.stdout, "c-3") || strings.Contains(res.stdout, "c-4") {
		t.Errorf("the page at token 2: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "--json", "review", "queue", "--limit", "2", "--all")
	if res.code != exitOK || strings.Count(res.stdout, "\n") != 5 || res.stderr != "" {
		t.Errorf("--all --json: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if first := f.queueReqs[0]; first.GetWeek() != "2026-W47" || first.GetStatus() != "assigned" || first.GetPageSize() != 2 || first.GetPageToken() != "" {
		t.Errorf("first request %v", first)
	}
	if n := len(f.queueReqs); n != 1+1+3 || f.queueReqs[4].GetPageToken() != "4" {
		t.Errorf("%d requests, the last %v; want 5, the last from token 4", n, f.queueReqs[n-1])
	}
}

// unmarshalLine parses one line of --json output into m.
func unmarshalLine(t *testing.T, line string, m proto.Message) {
	t.Helper()
	if err := protojson.Unmarshal([]byte(strings.TrimSpace(line)), m); err != nil {
		t.Fatalf("parsing %T from %q: %v", m, line, err)
	}
}
