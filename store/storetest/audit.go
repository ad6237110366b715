package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"testing"
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
	var steps [][]event // each step's events, in any order within the step
	steps = append(steps, []event{{"system", "rubric.create", "rubric", "1"}, {"system", "rubric.activate", "rubric", "1"}})

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
	var wantN int
	for _, st := range steps {
		wantN += len(st)
	}
	if len(all) != wantN {
		t.Errorf("%d audit events, want %d:", len(all), wantN)
		for _, ev := range all {
			t.Logf("  %d %s", ev.ID, eventOf(ev))
		}
	}
	at := 0
	for i, st := range steps {
		if at+len(st) > len(all) {
			t.Fatalf("step %d: events missing", i)
		}
		got := make([]string, len(st))
		want := make([]string, len(st))
		for k := range st {
			got[k] = eventOf(all[at+k]).String()
			want[k] = st[k].String()
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("step %d events = %q, want %q", i, got, want)
		}
		at += len(st)
	}
	for i, ev := range all {
		if i > 0 && ev.ID <= all[i-1].ID {
			t.Errorf("audit ids not increasing: %d after %d", ev.ID, all[i-1].ID)
		}
		w.check(t, fmt.Sprintf("event %d At", ev.ID), ev.At)
		if !json.Valid([]byte(ev.Detail)) {
			t.Errorf("event %d detail is not JSON: %q", ev.ID, ev.Detail)
		}
	}
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
}
