package storetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"qa-sampling/store"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// event is what a test expects of an audit event.
type event struct{ actor, action, entity, id string }

func (ev event) String() string { return ev.actor + " " + ev.action + " " + ev.entity + "/" + ev.id }

func eventOf(ev store.AuditEvent) event { return event{ev.Actor, ev.Action, ev.Entity, ev.EntityID} }

// testAudit does one of everything and checks each step wrote its events,
// in the steps' order, and that refused writes wrote none.
func testAudit(t *testing.T, s store.Store) {
	w := begin()
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"))
	c1 := ps["c1"]
	runID := idStr(c1.RunID)
	var steps [][]event // each step's events, in any order within the step
	steps = append(steps,
		[]event{{"admin", "inspector.create", "inspector", "qa-1"}, {"admin", "inspector.create", "inspector", "qa-2"}, {"admin", "inspector.create", "inspector", "qa-3"}},
		[]event{{"system", "rubric.create", "rubric", "1"}, {"system", "rubric.activate", "rubric", "1"}},
		[]event{{"schedule", "run.create", "run", runID}}, []event{{"schedule", "run.complete", "run", runID}})

	v2, err := e.s.AddRubric(ctx, rubricDoc(2), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.create", "rubric", idStr(v2.Version)}})
	v3, err := e.s.AddRubric(ctx, rubricDoc(3), true, "admin-2")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin-2", "rubric.create", "rubric", idStr(v3.Version)}, {"admin-2", "rubric.activate", "rubric", idStr(v3.Version)}})
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(4), "admin"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.update", "rubric", idStr(v2.Version)}})
	if _, err := e.s.ActivateRubric(ctx, v2.Version, "admin"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.activate", "rubric", idStr(v2.Version)}})
	e.rubric = v2.Version

	d := e.saveDraft(e.draftOf(c1, "qa-1"))
	steps = append(steps, []event{{"qa-1", "review.create", "review", idStr(d.ID)}})
	e.saveDraft(e.draftOf(c1, "qa-1"))
	steps = append(steps, []event{{"qa-1", "review.update", "review", idStr(d.ID)}})
	r, fb := e.finalize(e.finalOf(c1, "qa-1", 30, "F"), store.Feedback{})
	steps = append(steps, []event{{"qa-1", "review.finalize", "review", idStr(r.ID)}, {"qa-1", "feedback.create", "feedback", idStr(fb.ID)}})
	if _, err := e.s.AcknowledgeFeedback(ctx, fb.ID, "sup-1", "note"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"sup-1", "feedback.acknowledge", "feedback", idStr(fb.ID)}})

	// Refused writes record nothing.
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(5), "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRubric(locked) = %v", err)
	}
	if _, _, err := e.s.FinalizeReview(ctx, e.finalOf(c1, "qa-1", 1, "F"), store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second FinalizeReview = %v", err)
	}
	if _, err := e.s.SaveDraft(ctx, e.draftOf(c1, "qa-2")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveDraft by another inspector = %v", err)
	}
	if _, err := e.s.AcknowledgeFeedback(ctx, fb.ID+100, "sup-1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AcknowledgeFeedback(unknown) = %v", err)
	}
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: d.ID + 100, OpenedBy: "sup-1", AssigneeID: "qa-2"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenDispute(unknown) = %v", err)
	}
	if _, err := e.s.ActivateRubric(ctx, 99, "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActivateRubric(99) = %v", err)
	}
	if _, err := e.s.EnsureRubric(ctx, rubricDoc(9), "system"); err != nil {
		t.Fatal(err) // a rubric exists: writes nothing
	}

	disp, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"})
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"sup-1", "dispute.open", "dispute", idStr(disp.ID)}})
	if _, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second OpenDispute = %v", err)
	}
	in := e.finalOf(c1, "qa-2", 70, "C")
	in.DisputeID = disp.ID
	nr, nfb := e.finalize(in, store.Feedback{})
	steps = append(steps, []event{
		{"qa-2", "review.retract", "review", idStr(r.ID)}, {"qa-2", "dispute.resolve", "dispute", idStr(disp.ID)},
		{"qa-2", "review.finalize", "review", idStr(nr.ID)}, {"qa-2", "feedback.create", "feedback", idStr(nfb.ID)},
	})
	w = w.close()

	all := e.audit(store.AuditFilter{})
	checkSteps(t, all, steps, w)
	// The dispute's detail names the review; the finalisations' the item.
	for _, tc := range []struct {
		action string
		n      int
		key    string
		want   int64
	}{
		{"dispute.open", 1, "review_id", r.ID},
		{"review.finalize", 2, "item_id", c1.ID},
	} {
		evs := actions(all, tc.action)
		if len(evs) != tc.n {
			t.Errorf("%d %s events, want %d", len(evs), tc.action, tc.n)
		}
		for _, ev := range evs {
			var detail map[string]any
			if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || detail[tc.key] != float64(tc.want) {
				t.Errorf("%s detail = %s, want %s %d", tc.action, ev.Detail, tc.key, tc.want)
			}
		}
	}
	// A review's ratings and flags are structured JSON, not the store's
	// own encoding: a draft's and a finalisation's alike.
	wantRatings := `[{"dimension":"greeting","rating":4,"max":5,"na":false,"comment":"warm, 热情; polite"},` +
		`{"dimension":"accuracy","rating":1,"max":3,"na":false,"comment":"wrong \"tracking\" number,\nsee message 7","failing":true,"critical":true},` +
		`{"dimension":"empathy","max":5,"na":true,"comment":"n/a: bot handled it"},` +
		`{"dimension":"closing","rating":0,"max":2,"na":false,"failing":true},` +
		`{"dimension":"compliance","rating":2,"max":2,"na":false,"critical":true}]`
	for _, ev := range slices.Concat(actions(all, "review.create"), actions(all, "review.finalize")) {
		var detail struct {
			Ratings json.RawMessage `json:"ratings"`
			Flags   []string        `json:"flags"`
		}
		if err := json.Unmarshal([]byte(ev.Detail), &detail); err != nil || string(detail.Ratings) != wantRatings ||
			!slices.Equal(detail.Flags, []string{"rude", "leak"}) {
			t.Errorf("%s detail = %s (%v)\nwant ratings %s and flags [rude leak]", ev.Action, ev.Detail, err, wantRatings)
		}
	}
}

// checkSteps checks that got holds exactly the steps' events, step after
// step (in any order within a step), in increasing ids, each at a time
// within w and with a JSON object for detail.
func checkSteps(t *testing.T, got []store.AuditEvent, steps [][]event, w window) {
	t.Helper()
	var wantN int
	for _, st := range steps {
		wantN += len(st)
	}
	if len(got) != wantN {
		t.Errorf("%d audit events, want %d:", len(got), wantN)
		for _, ev := range got {
			t.Logf("  %d %s", ev.ID, eventOf(ev))
		}
	}
	at := 0
	for i, st := range steps {
		if at+len(st) > len(got) {
			t.Fatalf("step %d: events missing", i)
		}
		gotStep := make([]string, len(st))
		want := make([]string, len(st))
		for k := range st {
			gotStep[k] = eventOf(got[at+k]).String()
			want[k] = st[k].String()
		}
		slices.Sort(gotStep)
		slices.Sort(want)
		if !slices.Equal(gotStep, want) {
			t.Errorf("step %d events = %q, want %q", i, gotStep, want)
		}
		at += len(st)
	}
	for i, ev := range got {
		if i > 0 && ev.ID <= got[i-1].ID {
			t.Errorf("audit ids not increasing: %d after %d", ev.ID, got[i-1].ID)
		}
		w.check(t, fmt.Sprintf("event %d At", ev.ID), ev.At)
		var obj map[string]any
		if err := json.Unmarshal([]byte(ev.Detail), &obj); err != nil {
			t.Errorf("event %d detail is not a JSON object: %q", ev.ID, ev.Detail)
		}
	}
}

// detailOf decodes an event's detail.
func detailOf(t *testing.T, ev store.AuditEvent) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal([]byte(ev.Detail), &d); err != nil {
		t.Errorf("%s detail %q: %v", eventOf(ev), ev.Detail, err)
	}
	return d
}

// testAuditProgramme checks the events of what changes the programme:
// policy versions, runs, inspectors, tokens and rubric activations, each
// with its detail, and that a refused or idempotent write writes none.
func testAuditProgramme(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	inWeek(t, s, "a1", "c1")
	base := e.audit(store.AuditFilter{})
	w := begin()
	var steps [][]event

	policyDoc := `{"quota_per_agent":3,"time_zone":"Asia/Shanghai","rules":[{"name":"投诉","tags":["投诉"]}]}`
	pv1, err := s.AddPolicyVersion(ctx, []byte(policyDoc), "default")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"default", "policy.create", "policy", idStr(pv1.Version)}})
	if _, err := s.AddPolicyVersion(ctx, []byte(policyDoc), "admin"); err != nil { // the same: no new version
		t.Fatal(err)
	}
	pv2, err := s.AddPolicyVersion(ctx, []byte("not json"), "admin")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "policy.create", "policy", idStr(pv2.Version)}})

	seed := []byte{0x00, 0x0f, 0xfe, 0x42}
	run, created, err := s.CreateRun(ctx, store.Run{Week: week47, PolicyVersion: pv1.Version, Seed: seed, Trigger: "manual:lead"})
	if err != nil || !created {
		t.Fatalf("CreateRun = %+v, %v, %v", run, created, err)
	}
	steps = append(steps, []event{{"lead", "run.create", "run", idStr(run.ID)}})
	if _, created, err := s.CreateRun(ctx, store.Run{Week: week47, PolicyVersion: pv1.Version, Seed: seed, Trigger: "schedule"}); err != nil || created {
		t.Fatalf("CreateRun again = %v, %v", created, err)
	}
	if _, err := s.CompleteRun(ctx, run.ID, []store.Pick{pick("c1", "a1", "random", 1, "qa-1")}, 2); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"lead", "run.complete", "run", idStr(run.ID)}})
	if _, err := s.CompleteRun(ctx, run.ID, nil, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CompleteRun again = %v, want ErrConflict", err)
	}
	scheduled, _, err := s.CreateRun(ctx, store.Run{Week: "2026-W48", PolicyVersion: pv2.Version, Seed: seed, Trigger: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"schedule", "run.create", "run", idStr(scheduled.ID)}})

	for _, st := range []struct {
		in     store.Inspector
		actor  string
		action string // "" when nothing changes
	}{
		{store.Inspector{ID: "qa-9", Name: "Li", Active: true}, "lead", "inspector.create"},
		{store.Inspector{ID: "qa-9", Name: "Li", Active: true}, "lead", ""},
		{store.Inspector{ID: "qa-9", Name: "Li Na", Active: true}, "lead", "inspector.update"},
		{store.Inspector{ID: "qa-9", Name: "Li Na", Active: false}, "lead-2", "inspector.deactivate"},
		{store.Inspector{ID: "qa-9", Name: "Li Na", Active: false}, "lead-2", ""},
		{store.Inspector{ID: "qa-9", Name: "Li Na", Active: true}, "lead", "inspector.update"},
	} {
		if _, err := s.UpsertInspector(ctx, st.in, st.actor); err != nil {
			t.Fatalf("UpsertInspector(%+v): %v", st.in, err)
		}
		if st.action != "" {
			steps = append(steps, []event{{st.actor, st.action, "inspector", st.in.ID}})
		}
	}
	if _, err := s.UpsertInspector(ctx, store.Inspector{Name: "no id", Active: true}, "lead"); err == nil {
		t.Error("UpsertInspector with an empty id succeeded")
	}

	secretHash := sha256.Sum256([]byte("qa_tok-a_s3cr3t"))
	tok := store.Token{ID: "tok-a", SecretHash: secretHash[:], Role: store.RoleSupervisor, Subject: "sup-1", CreatedAt: w.from}
	if err := s.CreateToken(ctx, tok, "qad:root"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"qad:root", "token.create", "token", "tok-a"}})
	if err := s.CreateToken(ctx, tok, "qad:root"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateToken(duplicate) = %v, want ErrConflict", err)
	}
	if _, err := s.RevokeToken(ctx, "tok-a", w.from, "qad:ops"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"qad:ops", "token.revoke", "token", "tok-a"}})
	if _, err := s.RevokeToken(ctx, "tok-a", w.from.Add(time.Hour), "qad:ops"); err != nil {
		t.Errorf("RevokeToken(revoked) = %v", err)
	}
	if _, err := s.RevokeToken(ctx, "tok-none", w.from, "qad:ops"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeToken(unknown) = %v, want ErrNotFound", err)
	}

	v2, err := s.AddRubric(ctx, rubricDoc(2), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin", "rubric.create", "rubric", idStr(v2.Version)}})
	if _, err := s.ActivateRubric(ctx, v2.Version, "admin-2"); err != nil {
		t.Fatal(err)
	}
	steps = append(steps, []event{{"admin-2", "rubric.activate", "rubric", idStr(v2.Version)}})
	if _, err := s.ActivateRubric(ctx, v2.Version+10, "admin-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActivateRubric(unknown) = %v, want ErrNotFound", err)
	}
	w = w.close()

	all := e.audit(store.AuditFilter{})
	got := all[len(base):]
	checkSteps(t, got, steps, w)

	// What each detail says.
	one := func(action, id string) map[string]any {
		t.Helper()
		for _, ev := range got {
			if ev.Action == action && ev.EntityID == id {
				return detailOf(t, ev)
			}
		}
		t.Errorf("no %s of %s", action, id)
		return nil
	}
	var policy any
	if err := json.Unmarshal([]byte(policyDoc), &policy); err != nil {
		t.Fatal(err)
	}
	if d := one("policy.create", idStr(pv1.Version)); d["version"] != float64(pv1.Version) || !reflect.DeepEqual(d["policy"], policy) {
		t.Errorf("policy.create detail = %v, want version %d and the document as JSON", d, pv1.Version)
	}
	if d := one("policy.create", idStr(pv2.Version)); d["policy"] != "not json" {
		t.Errorf("policy.create detail of a document that is not JSON = %v, want it as a string", d)
	}
	commitment := sha256.Sum256(seed)
	wantCreate := map[string]any{"week": week47, "policy_version": float64(pv1.Version), "trigger": "manual:lead",
		"seed_commitment": hex.EncodeToString(commitment[:])}
	if d := one("run.create", idStr(run.ID)); !reflect.DeepEqual(d, wantCreate) {
		t.Errorf("run.create detail = %v, want %v (never the seed before the run reveals it)", d, wantCreate)
	}
	wantComplete := maps.Clone(wantCreate)
	wantComplete["seed"], wantComplete["picks"], wantComplete["shortfalls"] = "000ffe42", float64(1), float64(2)
	if d := one("run.complete", idStr(run.ID)); !reflect.DeepEqual(d, wantComplete) {
		t.Errorf("run.complete detail = %v, want %v", d, wantComplete)
	}
	inspectorEvents := e.audit(store.AuditFilter{Entity: "inspector", EntityID: "qa-9"})
	var changes []string
	for _, ev := range inspectorEvents {
		d := detailOf(t, ev)
		changes = append(changes, fmt.Sprintf("%s %v -> %v", ev.Action, d["before"], d["after"]))
	}
	if want := []string{
		"inspector.create <nil> -> map[active:true name:Li]",
		"inspector.update map[active:true name:Li] -> map[active:true name:Li Na]",
		"inspector.deactivate map[active:true name:Li Na] -> map[active:false name:Li Na]",
		"inspector.update map[active:false name:Li Na] -> map[active:true name:Li Na]",
	}; !slices.Equal(changes, want) {
		t.Errorf("inspector events:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
	}
	if d := one("token.create", "tok-a"); d["token_id"] != "tok-a" || d["role"] != "supervisor" || d["subject"] != "sup-1" || d["created_at"] == nil {
		t.Errorf("token.create detail = %v", d)
	}
	if d := one("token.revoke", "tok-a"); d["token_id"] != "tok-a" || d["role"] != "supervisor" || d["subject"] != "sup-1" || d["revoked_at"] == nil {
		t.Errorf("token.revoke detail = %v", d)
	}
	// Neither the secret nor its hash, in any spelling, is in the trail.
	for _, ev := range all {
		for _, secret := range []string{"s3cr3t", hex.EncodeToString(secretHash[:]), base64.StdEncoding.EncodeToString(secretHash[:]), "secret"} {
			if strings.Contains(strings.ToLower(ev.Detail), strings.ToLower(secret)) {
				t.Errorf("event %s detail %s holds %q", eventOf(ev), ev.Detail, secret)
			}
		}
	}
	if d := one("rubric.activate", idStr(v2.Version)); d["previous_active"] != float64(e.rubric) {
		t.Errorf("rubric.activate detail = %v, want previous_active %d", d, e.rubric)
	}
	if d := one("rubric.create", idStr(v2.Version)); d["activate"] != false || d["rubric"] == nil {
		t.Errorf("rubric.create detail = %v, want activate false and the document", d)
	}
}

func testAuditFilters(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-2"))
	d1 := e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	d2 := e.saveDraft(e.draftOf(ps["c2"], "qa-2"))
	r1, fb1 := e.finalize(e.finalOf(ps["c1"], "qa-1", 30, "F"), store.Feedback{})
	if _, err := e.s.AcknowledgeFeedback(ctx, fb1.ID, "sup-1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.AddRubric(ctx, rubricDoc(2), false, "qa-1"); err != nil { // an actor in two roles
		t.Fatal(err)
	}
	all := e.audit(store.AuditFilter{})
	for _, tc := range []struct {
		f    store.AuditFilter
		want func(ev store.AuditEvent) bool
	}{
		{store.AuditFilter{Actor: "qa-1"}, func(ev store.AuditEvent) bool { return ev.Actor == "qa-1" }},
		{store.AuditFilter{Actor: "nobody"}, func(store.AuditEvent) bool { return false }},
		{store.AuditFilter{Entity: "review"}, func(ev store.AuditEvent) bool { return ev.Entity == "review" }},
		{store.AuditFilter{Entity: "review", EntityID: idStr(d1.ID)}, func(ev store.AuditEvent) bool {
			return ev.Entity == "review" && ev.EntityID == idStr(d1.ID)
		}},
		{store.AuditFilter{EntityID: idStr(fb1.ID)}, func(ev store.AuditEvent) bool { return ev.EntityID == idStr(fb1.ID) }},
		{store.AuditFilter{Actor: "qa-2", Entity: "review"}, func(ev store.AuditEvent) bool { return ev.Actor == "qa-2" && ev.Entity == "review" }},
		{store.AuditFilter{Actor: "qa-1", Entity: "rubric"}, func(ev store.AuditEvent) bool { return ev.Actor == "qa-1" && ev.Entity == "rubric" }},
		{store.AuditFilter{AfterID: all[2].ID}, func(ev store.AuditEvent) bool { return ev.ID > all[2].ID }},
		{store.AuditFilter{Action: "review.update"}, func(ev store.AuditEvent) bool { return ev.Action == "review.update" }},
		{store.AuditFilter{Action: "review.create", Actor: "qa-2"}, func(ev store.AuditEvent) bool {
			return ev.Action == "review.create" && ev.Actor == "qa-2"
		}},
		// Since is inclusive, Until exclusive; events may share a millisecond.
		{store.AuditFilter{Since: all[4].At}, func(ev store.AuditEvent) bool { return !ev.At.Before(all[4].At) }},
		{store.AuditFilter{Until: all[4].At}, func(ev store.AuditEvent) bool { return ev.At.Before(all[4].At) }},
		{store.AuditFilter{Since: all[2].At, Until: all[len(all)-1].At, Entity: "review"}, func(ev store.AuditEvent) bool {
			return !ev.At.Before(all[2].At) && ev.At.Before(all[len(all)-1].At) && ev.Entity == "review"
		}},
		{store.AuditFilter{Since: all[len(all)-1].At.Add(time.Millisecond)}, func(store.AuditEvent) bool { return false }},
	} {
		var want []store.AuditEvent
		for _, ev := range all {
			if tc.want(ev) {
				want = append(want, ev)
			}
		}
		if got := e.audit(tc.f); !reflect.DeepEqual(nilIfEmpty(got), want) {
			t.Errorf("ListAudit(%+v) = %+v\nwant %+v", tc.f, got, want)
		}
	}
	// The draft of c1 has its create, update and finalize, in order.
	var acts []string
	for _, ev := range e.audit(store.AuditFilter{Entity: "review", EntityID: idStr(r1.ID)}) {
		acts = append(acts, ev.Action)
	}
	if want := []string{"review.create", "review.update", "review.finalize"}; r1.ID != d1.ID || !slices.Equal(acts, want) {
		t.Errorf("events of review %d = %q, want %q", r1.ID, acts, want)
	}
	if got := e.audit(store.AuditFilter{Entity: "review", EntityID: idStr(d2.ID)}); len(got) != 1 || got[0].Actor != "qa-2" || got[0].Action != "review.create" {
		t.Errorf("events of review %d = %+v", d2.ID, got)
	}
	// Paging.
	for _, limit := range []int{1, 3, 100} {
		var paged []store.AuditEvent
		f := store.AuditFilter{Limit: limit}
		for range len(all) + 2 {
			page := e.audit(f)
			if len(page) > limit {
				t.Fatalf("ListAudit(limit %d) returned %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			f.AfterID = page[len(page)-1].ID
		}
		if !reflect.DeepEqual(paged, all) {
			t.Errorf("ListAudit paged by %d = %d events, want %d in order", limit, len(paged), len(all))
		}
	}
	if got := e.audit(store.AuditFilter{Actor: "qa-1", Limit: 2}); len(got) != 2 || got[0].Actor != "qa-1" || got[1].Actor != "qa-1" {
		t.Errorf("ListAudit(qa-1, limit 2) = %+v", got)
	}
	// Newest first, paged backwards by BeforeID, with a filter.
	var reviews []store.AuditEvent
	for _, ev := range all {
		if ev.Entity == "review" {
			reviews = append([]store.AuditEvent{ev}, reviews...)
		}
	}
	var paged []store.AuditEvent
	f := store.AuditFilter{Entity: "review", NewestFirst: true, Limit: 2}
	for range len(all) + 2 {
		page := e.audit(f)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		f.BeforeID = page[len(page)-1].ID
	}
	if !reflect.DeepEqual(paged, reviews) {
		t.Errorf("ListAudit(review, newest first, paged by 2) = %+v\nwant %+v", paged, reviews)
	}
}
