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
