package e2e

import (
	"testing"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestDeactivatedInspector: deactivating an inspector (`qactl inspector
// add ID --inactive`) refuses their every call, with the token they had
// and with a new one, and takes their open items from them: assigned ones
// to another inspector (or the pool), without their draft, and the
// dispute they were to re-score to an inspector other than the reviewer;
// audited (issue 8, defect 8; pick.reassign since issue 9, as an admin's
// move to the pool). Before, an inactive inspector kept
// finalising and releasing, and their items stayed in their queue.
func TestDeactivatedInspector(t *testing.T) {
	w := newWorld(t, backends(t)[0].dsn, defaultOrg)
	w.setupGRPC()
	const week = "2026-W43"
	w.pushWeek(week, 3)
	picks := w.runWeek(week)
	const gone, reviewer, spare = "insp-1", "insp-2", "insp-3"
	var mine, reviewers []*qav1.Pick
	for _, p := range picks {
		switch {
		case p.GetInspectorId() == gone && p.GetStatus() == "assigned":
			mine = append(mine, p)
		case p.GetInspectorId() == reviewer && p.GetStatus() == "assigned":
			reviewers = append(reviewers, p)
		}
	}
	if len(mine) < 2 || len(reviewers) == 0 {
		t.Fatalf("%s has %d items and %s %d; want 2 and 1", gone, len(mine), reviewer, len(reviewers))
	}
	spec := "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4"
	if _, err := w.c.review.SubmitReview(w.as(gone), &qav1.SubmitReviewRequest{ItemId: mine[0].GetId(), Ratings: ratingsProto(t, "attitude=2")}); err != nil {
		t.Fatalf("%s's draft: %v", gone, err)
	}
	// A dispute for gone to re-score: with spare away, the rules leave no
	// one else (never the reviewer).
	upsert := func(id string, active bool) *qav1.UpsertInspectorResponse {
		t.Helper()
		resp, err := w.c.sampling.UpsertInspector(w.admin(), &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id, Name: "Inspector " + id, Active: &active}})
		if err != nil {
			t.Fatalf("UpsertInspector %s active=%v: %v", id, active, err)
		}
		return resp
	}
	upsert(spare, false)
	contested := w.finalize(reviewers[0], spec)
	sup := "sup-a"
	if contested.GetReview().GetAgentId() == "b1" {
		sup = "sup-b"
	}
	d, err := w.c.feedback.OpenDispute(w.as(sup), &qav1.OpenDisputeRequest{ReviewId: contested.GetReview().GetId(), Reason: "the customer confirmed"})
	if err != nil || d.GetDispute().GetAssigneeId() != gone {
		t.Fatalf("dispute: %v %v; want it assigned to %s", d, err, gone)
	}
	upsert(spare, true)

	// Deactivate through qactl.
	out := w.qactlOK("qa-lead", "--json", "inspector", "add", gone, "--name", "Inspector "+gone, "--inactive")
	resp := &qav1.UpsertInspectorResponse{}
	unmarshalJSON(t, out, resp)
	if resp.GetInspector().GetActive() {
		t.Fatalf("qactl inspector add --inactive printed %v", resp)
	}
	returned := map[int64]*qav1.Pick{}
	for _, p := range resp.GetReturnedItems() {
		returned[p.GetId()] = p
		if p.GetInspectorId() == gone {
			t.Errorf("returned item %d is still %s's: %v", p.GetId(), gone, p)
		}
	}
	for _, p := range mine {
		if got := returned[p.GetId()]; got == nil || (got.GetStatus() != "assigned" && got.GetStatus() != "pool") {
			t.Errorf("%s's item %d after deactivation: %v; want returned, assigned to another or in the pool", gone, p.GetId(), got)
		}
	}
	if got := returned[contested.GetReview().GetItemId()]; got == nil || got.GetStatus() != "disputed" || got.GetInspectorId() != spare {
		t.Errorf("the disputed item after deactivation: %v; want disputed to %s (not the reviewer %s)", got, spare, reviewer)
	}
	for _, p := range w.picks(week) {
		if p.GetInspectorId() == gone && (p.GetStatus() == "assigned" || p.GetStatus() == "disputed") {
			t.Errorf("item %d is still open in %s's queue: %v", p.GetId(), gone, p)
		}
	}
	// The draft is not handed on.
	if next := returned[mine[0].GetId()]; next.GetStatus() == "assigned" {
		opened, err := w.c.review.OpenItem(w.as(next.GetInspectorId()), &qav1.OpenItemRequest{Id: next.GetId()})
		if err != nil || opened.GetDraft() != nil {
			t.Errorf("%s opening %s's former item: draft %v, %v; want none", next.GetInspectorId(), gone, opened.GetDraft(), err)
		}
	}
	events := w.auditEvents()
	for id := range returned {
		action, entity, entityID := "pick.reassign", "pick", id
		if id == contested.GetReview().GetItemId() {
			action, entity, entityID = "dispute.reassign", "dispute", d.GetDispute().GetId()
		}
		if !hasAudit(events, action, entity, entityID, "qa-lead") {
			t.Errorf("no %s audit event for %s %d", action, entity, entityID)
		}
	}

	// Every call is refused, with the old token and with a new one.
	fresh := w.srv.token("inspector", gone)
	item := mine[1].GetId()
	for _, tok := range []string{w.tokens[gone], fresh} {
		ctx := withToken(t.Context(), tok)
		for name, call := range map[string]func() error{
			"ListQueue": func() error { _, err := w.c.review.ListQueue(ctx, &qav1.ListQueueRequest{}); return err },
			"OpenItem":  func() error { _, err := w.c.review.OpenItem(ctx, &qav1.OpenItemRequest{Id: item}); return err },
			"SubmitReview final": func() error {
				_, err := w.c.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: item, Ratings: ratingsProto(t, spec), Final: true})
				return err
			},
			"ReleaseItem": func() error { _, err := w.c.review.ReleaseItem(ctx, &qav1.ReleaseItemRequest{Id: item}); return err },
			"SkipItem": func() error {
				_, err := w.c.review.SkipItem(ctx, &qav1.SkipItemRequest{Id: item, Reason: "spam"})
				return err
			},
			"GetReview": func() error { _, err := w.c.review.GetReview(ctx, &qav1.GetReviewRequest{Id: 1}); return err },
			"GetRubric": func() error { _, err := w.c.rubric.GetRubric(ctx, &qav1.GetRubricRequest{}); return err },
		} {
			if err := call(); codeOf(err) != codes.PermissionDenied {
				t.Errorf("deactivated %s's %s: %v, want PERMISSION_DENIED", gone, name, err)
			}
		}
	}

	// Reactivated, they work again, with an empty queue.
	upsert(gone, true)
	q, err := w.c.review.ListQueue(withToken(t.Context(), fresh), &qav1.ListQueueRequest{})
	if err != nil {
		t.Fatalf("reactivated %s's ListQueue: %v", gone, err)
	}
	for _, p := range q.GetItems() {
		if _, was := returned[p.GetId()]; was {
			t.Errorf("reactivated %s got back item %d", gone, p.GetId())
		}
	}
}
