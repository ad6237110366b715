package storetest

import (
	"errors"
	"fmt"
	"qa-sampling/store"
	"reflect"
	"slices"
	"sync"
	"testing"
)

func testRubricEnsure(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.GetRubric(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRubric(0) on an empty store = %v, want ErrNotFound", err)
	}
	if got, err := s.ListRubrics(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListRubrics on an empty store = %+v, %v", got, err)
	}
	w := begin()
	first, err := s.EnsureRubric(ctx, rubricDoc(1), "system")
	w = w.close()
	if err != nil {
		t.Fatalf("EnsureRubric: %v", err)
	}
	if first.Version != 1 || !first.Active || first.Locked || string(first.Document) != string(rubricDoc(1)) || first.CreatedBy != "system" {
		t.Errorf("EnsureRubric on an empty store = %+v, want version 1, active, unlocked, as given", first)
	}
	w.check(t, "CreatedAt", first.CreatedAt)
	if !first.UpdatedAt.Equal(first.CreatedAt) {
		t.Errorf("UpdatedAt %s != CreatedAt %s", first.UpdatedAt, first.CreatedAt)
	}
	again, err := s.EnsureRubric(ctx, rubricDoc(2), "replica-2")
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Errorf("EnsureRubric(another document) = %+v, %v; want version 1 unchanged %+v", again, err, first)
	}
	if got, err := s.GetRubric(ctx, 0); err != nil || !reflect.DeepEqual(got, first) {
		t.Errorf("GetRubric(0) = %+v, %v; want %+v", got, err, first)
	}
	if got, err := s.ListRubrics(ctx); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], first) {
		t.Errorf("ListRubrics = %+v, %v; want only version 1", got, err)
	}
	// EnsureRubric returns the active version, whichever it is.
	if _, err := s.AddRubric(ctx, rubricDoc(2), true, "admin"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EnsureRubric(ctx, rubricDoc(3), "system"); err != nil || got.Version != 2 || !got.Active {
		t.Errorf("EnsureRubric with version 2 active = %+v, %v; want version 2", got, err)
	}
	if got, _ := s.ListRubrics(ctx); len(got) != 2 {
		t.Errorf("EnsureRubric stored a version although one was active: %d versions", len(got))
	}
}

// testRubricEnsureInactive: versions exist but none was activated before
// the default is seeded. EnsureRubric activates the newest and stores
// nothing.
func testRubricEnsureInactive(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i := 1; i <= 2; i++ {
		if _, err := s.AddRubric(ctx, rubricDoc(i), false, "admin"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.EnsureRubric(ctx, rubricDoc(9), "system")
	if err != nil || got.Version != 2 || !got.Active || string(got.Document) != string(rubricDoc(2)) {
		t.Errorf("EnsureRubric with versions 1 and 2 inactive = %+v, %v; want version 2 activated as stored", got, err)
	}
	if active, err := s.GetRubric(ctx, 0); err != nil || !reflect.DeepEqual(active, got) {
		t.Errorf("GetRubric(0) = %+v, %v; want %+v", active, err, got)
	}
	if list, err := s.ListRubrics(ctx); err != nil || len(list) != 2 {
		t.Errorf("ListRubrics = %d versions, %v; want the 2 added", len(list), err)
	}
	evs := reviewsAudit(t, s, store.AuditFilter{Entity: "rubric"})
	if n := len(actions(evs, "rubric.create")); n != 2 {
		t.Errorf("%d rubric.create events, want 2", n)
	}
	if acts := actions(evs, "rubric.activate"); len(acts) != 1 || acts[0].EntityID != "2" || acts[0].Actor != "system" {
		t.Errorf("rubric.activate events = %+v, want one of version 2 by system", acts)
	}
}

// testRubricConcurrent has replicas ensure a default at once (exactly one
// version results), then admins add versions at once (each its own).
func testRubricConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	got := make([]store.RubricVersion, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released at once, to make them race
	for i := range n {
		wg.Go(func() {
			<-start
			rv, err := s.EnsureRubric(ctx, rubricDoc(i), fmt.Sprintf("replica-%d", i))
			if err != nil {
				t.Errorf("EnsureRubric: %v", err)
			}
			got[i] = rv
		})
	}
	close(start)
	wg.Wait()
	for i := range got {
		if got[i].Version != 1 || !got[i].Active || !reflect.DeepEqual(got[i], got[0]) {
			t.Errorf("racing EnsureRubric %d = %+v, want the same version 1 as %+v", i, got[i], got[0])
		}
	}
	list, err := s.ListRubrics(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListRubrics after racing EnsureRubric = %d versions, %v; want 1", len(list), err)
	}
	if creates := len(actions(reviewsAudit(t, s, store.AuditFilter{Entity: "rubric"}), "rubric.create")); creates != 1 {
		t.Errorf("%d rubric.create events, want 1", creates)
	}

	versions := make(chan int64, n)
	startAdds := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startAdds
			rv, err := s.AddRubric(ctx, rubricDoc(100+i), false, "admin")
			if err != nil {
				t.Errorf("AddRubric: %v", err)
				return
			}
			if string(rv.Document) != string(rubricDoc(100+i)) {
				t.Errorf("AddRubric returned version %d with another document", rv.Version)
			}
			versions <- rv.Version
		})
	}
	close(startAdds)
	wg.Wait()
	close(versions)
	var vs []int64
	for v := range versions {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	if want := []int64{2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(vs, want) {
		t.Errorf("racing AddRubric versions %v, want %v", vs, want)
	}
}

func testRubricVersions(t *testing.T, s store.Store) {
	ctx := t.Context()
	docs := [][]byte{rubricDoc(1), []byte(`{"odd":"\u0001 'quoted' \\ 🙂"}`), rubricDoc(3)}
	w := begin()
	v1, err := s.AddRubric(ctx, docs[0], false, "admin-1")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || v1.Active || v1.Locked || string(v1.Document) != string(docs[0]) || v1.CreatedBy != "admin-1" {
		t.Errorf("AddRubric(activate false) = %+v", v1)
	}
	if _, err := s.GetRubric(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRubric(0) with no version active = %v, want ErrNotFound", err)
	}
	v2, err := s.AddRubric(ctx, docs[1], true, "admin-2")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || !v2.Active || string(v2.Document) != string(docs[1]) {
		t.Errorf("AddRubric(activate true) = %+v", v2)
	}
	v3, err := s.AddRubric(ctx, docs[2], false, "admin-3")
	if err != nil {
		t.Fatal(err)
	}
	w = w.close()
	if v3.Version != 3 || v3.Active {
		t.Errorf("AddRubric(activate false) = %+v", v3)
	}
	for _, v := range []store.RubricVersion{v1, v2, v3} {
		w.check(t, fmt.Sprintf("version %d CreatedAt", v.Version), v.CreatedAt)
	}
	checkList := func(step string, active int64) {
		t.Helper()
		list, err := s.ListRubrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 3 {
			t.Fatalf("%s: ListRubrics = %d versions, want 3", step, len(list))
		}
		for i, v := range list {
			if v.Version != int64(i+1) || v.Active != (v.Version == active) || string(v.Document) != string(docs[i]) {
				t.Errorf("%s: ListRubrics[%d] = version %d active %v; want version %d active %v", step, i, v.Version, v.Active, i+1, v.Version == active)
			}
			if got, err := s.GetRubric(ctx, v.Version); err != nil || !reflect.DeepEqual(got, v) {
				t.Errorf("%s: GetRubric(%d) = %+v, %v; want %+v", step, v.Version, got, err, v)
			}
		}
		if got, err := s.GetRubric(ctx, 0); err != nil || got.Version != active || !got.Active {
			t.Errorf("%s: GetRubric(0) = %+v, %v; want version %d", step, got, err, active)
		}
	}
	checkList("added", 2)
	got, err := s.ActivateRubric(ctx, 3, "admin")
	if err != nil || got.Version != 3 || !got.Active || string(got.Document) != string(docs[2]) {
		t.Errorf("ActivateRubric(3) = %+v, %v", got, err)
	}
	checkList("activated 3", 3)
	if _, err := s.ActivateRubric(ctx, 1, "admin"); err != nil {
		t.Fatal(err)
	}
	checkList("activated 1", 1)
	if _, err := s.ActivateRubric(ctx, 1, "admin"); err != nil {
		t.Errorf("ActivateRubric of the active version: %v", err)
	}
	if _, err := s.ActivateRubric(ctx, 99, "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActivateRubric(99) = %v, want ErrNotFound", err)
	}
	checkList("activate unknown", 1)
	if _, err := s.GetRubric(ctx, 99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRubric(99) = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateRubric(ctx, 99, docs[0], "admin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateRubric(99) = %v, want ErrNotFound", err)
	}
}

func testRubricLocking(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47, pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"))
	before, err := e.s.GetRubric(ctx, e.rubric)
	if err != nil {
		t.Fatal(err)
	}
	w := begin()
	upd, err := e.s.UpdateRubric(ctx, e.rubric, rubricDoc(2), "admin")
	w = w.close()
	if err != nil {
		t.Fatalf("UpdateRubric of an unused version: %v", err)
	}
	if upd.Version != e.rubric || string(upd.Document) != string(rubricDoc(2)) || upd.Locked || !upd.Active ||
		!upd.CreatedAt.Equal(before.CreatedAt) || upd.CreatedBy != before.CreatedBy {
		t.Errorf("UpdateRubric = %+v; want the new document, the rest as before %+v", upd, before)
	}
	w.check(t, "UpdatedAt", upd.UpdatedAt)
	if got, err := e.s.GetRubric(ctx, e.rubric); err != nil || !reflect.DeepEqual(got, upd) {
		t.Errorf("GetRubric after UpdateRubric = %+v, %v; want %+v", got, err, upd)
	}

	// A draft locks the version it uses.
	e.saveDraft(e.draftOf(ps["c1"], "qa-1"))
	locked, err := e.s.GetRubric(ctx, e.rubric)
	if err != nil || !locked.Locked {
		t.Fatalf("rubric after SaveDraft = %+v, %v; want locked", locked, err)
	}
	if _, err := e.s.UpdateRubric(ctx, e.rubric, rubricDoc(3), "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRubric of a used version = %v, want ErrConflict", err)
	}
	if got, err := e.s.GetRubric(ctx, e.rubric); err != nil || !reflect.DeepEqual(got, locked) {
		t.Errorf("refused UpdateRubric changed the version: %+v, want %+v", got, locked)
	}

	// So does a final review written without a draft.
	v2, err := e.s.AddRubric(ctx, rubricDoc(4), false, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(5), "admin"); err != nil {
		t.Errorf("UpdateRubric of an inactive unused version: %v", err)
	}
	r := e.finalOf(ps["c2"], "qa-1", 90, "A")
	r.RubricVersion = v2.Version
	if got, _ := e.finalize(r, store.Feedback{}); got.RubricVersion != v2.Version {
		t.Errorf("final review RubricVersion = %d, want %d", got.RubricVersion, v2.Version)
	}
	if got, err := e.s.GetRubric(ctx, v2.Version); err != nil || !got.Locked || string(got.Document) != string(rubricDoc(5)) {
		t.Errorf("version 2 after a final review = %+v, %v; want locked with the updated document", got, err)
	}
	if _, err := e.s.UpdateRubric(ctx, v2.Version, rubricDoc(6), "admin"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateRubric of a version a final review uses = %v, want ErrConflict", err)
	}
	if got, _ := e.s.GetRubric(ctx, v2.Version); string(got.Document) != string(rubricDoc(5)) {
		t.Errorf("refused UpdateRubric changed the document to %s", got.Document)
	}
	// Activating a locked version is fine and keeps it locked.
	if got, err := e.s.ActivateRubric(ctx, v2.Version, "admin"); err != nil || !got.Locked || !got.Active {
		t.Errorf("ActivateRubric(locked) = %+v, %v", got, err)
	}
}
