package server

import (
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestQueueFiltersByReason: the console's queue filter. Every item listed
// has the reason asked; the reasons together give back the whole queue;
// a reason that is not an id is refused naming the field.
func TestQueueFiltersByReason(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	for id, ctx := range e.inspectors {
		all, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		byReason := map[string]int{}
		for _, it := range all.GetItems() {
			byReason[it.GetReason()]++
		}
		for reason, n := range byReason {
			got, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{Reason: reason})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.GetItems()) != n {
				t.Fatalf("%s: %d items of reason %s, want %d", id, len(got.GetItems()), reason, n)
			}
			for _, it := range got.GetItems() {
				if it.GetReason() != reason {
					t.Fatalf("%s: reason filter %s listed %v", id, reason, it)
				}
			}
		}
		none, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{Reason: "no_such_rule"})
		if err != nil || len(none.GetItems()) != 0 {
			t.Fatalf("unknown reason: %v, %v", none.GetItems(), err)
		}
		_, err = e.review.ListQueue(ctx, &qav1.ListQueueRequest{Reason: "投诉 x\n"})
		wantField(t, err, "reason")
	}
}

// TestOpenItemNamesTheAgents: the review page shows the agents' directory
// names; an agent the directory does not know is left out.
func TestOpenItemNamesTheAgents(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	it, ctx := e.itemOf(t, "agent-a")
	resp, err := e.review.OpenItem(ctx, &qav1.OpenItemRequest{Id: it.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetAgentNames(); len(got) != 1 || got["agent-a"] != "A" {
		t.Fatalf("agent names %v, want agent-a: A", got)
	}
}
