package server

import (
	"math/rand/v2"
	"testing"
	"time"

	"qa-sampling/transcript"
)

func TestArrivalOrderWidensBatchesOfABackfill(t *testing.T) {
	base := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	items := func(ends []int) []pendingItem {
		out := make([]pendingItem, len(ends))
		for i, m := range ends {
			out[i] = pendingItem{prepared: &transcript.Prepared{Transcript: transcript.Transcript{EndedAt: base.Add(time.Duration(m) * time.Minute)}}}
		}
		return out
	}
	inOrder := make([]int, 5000)
	for i := range inOrder {
		inOrder[i] = i / 3 // ties: several chats end in the same minute
	}
	var o arrivalOrder
	o.note(items(inOrder))
	if got := o.batchLimit(512); got != 512 {
		t.Errorf("in time order: limit %d, want 512", got)
	}
	shuffled := rand.New(rand.NewPCG(1, 2)).Perm(5000)
	o.note(items(shuffled))
	if got := o.batchLimit(512); got != 512*backfillBatchFactor {
		t.Errorf("shuffled: limit %d, want %d", got, 512*backfillBatchFactor)
	}
	// Back in order, the window forgets the backfill.
	o.note(items(inOrder))
	o.note(items(inOrder))
	if got := o.batchLimit(512); got != 512 {
		t.Errorf("in order again: limit %d, want 512", got)
	}
	var fresh arrivalOrder
	fresh.note(items(shuffled[:100]))
	if got := fresh.batchLimit(512); got != 512 {
		t.Errorf("too few chats to judge: limit %d, want 512", got)
	}
}
