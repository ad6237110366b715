package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"qa-sampling/store"
)

// testInspectorDeactivation covers what deactivating an inspector uses:
// GetInspector, ReturnInspectorItems (assigned picks to the pool, drafts
// kept with their author, audited) and ReassignDispute.
func testInspectorDeactivation(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	if in, err := e.s.GetInspector(ctx, "qa-1"); err != nil || in.ID != "qa-1" || !in.Active {
		t.Errorf("GetInspector(qa-1) = %+v, %v", in, err)
	}
	if _, err := e.s.GetInspector(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetInspector(unknown) = %v, want ErrNotFound", err)
	}
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("c3", "a3", "random", 1, "qa-1"), pick("d1", "a2", "random", 1, "qa-2"))
	draft := e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	reviewed, _ := e.finalize(e.finalOf(ps["c2"], "qa-1", 80, "B"), store.Feedback{})
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: reviewed.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"})
	if err != nil {
		t.Fatal(err)
	}

	returned, err := e.s.ReturnInspectorItems(ctx, "qa-1", "lead")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range returned {
		ids = append(ids, p.ID)
		if p.Status != store.PickPool || p.InspectorID != "" {
			t.Errorf("returned pick %d is %s for %q, want in the pool", p.ID, p.Status, p.InspectorID)
		}
	}
	slices.Sort(ids)
	if want := []int64{ps["c1"].ID, ps["c3"].ID}; !slices.Equal(ids, want) {
		t.Errorf("ReturnInspectorItems(qa-1) returned %v, want the assigned %v", ids, want)
	}
	e.checkPick("another's pick", ps["d1"].ID, store.PickAssigned, "qa-2")
	e.checkPick("a disputed pick of another", ps["c2"].ID, store.PickDisputed, "qa-3")
	if got, err := e.s.DraftOf(ctx, ps["c1"].ID, "qa-1"); err != nil || !reflect.DeepEqual(got, draft) {
		t.Errorf("the returned pick's draft = %+v, %v; want it kept with its author", got, err)
	}
	for _, id := range ids {
		if ev := e.audit(store.AuditFilter{Entity: "pick", EntityID: idStr(id)}); len(ev) != 1 || ev[0].Action != "pick.return" || ev[0].Actor != "lead" {
			t.Errorf("audit of returned pick %d: %+v", id, ev)
		}
	}
	if again, err := e.s.ReturnInspectorItems(ctx, "qa-1", "lead"); err != nil || len(again) != 0 {
		t.Errorf("second ReturnInspectorItems = %v, %v; want nothing", again, err)
	}

	// The dispute moves with its pick; the new assignee resolves it.
	if _, err := e.s.ReassignDispute(ctx, d.ID, "qa-2", "qa-1", "lead"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReassignDispute from the wrong assignee = %v, want ErrConflict", err)
	}
	if _, err := e.s.ReassignDispute(ctx, d.ID+1000, "qa-3", "qa-2", "lead"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReassignDispute(unknown) = %v, want ErrNotFound", err)
	}
	moved, err := e.s.ReassignDispute(ctx, d.ID, "qa-3", "qa-2", "lead")
	if err != nil || moved.AssigneeID != "qa-2" || moved.Status != store.DisputeOpen {
		t.Fatalf("ReassignDispute = %+v, %v; want open with qa-2", moved, err)
	}
	e.checkPick("after ReassignDispute", ps["c2"].ID, store.PickDisputed, "qa-2")
	if ev := e.audit(store.AuditFilter{Entity: "dispute", EntityID: idStr(d.ID), Actor: "lead"}); len(ev) != 1 || ev[0].Action != "dispute.reassign" {
		t.Errorf("audit of the reassigned dispute: %+v", ev)
	}
	fin := e.finalOf(ps["c2"], "qa-3", 90, "A")
	fin.DisputeID = d.ID
	if _, _, err := e.s.FinalizeReview(ctx, fin, store.Feedback{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("FinalizeReview by the former assignee = %v, want ErrConflict", err)
	}
	fin = e.finalOf(ps["c2"], "qa-2", 90, "A")
	fin.DisputeID = d.ID
	e.finalize(fin, store.Feedback{})
	if got, err := e.s.GetDispute(ctx, d.ID); err != nil || got.Status != store.DisputeResolved {
		t.Errorf("dispute after the new assignee's review: %+v, %v", got, err)
	}
	if _, err := e.s.ReassignDispute(ctx, d.ID, "qa-2", "qa-3", "lead"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReassignDispute of a resolved dispute = %v, want ErrConflict", err)
	}
}

func testInspectors(t *testing.T, s store.Store) {
	ctx := t.Context()
	if got, err := s.ListInspectors(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListInspectors on an empty store = %v, %v", got, err)
	}
	if _, err := s.UpsertInspector(ctx, store.Inspector{Name: "no id", Active: true}, "admin"); err == nil {
		t.Error("UpsertInspector with an empty id succeeded")
	}
	w := begin()
	steps := []struct {
		in   store.Inspector
		want store.Outcome
	}{
		{store.Inspector{ID: "qa-2", Name: "王质检", Active: true}, store.Created},
		{store.Inspector{ID: "qa-1", Name: "Li", Active: true}, store.Created},
		{store.Inspector{ID: "qa-2", Name: "王质检", Active: true}, store.Unchanged},
		{store.Inspector{ID: "qa-2", Name: "王质检", Active: false}, store.Updated},
		{store.Inspector{ID: "qa-2", Name: "Wang", Active: false}, store.Updated},
		{store.Inspector{ID: "qa-2", Name: "Wang", Active: false}, store.Unchanged},
	}
	for i, st := range steps {
		got, err := s.UpsertInspector(ctx, st.in, "admin")
		if err != nil || got != st.want {
			t.Errorf("step %d: UpsertInspector(%+v) = %v, %v; want %v", i, st.in, got, err, st.want)
		}
	}
	w = w.close()
	list, err := s.ListInspectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "qa-1" || list[1].ID != "qa-2" {
		t.Fatalf("ListInspectors = %+v, want qa-1, qa-2", list)
	}
	if got := list[1]; got.Name != "Wang" || got.Active {
		t.Errorf("qa-2 = %+v, want the last update", got)
	}
	if got := list[0]; got.Name != "Li" || !got.Active {
		t.Errorf("qa-1 = %+v", got)
	}
	for _, in := range list {
		w.check(t, in.ID+" CreatedAt", in.CreatedAt)
		w.check(t, in.ID+" UpdatedAt", in.UpdatedAt)
		if in.UpdatedAt.Before(in.CreatedAt) {
			t.Errorf("%s updated %s before created %s", in.ID, in.UpdatedAt, in.CreatedAt)
		}
	}
	// Unchanged leaves updated_at alone.
	before := list[1].UpdatedAt
	time.Sleep(3 * time.Millisecond)
	if o, err := s.UpsertInspector(ctx, store.Inspector{ID: "qa-2", Name: "Wang"}, "admin"); err != nil || o != store.Unchanged {
		t.Fatalf("UpsertInspector unchanged = %v, %v", o, err)
	}
	list, err = s.ListInspectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !list[1].UpdatedAt.Equal(before) {
		t.Errorf("UpdatedAt moved from %s to %s without a change", before, list[1].UpdatedAt)
	}
}
