package server

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// What changes the programme reaches the audit trail, and the trail
// filters by action and time as well as by entity and actor, page by
// page.
func TestAuditEventsOfTheProgramme(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	sampling := qav1.NewSamplingServiceClient(e.conn)
	audit := qav1.NewAuditServiceClient(e.conn)
	p, err := sampling.GetPolicy(e.admin, &qav1.GetPolicyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p.GetPolicy().RandomPerAgent++
	if _, err := sampling.UpdatePolicy(e.admin, &qav1.UpdatePolicyRequest{Policy: p.GetPolicy()}); err != nil {
		t.Fatal(err)
	}
	runs, err := sampling.ListRuns(e.admin, &qav1.ListRunsRequest{})
	if err != nil || len(runs.GetRuns()) != 1 {
		t.Fatalf("ListRuns = %v, %v", runs, err)
	}
	run := runs.GetRuns()[0]

	list := func(req *qav1.ListAuditEventsRequest) []*qav1.AuditEvent {
		t.Helper()
		var out []*qav1.AuditEvent
		for {
			resp, err := audit.ListAuditEvents(e.admin, req)
			if err != nil {
				t.Fatalf("ListAuditEvents(%v): %v", req, err)
			}
			out = append(out, resp.GetEvents()...)
			if resp.GetNextPageToken() == "" {
				return out
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
	detail := func(ev *qav1.AuditEvent) map[string]any {
		t.Helper()
		var d map[string]any
		if err := json.Unmarshal([]byte(ev.GetDetail()), &d); err != nil {
			t.Fatalf("event %d detail %q: %v", ev.GetId(), ev.GetDetail(), err)
		}
		return d
	}

	policies := list(&qav1.ListAuditEventsRequest{Entity: "policy", PageSize: 1})
	if len(policies) != 2 || policies[0].GetActor() != "default" || policies[1].GetActor() != "lead" ||
		policies[1].GetAction() != "policy.create" || policies[1].GetEntityId() != "2" {
		t.Fatalf("policy events = %v", policies)
	}
	if d := detail(policies[1]); d["version"] != float64(2) || d["policy"].(map[string]any)["random_per_agent"] != float64(p.GetPolicy().GetRandomPerAgent()) {
		t.Errorf("policy.create detail = %v", d)
	}
	completes := list(&qav1.ListAuditEventsRequest{Action: "run.complete"})
	if len(completes) != 1 || completes[0].GetActor() != "lead" || completes[0].GetEntityId() != strconv.FormatInt(run.GetId(), 10) {
		t.Fatalf("run.complete events = %v", completes)
	}
	if d := detail(completes[0]); d["seed"] != run.GetSeed() || d["seed_commitment"] != run.GetSeedCommitment() ||
		d["picks"] != float64(run.GetPicks()) || d["week"] != flowWeek || d["trigger"] != "manual:lead" {
		t.Errorf("run.complete detail = %v, want the run's seed %s, its commitment and picks %d", d, run.GetSeed(), run.GetPicks())
	}
	if inspectors := list(&qav1.ListAuditEventsRequest{Entity: "inspector", Actor: "lead", Action: "inspector.create", PageSize: 2}); len(inspectors) != 3 {
		t.Errorf("inspector.create events = %v, want 3", inspectors)
	}

	all := list(&qav1.ListAuditEventsRequest{PageSize: 1000})
	mid := all[len(all)/2].GetAt()
	var before, after int
	for _, ev := range all {
		if ev.GetAt().AsTime().Before(mid.AsTime()) {
			before++
		} else {
			after++
		}
	}
	if got := list(&qav1.ListAuditEventsRequest{Since: mid, PageSize: 3}); len(got) != after {
		t.Errorf("since %v: %d events, want %d", mid.AsTime(), len(got), after)
	}
	if got := list(&qav1.ListAuditEventsRequest{Until: mid}); len(got) != before {
		t.Errorf("until %v: %d events, want %d", mid.AsTime(), len(got), before)
	}
	later := timestamppb.New(all[len(all)-1].GetAt().AsTime().Add(time.Second))
	if got := list(&qav1.ListAuditEventsRequest{Since: later}); len(got) != 0 {
		t.Errorf("since after the last event: %v", got)
	}

	_, err = audit.ListAuditEvents(e.admin, &qav1.ListAuditEventsRequest{Since: &timestamppb.Timestamp{Seconds: 1, Nanos: -1}})
	wantField(t, err, "since")
	_, err = audit.ListAuditEvents(e.admin, &qav1.ListAuditEventsRequest{Since: later, Until: mid})
	wantField(t, err, "until")

	// Newest first: the same events from the end, page by page.
	newest := list(&qav1.ListAuditEventsRequest{NewestFirst: true, PageSize: 2})
	if len(newest) != len(all) {
		t.Fatalf("newest first: %d events, want %d", len(newest), len(all))
	}
	for i, ev := range newest {
		if ev.GetId() != all[len(all)-1-i].GetId() {
			t.Fatalf("newest first, event %d is %d, want %d", i, ev.GetId(), all[len(all)-1-i].GetId())
		}
	}
	_, err = audit.ListAuditEvents(e.admin, &qav1.ListAuditEventsRequest{NewestFirst: true, AfterId: 1})
	wantField(t, err, "after_id")
}
