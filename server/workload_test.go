package server

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// workloadEnv is startScoring's world plus an inspector "sup-a", who is
// agent-a's supervisor and so may never take agent-a's items.
type workloadEnv struct {
	*scoringEnv
	sampling qav1.SamplingServiceClient
	audit    qav1.AuditServiceClient
}

func startWorkload(t *testing.T) *workloadEnv {
	t.Helper()
	e := &workloadEnv{scoringEnv: startScoring(t, DefaultConfig())}
	e.sampling = qav1.NewSamplingServiceClient(e.conn)
	e.audit = qav1.NewAuditServiceClient(e.conn)
	e.upsert(t, "sup-a", true)
	e.inspectors["sup-a"] = e.as(store.RoleInspector, "sup-a")
	return e
}

func (e *workloadEnv) upsert(t *testing.T, id string, active bool) {
	t.Helper()
	if _, err := e.sampling.UpsertInspector(e.admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id, Name: id, Active: &active}}); err != nil {
		t.Fatal(err)
	}
}

// queue is an inspector's whole queue, read a page of pageSize at a time.
func (e *workloadEnv) queue(t *testing.T, inspector string, req *qav1.ListQueueRequest) []*qav1.Pick {
	t.Helper()
	var out []*qav1.Pick
	for {
		resp, err := e.review.ListQueue(e.inspectors[inspector], req)
		if err != nil {
			t.Fatalf("ListQueue of %s: %v", inspector, err)
		}
		out = append(out, resp.GetItems()...)
		if resp.GetNextPageToken() == "" {
			return out
		}
		req = &qav1.ListQueueRequest{PageSize: req.GetPageSize(), PageToken: resp.GetNextPageToken(), Week: req.GetWeek(), Status: req.GetStatus()}
	}
}

func (e *workloadEnv) inspectorList(t *testing.T) (map[string]*qav1.Inspector, int32) {
	t.Helper()
	resp, err := e.sampling.ListInspectors(e.admin, &qav1.ListInspectorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*qav1.Inspector{}
	for _, in := range resp.GetInspectors() {
		out[in.GetId()] = in
	}
	return out, resp.GetPoolItems()
}

// reassignAudit returns the pick.reassign events of item id.
func (e *workloadEnv) reassignAudit(t *testing.T, entity string, id int64) []*qav1.AuditEvent {
	t.Helper()
	resp, err := e.audit.ListAuditEvents(e.admin, &qav1.ListAuditEventsRequest{Entity: entity, EntityId: strconv.FormatInt(id, 10)})
	if err != nil {
		t.Fatal(err)
	}
	var out []*qav1.AuditEvent
	for _, ev := range resp.GetEvents() {
		if strings.HasSuffix(ev.GetAction(), ".reassign") {
			out = append(out, ev)
		}
	}
	return out
}

func pickIDs(picks []*qav1.Pick) []int64 {
	out := make([]int64, len(picks))
	for i, p := range picks {
		out[i] = p.GetId()
	}
	return out
}

// The counts ListInspectors shows are each inspector's queue, assigned
// and disputed apart, and the pool's size; the queue pages and filters.
func TestWorkloadCountsAndQueue(t *testing.T) {
	e := startWorkload(t)
	list, pool := e.inspectorList(t)
	total := 0
	for id := range e.inspectors {
		q := e.queue(t, id, &qav1.ListQueueRequest{})
		in := list[id]
		if int(in.GetOpenItems()) != len(q) || in.GetAssignedItems() != in.GetOpenItems() || in.GetDisputedItems() != 0 {
			t.Errorf("%s: open %d (assigned %d, disputed %d), queue %d", id, in.GetOpenItems(), in.GetAssignedItems(), in.GetDisputedItems(), len(q))
		}
		total += len(q)
		// One item a page gives the same queue, in id order.
		if paged := e.queue(t, id, &qav1.ListQueueRequest{PageSize: 1}); !slices.Equal(pickIDs(paged), pickIDs(q)) ||
			!slices.IsSorted(pickIDs(paged)) {
			t.Errorf("%s's queue a page at a time: %v, whole %v", id, pickIDs(paged), pickIDs(q))
		}
		if got := e.queue(t, id, &qav1.ListQueueRequest{Week: flowWeek, Status: "assigned"}); !slices.Equal(pickIDs(got), pickIDs(q)) {
			t.Errorf("%s's queue of %s, assigned: %v, want %v", id, flowWeek, pickIDs(got), pickIDs(q))
		}
		if got := e.queue(t, id, &qav1.ListQueueRequest{Week: "2026-W45"}); len(got) != 0 {
			t.Errorf("%s's queue of another week: %v", id, pickIDs(got))
		}
		if got := e.queue(t, id, &qav1.ListQueueRequest{Status: "disputed"}); len(got) != 0 {
			t.Errorf("%s's disputed items: %v", id, pickIDs(got))
		}
	}
	if total == 0 || pool != 0 {
		t.Fatalf("%d items queued, %d in the pool; want some queued, none in the pool", total, pool)
	}
	inspector := e.inspectors["insp-1"]
	_, err := e.review.ListQueue(inspector, &qav1.ListQueueRequest{Status: "reviewed"})
	wantField(t, err, "status")
	_, err = e.review.ListQueue(inspector, &qav1.ListQueueRequest{Week: "W47"})
	wantField(t, err, "week")
}

func TestReassignOneItem(t *testing.T) {
	e := startWorkload(t)
	item, _ := e.itemOf(t, "agent-a")
	from := item.GetInspectorId()
	to := "insp-1"
	if from == to {
		to = "insp-2"
	}
	reassign := func(req *qav1.ReassignItemsRequest) (*qav1.ReassignItemsResponse, error) {
		return e.sampling.ReassignItems(e.admin, req)
	}

	// Bad requests name the field.
	e.upsert(t, "insp-off", false)
	for field, req := range map[string]*qav1.ReassignItemsRequest{
		"item_id":           {ToInspectorId: to},
		"from_inspector_id": {ItemId: item.GetId(), FromInspectorId: from, ToInspectorId: to},
		"to_pool":           {ItemId: item.GetId(), ToInspectorId: to, ToPool: true},
		"to_inspector_id":   {ItemId: item.GetId()},
	} {
		_, err := reassign(req)
		wantField(t, err, field)
	}
	for name, target := range map[string]string{"unknown": "nobody", "inactive": "insp-off", "agent's supervisor": "sup-a", "holder": from} {
		_, err := reassign(&qav1.ReassignItemsRequest{ItemId: item.GetId(), ToInspectorId: target})
		wantField(t, err, "to_inspector_id")
		if name == "agent's supervisor" && !strings.Contains(status.Convert(err).Message(), "supervises agent") {
			t.Errorf("moving to the agent's supervisor: %v; want it said", err)
		}
	}
	_, err := reassign(&qav1.ReassignItemsRequest{FromInspectorId: "nobody", ToPool: true})
	wantField(t, err, "from_inspector_id")
	_, err = reassign(&qav1.ReassignItemsRequest{ItemId: 999_999, ToInspectorId: to})
	wantCode(t, err, codes.NotFound)
	// Only admins.
	for _, ctx := range []context.Context{e.inspectors[from], e.supA} {
		_, err := e.sampling.ReassignItems(ctx, &qav1.ReassignItemsRequest{ItemId: item.GetId(), ToInspectorId: to})
		wantCode(t, err, codes.PermissionDenied)
	}

	// A draft stays with its author.
	if _, err := e.review.SubmitReview(e.inspectors[from], &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: []*qav1.DimensionRating{rating("attitude", 2)}}); err != nil {
		t.Fatal(err)
	}
	resp, err := reassign(&qav1.ReassignItemsRequest{ItemId: item.GetId(), ToInspectorId: to, Reason: "rebalance"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMoved()) != 1 || resp.GetMoved()[0].GetInspectorId() != to || resp.GetMoved()[0].GetStatus() != "assigned" || len(resp.GetNotMoved()) != 0 {
		t.Fatalf("ReassignItems = %v", resp)
	}
	if !slices.Contains(pickIDs(e.queue(t, to, &qav1.ListQueueRequest{})), item.GetId()) || slices.Contains(pickIDs(e.queue(t, from, &qav1.ListQueueRequest{})), item.GetId()) {
		t.Errorf("item %d is not in %s's queue alone", item.GetId(), to)
	}
	opened, err := e.review.OpenItem(e.inspectors[to], &qav1.OpenItemRequest{Id: item.GetId()})
	if err != nil || opened.GetDraft() != nil {
		t.Errorf("%s opens the moved item: draft %v, %v; want none (it stays with %s)", to, opened.GetDraft(), err, from)
	}
	evs := e.reassignAudit(t, "pick", item.GetId())
	if len(evs) != 1 || evs[0].GetAction() != "pick.reassign" || evs[0].GetActor() != "lead" ||
		evs[0].GetDetail() != `{"from":"`+from+`","to":"`+to+`","status":"assigned","reason":"rebalance"}` {
		t.Errorf("audit of the move: %v", evs)
	}

	// A finalised item never moves.
	if _, err := e.review.SubmitReview(e.inspectors[to], &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	_, err = reassign(&qav1.ReassignItemsRequest{ItemId: item.GetId(), ToInspectorId: from})
	wantCode(t, err, codes.FailedPrecondition)
}

// A disputed item moves as its dispute: never to the contested review's
// author.
func TestReassignDisputedItem(t *testing.T) {
	e := startWorkload(t)
	item, _ := e.itemOf(t, "agent-b")
	reviewer := item.GetInspectorId()
	final, err := e.review.SubmitReview(e.inspectors[reviewer], &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.feedback.OpenDispute(e.supB, &qav1.OpenDisputeRequest{ReviewId: final.GetReview().GetId(), Reason: "the customer confirmed"})
	if err != nil {
		t.Fatal(err)
	}
	assignee := d.GetDispute().GetAssigneeId()
	var other string
	for _, id := range []string{"insp-1", "insp-2", "insp-3", "sup-a"} {
		if id != reviewer && id != assignee {
			other = id
			break
		}
	}
	list, _ := e.inspectorList(t)
	if got := list[assignee]; got.GetDisputedItems() != 1 || got.GetOpenItems() != got.GetAssignedItems()+1 {
		t.Errorf("%s's counts with a dispute to re-score: %v", assignee, got)
	}
	_, err = e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{ItemId: item.GetId(), ToInspectorId: reviewer})
	wantField(t, err, "to_inspector_id")
	resp, err := e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{ItemId: item.GetId(), ToInspectorId: other, Reason: "second opinion"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMoved()) != 1 || resp.GetMoved()[0].GetStatus() != "disputed" || resp.GetMoved()[0].GetInspectorId() != other {
		t.Fatalf("ReassignItems of the disputed item = %v", resp)
	}
	if got := e.queue(t, other, &qav1.ListQueueRequest{Status: "disputed"}); !slices.Equal(pickIDs(got), []int64{item.GetId()}) {
		t.Errorf("%s's disputed queue: %v", other, pickIDs(got))
	}
	disputes, err := e.feedback.ListDisputes(e.admin, &qav1.ListDisputesRequest{})
	if err != nil || len(disputes.GetDisputes()) != 1 || disputes.GetDisputes()[0].GetAssigneeId() != other {
		t.Errorf("disputes after the move: %v, %v", disputes.GetDisputes(), err)
	}
	if evs := e.reassignAudit(t, "dispute", d.GetDispute().GetId()); len(evs) != 1 || evs[0].GetAction() != "dispute.reassign" ||
		evs[0].GetDetail() != `{"from":"`+assignee+`","to":"`+other+`","reason":"second opinion"}` {
		t.Errorf("audit of the dispute's move: %v", evs)
	}
}

// Moving all of an inspector's items: what may not go to the target stays
// and is listed with the reason; to the pool, the rules spread them.
func TestReassignAllItems(t *testing.T) {
	e := startWorkload(t)
	// Everything to insp-1 first, so that it holds items of both agents.
	for _, from := range []string{"insp-2", "insp-3"} {
		resp, err := e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{FromInspectorId: from, ToInspectorId: "insp-1"})
		if err != nil || len(resp.GetNotMoved()) != 0 {
			t.Fatalf("all of %s to insp-1: %v, %v", from, resp, err)
		}
	}
	held := e.queue(t, "insp-1", &qav1.ListQueueRequest{})
	agents := map[string]int{}
	for _, p := range held {
		agents[p.GetAgentId()]++
	}
	if agents["agent-a"] == 0 || agents["agent-b"] == 0 {
		t.Fatalf("insp-1 holds %v; want items of both agents", agents)
	}

	resp, err := e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{FromInspectorId: "insp-1", ToInspectorId: "sup-a", Reason: "cover"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetMoved()) != agents["agent-b"] || len(resp.GetNotMoved()) != agents["agent-a"] {
		t.Fatalf("all of insp-1 to sup-a: moved %d, not moved %d; want agent-b's %d moved, agent-a's %d not",
			len(resp.GetMoved()), len(resp.GetNotMoved()), agents["agent-b"], agents["agent-a"])
	}
	for _, u := range resp.GetNotMoved() {
		if u.GetItem().GetAgentId() != "agent-a" || u.GetItem().GetInspectorId() != "insp-1" || !strings.Contains(u.GetReason(), "supervises agent") {
			t.Errorf("not moved: %v", u)
		}
	}
	for _, p := range resp.GetMoved() {
		if p.GetAgentId() != "agent-b" || p.GetInspectorId() != "sup-a" {
			t.Errorf("moved: %v", p)
		}
		if evs := e.reassignAudit(t, "pick", p.GetId()); len(evs) == 0 || !strings.Contains(evs[len(evs)-1].GetDetail(), `"bulk":true`) {
			t.Errorf("audit of bulk move of %d: %v", p.GetId(), evs)
		}
	}

	// To the pool: the rules give each to another eligible inspector.
	resp, err = e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{FromInspectorId: "insp-1", ToPool: true})
	if err != nil || len(resp.GetNotMoved()) != 0 || len(resp.GetMoved()) != agents["agent-a"] {
		t.Fatalf("all of insp-1 to the pool: %v, %v", resp, err)
	}
	got := map[string]int{}
	for _, p := range resp.GetMoved() {
		if p.GetInspectorId() == "insp-1" || p.GetInspectorId() == "sup-a" || p.GetStatus() != "assigned" {
			t.Errorf("moved to the pool: %v; want with insp-2 or insp-3", p)
		}
		got[p.GetInspectorId()]++
	}
	if agents["agent-a"] >= 2 && (got["insp-2"] == 0 || got["insp-3"] == 0) {
		t.Errorf("the pool's rules gave %v; want them spread over insp-2 and insp-3", got)
	}
	list, pool := e.inspectorList(t)
	if list["insp-1"].GetOpenItems() != 0 || pool != 0 {
		t.Errorf("after moving all of insp-1's: %v, pool %d", list["insp-1"], pool)
	}
	// Nothing left to move is an empty answer, not an error.
	resp, err = e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{FromInspectorId: "insp-1", ToPool: true})
	if err != nil || len(resp.GetMoved())+len(resp.GetNotMoved()) != 0 {
		t.Errorf("moving an empty queue: %v, %v", resp, err)
	}
}

// TestReassignThePool: picks left in the pool (a week run while no
// inspector could take them) are handed out by the rules with from_pool,
// audited as one bulk move; from_pool with another source is refused by
// name.
func TestReassignThePool(t *testing.T) {
	e := startWorkload(t)
	for _, id := range []string{"insp-1", "insp-2", "insp-3", "sup-a"} {
		e.upsert(t, id, false) // the last one's items have nowhere to go but the pool
	}
	_, pool := e.inspectorList(t)
	if pool == 0 {
		t.Fatal("no items in the pool after deactivating every inspector")
	}
	e.upsert(t, "insp-2", true)
	e.upsert(t, "insp-3", true)

	_, err := e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{FromPool: true, ItemId: 1, ToPool: true})
	wantField(t, err, "from_pool")

	resp, err := e.sampling.ReassignItems(e.admin, &qav1.ReassignItemsRequest{FromPool: true, ToPool: true, Reason: "week run before hiring"})
	if err != nil || len(resp.GetNotMoved()) != 0 || len(resp.GetMoved()) != int(pool) {
		t.Fatalf("the pool (%d items) handed out: %v, %v", pool, resp, err)
	}
	got := map[string]int{}
	for _, p := range resp.GetMoved() {
		if p.GetStatus() != "assigned" {
			t.Errorf("moved out of the pool: %v; want assigned", p)
		}
		got[p.GetInspectorId()]++
	}
	if pool >= 2 && (got["insp-2"] == 0 || got["insp-3"] == 0) {
		t.Errorf("the rules gave %v; want the pool spread over insp-2 and insp-3", got)
	}
	if _, left := e.inspectorList(t); left != 0 {
		t.Errorf("%d items still in the pool", left)
	}
	p := resp.GetMoved()[0]
	if evs := e.reassignAudit(t, "pick", p.GetId()); len(evs) == 0 || !strings.Contains(evs[len(evs)-1].GetDetail(), `"bulk":true`) {
		t.Errorf("audit of the pool's move of %d: %v", p.GetId(), evs)
	}
}
