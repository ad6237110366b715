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

func testPolicies(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.LatestPolicy(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LatestPolicy on an empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.GetPolicy(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPolicy(1) on an empty store: %v, want ErrNotFound", err)
	}
	docs := []string{
		`{"random_per_agent":3,"targeted_per_agent":2}`,
		"{\n  \"time_zone\": \"Asia/Shanghai\",\n  \"note\": \"质检 \\u0001 'quoted'\"\n}",
		`{}`,
	}
	w := begin()
	var added []store.PolicyVersion
	for i, d := range docs {
		pv, err := s.AddPolicyVersion(ctx, []byte(d), fmt.Sprintf("admin-%d", i))
		if err != nil {
			t.Fatalf("AddPolicyVersion %d: %v", i, err)
		}
		if pv.Version != int64(i+1) || string(pv.Document) != d || pv.CreatedBy != fmt.Sprintf("admin-%d", i) {
			t.Errorf("AddPolicyVersion %d = %+v", i, pv)
		}
		added = append(added, pv)
	}
	w = w.close()
	for _, pv := range added {
		w.check(t, fmt.Sprintf("version %d CreatedAt", pv.Version), pv.CreatedAt)
		got, err := s.GetPolicy(ctx, pv.Version)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, pv) {
			t.Errorf("GetPolicy(%d) = %+v, want %+v", pv.Version, got, pv)
		}
	}
	latest, err := s.LatestPolicy(ctx)
	if err != nil || !reflect.DeepEqual(latest, added[2]) {
		t.Errorf("LatestPolicy = %+v, %v; want %+v", latest, err, added[2])
	}
	if _, err := s.GetPolicy(ctx, 4); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPolicy(4) = %v, want ErrNotFound", err)
	}
	// Saving the latest document again stores nothing and returns it;
	// an older document becomes a new version.
	if pv, err := s.AddPolicyVersion(ctx, []byte(docs[2]), "someone else"); err != nil || !reflect.DeepEqual(pv, added[2]) {
		t.Errorf("AddPolicyVersion(latest document) = %+v, %v; want version 3 as stored", pv, err)
	}
	if pv, err := s.AddPolicyVersion(ctx, []byte(docs[0]), "admin-0"); err != nil || pv.Version != 4 {
		t.Errorf("AddPolicyVersion(an older document) = %+v, %v; want version 4", pv, err)
	}
	if pv, err := s.AddPolicyVersion(ctx, []byte(docs[0]+" "), "admin-0"); err != nil || pv.Version != 5 {
		t.Errorf("AddPolicyVersion(latest plus a space) = %+v, %v; want version 5", pv, err)
	}
}

// testPoliciesConcurrent has replicas store the same default at once
// (all must get version 1), then admins store different documents at once
// (each gets a version of its own).
func testPoliciesConcurrent(t *testing.T, s store.Store) {
	const n = 8
	add := func(doc func(i int) []byte) []int64 {
		versions := make(chan int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				pv, err := s.AddPolicyVersion(t.Context(), doc(i), "admin")
				if err != nil {
					t.Errorf("AddPolicyVersion: %v", err)
					return
				}
				versions <- pv.Version
			})
		}
		wg.Wait()
		close(versions)
		var got []int64
		for v := range versions {
			got = append(got, v)
		}
		slices.Sort(got)
		return got
	}
	if got, want := add(func(int) []byte { return []byte(`{"default":true}`) }), slices.Repeat([]int64{1}, n); !slices.Equal(got, want) {
		t.Errorf("the same document stored at once: versions %v, want %v", got, want)
	}
	if got, want := add(func(i int) []byte { return fmt.Appendf(nil, `{"writer":%d}`, i) }), []int64{2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("different documents stored at once: versions %v, want %v", got, want)
	}
}
