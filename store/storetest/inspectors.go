package storetest

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"qa-sampling/store"
)

// testReassignPicks covers what moving open items uses (an admin's
// reassignment, a deactivation): GetInspector, Workload, ReassignPicks
// (compare-and-set on the holder, drafts kept with their author, audited
// in the same transaction) and ReassignDispute.
func testReassignPicks(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	if in, err := e.s.GetInspector(ctx, "qa-1"); err != nil || in.ID != "qa-1" || !in.Active {
		t.Errorf("GetInspector(qa-1) = %+v, %v", in, err)
	}
	if _, err := e.s.GetInspector(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetInspector(unknown) = %v, want ErrNotFound", err)
	}
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("c3", "a3", "random", 1, "qa-1"), pick("d1", "a2", "random", 1, "qa-2"), pick("p1", "a2", "random", 2, ""))
	draft := e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	reviewed, _ := e.finalize(e.finalOf(ps["c2"], "qa-1", 80, "B"), store.Feedback{})
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: reviewed.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-3"})
	if err != nil {
		t.Fatal(err)
	}
	open, pool, err := e.s.Workload(ctx)
	wantOpen := map[string]store.OpenItems{"qa-1": {Assigned: 2}, "qa-2": {Assigned: 1}, "qa-3": {Disputed: 1}}
	if err != nil || pool != 1 || !reflect.DeepEqual(open, wantOpen) {
		t.Errorf("Workload = %v, %d, %v; want %v and 1 in the pool", open, pool, err, wantOpen)
	}

	moved, err := e.s.ReassignPicks(ctx, store.Reassignment{MoveNote: store.MoveNote{Actor: "lead", Reason: "holiday", Bulk: true}, Moves: []store.PickMove{
		{PickID: ps["c1"].ID, From: "qa-1", To: "qa-2"},
		{PickID: ps["c3"].ID, From: "qa-1", To: ""},     // to the pool
		{PickID: ps["p1"].ID, From: "", To: "qa-3"},     // out of the pool
		{PickID: ps["d1"].ID, From: "qa-1", To: "qa-3"}, // not qa-1's: left alone
		{PickID: ps["c2"].ID, From: "qa-1", To: "qa-2"}, // reviewed, disputed: left alone
	}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range moved {
		ids = append(ids, p.ID)
	}
	if want := []int64{ps["c1"].ID, ps["c3"].ID, ps["p1"].ID}; !slices.Equal(ids, want) {
		t.Errorf("ReassignPicks moved %v, want %v in the order asked", ids, want)
	}
	if len(moved) == 3 && (moved[0].InspectorID != "qa-2" || moved[0].Status != store.PickAssigned ||
		moved[1].InspectorID != "" || moved[1].Status != store.PickPool || moved[2].InspectorID != "qa-3" || moved[2].Status != store.PickAssigned) {
		t.Errorf("ReassignPicks returned %+v", moved)
	}
	e.checkPick("moved to qa-2", ps["c1"].ID, store.PickAssigned, "qa-2")
	e.checkPick("moved to the pool", ps["c3"].ID, store.PickPool, "")
	e.checkPick("moved out of the pool", ps["p1"].ID, store.PickAssigned, "qa-3")
	e.checkPick("another's pick", ps["d1"].ID, store.PickAssigned, "qa-2")
	e.checkPick("a disputed pick", ps["c2"].ID, store.PickDisputed, "qa-3")
	if got, err := e.s.DraftOf(ctx, ps["c1"].ID, "qa-1"); err != nil || !reflect.DeepEqual(got, draft) {
		t.Errorf("the moved pick's draft = %+v, %v; want it kept with its author", got, err)
	}
	wantDetail := map[int64]string{
		ps["c1"].ID: `{"from":"qa-1","to":"qa-2","status":"assigned","reason":"holiday","bulk":true}`,
		ps["c3"].ID: `{"from":"qa-1","status":"pool","reason":"holiday","bulk":true}`,
		ps["p1"].ID: `{"to":"qa-3","status":"assigned","reason":"holiday","bulk":true}`,
	}
	for id, want := range wantDetail {
		ev := e.audit(store.AuditFilter{Entity: "pick", EntityID: idStr(id)})
		if len(ev) != 1 || ev[0].Action != "pick.reassign" || ev[0].Actor != "lead" || ev[0].Detail != want {
			t.Errorf("audit of moved pick %d: %+v, want one pick.reassign with %s", id, ev, want)
		}
	}
	if ev := e.audit(store.AuditFilter{Entity: "pick", EntityID: idStr(ps["d1"].ID)}); len(ev) != 0 {
		t.Errorf("audit of a pick left alone: %+v", ev)
	}
	open, pool, err = e.s.Workload(ctx)
	wantOpen = map[string]store.OpenItems{"qa-2": {Assigned: 2}, "qa-3": {Assigned: 1, Disputed: 1}}
	if err != nil || pool != 1 || !reflect.DeepEqual(open, wantOpen) {
		t.Errorf("Workload after the moves = %v, %d, %v; want %v and 1 in the pool", open, pool, err, wantOpen)
	}
	// The same moves again: every pick has changed, nothing moves.
	if again, err := e.s.ReassignPicks(ctx, store.Reassignment{MoveNote: store.MoveNote{Actor: "lead"}, Moves: []store.PickMove{
		{PickID: ps["c1"].ID, From: "qa-1", To: "qa-2"}, {PickID: ps["c3"].ID, From: "qa-1", To: ""},
	}}); err != nil || len(again) != 0 {
		t.Errorf("repeated ReassignPicks = %v, %v; want nothing moved", again, err)
	}
	if _, err := e.s.ReassignPicks(ctx, store.Reassignment{MoveNote: store.MoveNote{Actor: "lead"}, Moves: []store.PickMove{
		{PickID: ps["c1"].ID, From: "qa-2", To: "nobody"},
	}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReassignPicks to an unknown inspector = %v, want ErrNotFound", err)
	}
	e.checkPick("after a failed move", ps["c1"].ID, store.PickAssigned, "qa-2")

	// The dispute moves with its pick; the new assignee resolves it.
	if _, err := e.s.ReassignDispute(ctx, d.ID, "qa-2", "qa-1", store.MoveNote{Actor: "lead"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReassignDispute from the wrong assignee = %v, want ErrConflict", err)
	}
	if _, err := e.s.ReassignDispute(ctx, d.ID+1000, "qa-3", "qa-2", store.MoveNote{Actor: "lead"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReassignDispute(unknown) = %v, want ErrNotFound", err)
	}
	rd, err := e.s.ReassignDispute(ctx, d.ID, "qa-3", "qa-2", store.MoveNote{Actor: "lead", Reason: "qa-3 is away", Bulk: true})
	if err != nil || rd.AssigneeID != "qa-2" || rd.Status != store.DisputeOpen {
		t.Fatalf("ReassignDispute = %+v, %v; want open with qa-2", rd, err)
	}
	e.checkPick("after ReassignDispute", ps["c2"].ID, store.PickDisputed, "qa-2")
	if ev := e.audit(store.AuditFilter{Entity: "dispute", EntityID: idStr(d.ID), Actor: "lead"}); len(ev) != 1 || ev[0].Action != "dispute.reassign" ||
		ev[0].Detail != `{"from":"qa-3","to":"qa-2","reason":"qa-3 is away","bulk":true}` {
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
	if _, err := e.s.ReassignDispute(ctx, d.ID, "qa-2", "qa-3", store.MoveNote{Actor: "lead"}); !errors.Is(err, store.ErrConflict) {
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
