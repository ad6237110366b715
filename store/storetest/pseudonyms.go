package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"qa-sampling/store"
)

// testPseudonymKey: the first candidate is stored and every later call,
// concurrent ones too, gets it back, whatever candidate it brings.
func testPseudonymKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.PseudonymKey(ctx, nil); err == nil {
		t.Fatal("PseudonymKey(no candidate) succeeded")
	}
	first := bytes.Repeat([]byte{0x01, 0xfe, 0x00}, 11)
	got, err := s.PseudonymKey(ctx, first)
	if err != nil || !bytes.Equal(got, first) {
		t.Fatalf("first PseudonymKey = %x, %v; want the candidate %x", got, err, first)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			key, err := s.PseudonymKey(ctx, bytes.Repeat([]byte{byte(i + 2)}, 32))
			if err != nil || !bytes.Equal(key, first) {
				errs <- fmt.Errorf("PseudonymKey %d = %x, %w; want the stored %x", i, key, err, first)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testPseudonymKeyFirstCalls: calls racing on an empty store, each with
// its own candidate (replicas starting on a new database), all get one
// key, one of the candidates, and later calls get it too.
func testPseudonymKeyFirstCalls(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = s.PseudonymKey(ctx, bytes.Repeat([]byte{byte(i + 1)}, 32))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("racing PseudonymKey %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("racing PseudonymKey %d = %x, but call 0 got %x: two keys in use", i, keys[i], keys[0])
		}
	}
	if len(keys[0]) != 32 || bytes.Count(keys[0], keys[0][:1]) != 32 || keys[0][0] < 1 || keys[0][0] > n {
		t.Fatalf("the key %x is none of the candidates", keys[0])
	}
	later, err := s.PseudonymKey(ctx, bytes.Repeat([]byte{0xff}, 32))
	if err != nil || !bytes.Equal(later, keys[0]) {
		t.Fatalf("a later PseudonymKey = %x, %v; want the stored %x", later, err, keys[0])
	}
}
