package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"qa-sampling/store"
	"qa-sampling/transcript"
	"reflect"
	"testing"
	"time"
)

func testDictionaries(t *testing.T, s store.Store) {
	ctx := t.Context()
	if ds, err := s.Dictionaries(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("Dictionaries on an empty store = %v, %v", ds, err)
	}
	first := transcript.Dictionary{ID: 40001, Data: []byte("first\x00\xffdictionary")}
	second := transcript.Dictionary{ID: 40000, Data: []byte("second")}
	for _, d := range []transcript.Dictionary{first, second} {
		if err := s.AddDictionary(ctx, d); err != nil {
			t.Fatalf("AddDictionary(%d): %v", d.ID, err)
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	if err := s.AddDictionary(ctx, transcript.Dictionary{ID: first.ID, Data: []byte("other")}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddDictionary(existing id) = %v, want ErrConflict", err)
	}
	got, err := s.Dictionaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []transcript.Dictionary{first, second}) {
		t.Fatalf("Dictionaries = %v, want oldest first %v", got, []transcript.Dictionary{first, second})
	}
}

func testSampleBodies(t *testing.T, s store.Store) {
	ctx := t.Context()
	if bodies, err := s.SampleBodies(ctx, 10); err != nil || len(bodies) != 0 {
		t.Fatalf("SampleBodies on an empty store = %d bodies, %v", len(bodies), err)
	}
	if err := ensure(ctx, s, []string{"a1"}); err != nil {
		t.Fatal(err)
	}
	var items []*transcript.Prepared
	for i := range 5 {
		items = append(items, prepare(conversation(fmt.Sprintf("sample-%d", i), "a1")))
	}
	if _, err := s.UpsertTranscripts(ctx, items); err != nil {
		t.Fatal(err)
	}
	bodies, err := s.SampleBodies(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 3 {
		t.Fatalf("SampleBodies(3) returned %d bodies", len(bodies))
	}
	for i, b := range bodies { // the newest first
		if want := items[4-i].Body; !bytes.Equal(b, want) {
			t.Fatalf("body %d is not that of the %d-th newest transcript", i, i+1)
		}
	}
}
