package storetest

import (
	"maps"
	"testing"
	"time"

	"qa-sampling/store"
)

// backlogTests cover store.BacklogStore; Run adds them to its list.
var backlogTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"BacklogEmpty", testBacklogEmpty},
	{"Backlog", testBacklog},
}

// backlogOf reads s's backlog.
func backlogOf(t *testing.T, s store.Store) store.Backlog {
	t.Helper()
	b, err := s.Backlog(t.Context())
	if err != nil {
		t.Fatalf("Backlog: %v", err)
	}
	return b
}

// checkBacklog compares b with want; an absent status counts zero.
func checkBacklog(t *testing.T, what string, b, want store.Backlog) {
	t.Helper()
	got := map[store.PickStatus]int64{}
	for st, n := range b.OpenPicks {
		if n != 0 {
			got[st] = n
		}
	}
	if !maps.Equal(got, want.OpenPicks) {
		t.Errorf("%s: open picks %v, want %v", what, b.OpenPicks, want.OpenPicks)
	}
	if b.UnackedFeedback != want.UnackedFeedback || !b.OldestUnacked.Equal(want.OldestUnacked) || b.OpenDisputes != want.OpenDisputes {
		t.Errorf("%s: unacked %d (oldest %v), open disputes %d; want %d (oldest %v), %d", what,
			b.UnackedFeedback, b.OldestUnacked, b.OpenDisputes, want.UnackedFeedback, want.OldestUnacked, want.OpenDisputes)
	}
}

func testBacklogEmpty(t *testing.T, s store.Store) {
	checkBacklog(t, "empty store", backlogOf(t, s), store.Backlog{OpenPicks: map[store.PickStatus]int64{}})
}

// testBacklog walks picks through the workflow and checks that the
// backlog counts exactly the open ones: skipped and reviewed picks,
// acknowledged feedback and resolved disputes are not work.
func testBacklog(t *testing.T, s store.Store) {
	e := newScoring(t, s)
	ctx := t.Context()
	ps := e.picks(week47,
		pick("c1", "a1", "random", 1, "qa-1"), pick("c2", "a1", "random", 2, "qa-1"),
		pick("c3", "a2", "random", 1, "qa-2"), pick("c4", "a2", "random", 2, ""),
		pick("c5", "a3", "random", 1, "qa-3"))
	checkBacklog(t, "after sampling", backlogOf(t, s), store.Backlog{
		OpenPicks: map[store.PickStatus]int64{store.PickAssigned: 4, store.PickPool: 1},
	})

	skipped := ps["c5"]
	skipped.Status, skipped.SkipReason = store.PickSkipped, "not a real chat"
	if _, err := e.s.UpdatePick(ctx, skipped.ID, store.PickAssigned, skipped); err != nil {
		t.Fatalf("skip: %v", err)
	}
	r1, fb1 := e.finalize(e.finalOf(ps["c1"], "qa-1", 40, "F"), store.Feedback{CoachingRequired: true})
	time.Sleep(2 * time.Millisecond) // so that the oldest record is told apart by its time
	_, fb2 := e.finalize(e.finalOf(ps["c2"], "qa-1", 90, "A"), store.Feedback{})
	checkBacklog(t, "after two finalisations", backlogOf(t, s), store.Backlog{
		OpenPicks:       map[store.PickStatus]int64{store.PickAssigned: 1, store.PickPool: 1},
		UnackedFeedback: 2, OldestUnacked: fb1.CreatedAt,
	})

	if _, err := e.s.AcknowledgeFeedback(ctx, fb1.ID, "sup-1", ""); err != nil {
		t.Fatal(err)
	}
	d, err := e.s.OpenDispute(ctx, store.Dispute{ReviewID: r1.ID, OpenedBy: "sup-1", Reason: "r", AssigneeID: "qa-2"})
	if err != nil {
		t.Fatal(err)
	}
	checkBacklog(t, "after an acknowledgement and a dispute", backlogOf(t, s), store.Backlog{
		OpenPicks:       map[store.PickStatus]int64{store.PickAssigned: 1, store.PickPool: 1, store.PickDisputed: 1},
		UnackedFeedback: 1, OldestUnacked: fb2.CreatedAt, OpenDisputes: 1,
	})

	rescore := e.finalOf(ps["c1"], "qa-2", 70, "C")
	rescore.DisputeID = d.ID
	_, fb3 := e.finalize(rescore, store.Feedback{})
	if _, err := e.s.AcknowledgeFeedback(ctx, fb2.ID, "sup-1", ""); err != nil {
		t.Fatal(err)
	}
	checkBacklog(t, "after the dispute's resolution", backlogOf(t, s), store.Backlog{
		OpenPicks:       map[store.PickStatus]int64{store.PickAssigned: 1, store.PickPool: 1},
		UnackedFeedback: 1, OldestUnacked: fb3.CreatedAt,
	})
}
