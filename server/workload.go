package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/assign"
	"qa-sampling/dispute"
	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// Workload (SPEC §2): an admin moves open items between inspectors, one
// item or all of one inspector's, to a named inspector or back to the
// pool; deactivating an inspector moves all of theirs to the pool. One
// set of rules serves both:
//   - only open items move: assigned, in the pool, or disputed (a
//     re-scoring); a finalised or skipped item stays;
//   - never to the agent's own supervisor, and a re-scoring never to the
//     inspector who wrote the contested review;
//   - "the pool" means the assignment rules choose, as on release: the
//     least loaded eligible inspector other than the one the item leaves,
//     and the pool itself only when no one may take it (a re-scoring
//     then stays where it is);
//   - drafts stay with their author: whoever takes the item scores it
//     afresh, and the author finds their draft again if it comes back.
// The store audits each move: pick.reassign, or dispute.reassign for a
// re-scoring.

// moveTarget is where reassigned items go: a named inspector, or the pool.
type moveTarget struct {
	inspectorID string
	pool        bool
}

// unmovedItem is an item a reassignment left where it was.
type unmovedItem struct {
	pick   store.Pick
	reason string
	// byTarget: the named inspector may not take this item (rather than
	// the item being unable to move at all).
	byTarget bool
}

type reassignResult struct {
	moved    []store.Pick // as they are now, in id order
	notMoved []unmovedItem
}

// agentFacts is what the rules need to know about a pick's agent.
type agentFacts struct {
	supervisorID string
	recent       []string // the agent's recent inspectors, newest first
}

// reassignItems moves picks to target by the rules above. note carries the
// audit's actor, reason and bulk flag; its Moves are filled here.
func reassignItems(ctx context.Context, st Storage, picks []store.Pick, target moveTarget, note store.Reassignment) (reassignResult, error) {
	var res reassignResult
	loads, err := st.InspectorLoads(ctx) // active inspectors only
	if err != nil {
		return res, err
	}
	facts := map[string]agentFacts{}
	factsOf := func(agentID string) (agentFacts, error) {
		if f, ok := facts[agentID]; ok {
			return f, nil
		}
		agent, err := st.GetAgent(ctx, agentID)
		if err != nil {
			return agentFacts{}, err
		}
		f := agentFacts{supervisorID: agent.SupervisorID}
		if target.pool { // rotation matters only where the rules choose
			if f.recent, err = st.RecentInspectorsOf(ctx, agentID, 3); err != nil {
				return agentFacts{}, err
			}
		}
		facts[agentID] = f
		return f, nil
	}
	// Count each move into the loads, so that a bulk move to the pool
	// spreads the items rather than giving them all to one inspector.
	account := func(from, to string) {
		if _, ok := loads[from]; ok && loads[from] > 0 {
			loads[from]--
		}
		if to != "" {
			loads[to]++
		}
	}
	leave := func(p store.Pick, byTarget bool, format string, args ...any) {
		res.notMoved = append(res.notMoved, unmovedItem{pick: p, reason: fmt.Sprintf(format, args...), byTarget: byTarget})
	}
	type disputeMove struct {
		pick      store.Pick
		disputeID int64
		to        string
	}
	var disputeMoves []disputeMove
	var movable []store.Pick // the picks of note.Moves
	for _, p := range picks {
		if p.Status != store.PickAssigned && p.Status != store.PickPool && p.Status != store.PickDisputed {
			leave(p, false, "item %d is %s; only open items (assigned, pool, disputed) move", p.ID, p.Status)
			continue
		}
		f, err := factsOf(p.AgentID)
		if err != nil {
			return res, err
		}
		reviewer := ""
		var d store.Dispute
		if p.Status == store.PickDisputed {
			if d, reviewer, err = openDisputeOf(ctx, st, p.ID); errors.Is(err, store.ErrNotFound) {
				leave(p, false, "item %d has no open dispute any more", p.ID)
				continue
			} else if err != nil {
				return res, err
			}
		}
		to := target.inspectorID
		if target.pool {
			others := maps.Clone(loads)
			delete(others, p.InspectorID) // never back to where it was
			if p.Status == store.PickDisputed {
				to = dispute.Assignee(dispute.Contested{ReviewID: d.ReviewID, InspectorID: reviewer}, others, f.supervisorID, f.recent)
			} else {
				to = assign.New(others).Assign(f.supervisorID, f.recent)
			}
		}
		switch {
		case target.pool && to == "" && p.Status == store.PickPool:
			leave(p, false, "no other inspector may take item %d; it stays in the pool", p.ID)
			continue
		case target.pool && to == "" && p.Status == store.PickDisputed:
			leave(p, false, "no other inspector may re-score item %d (not the contested review's author %s, nor agent %s's supervisor)",
				p.ID, fielderr.Quote(reviewer), fielderr.Quote(p.AgentID))
			continue
		case to != "" && to == p.InspectorID:
			leave(p, true, "item %d is already with %s", p.ID, fielderr.Quote(to))
			continue
		case to != "" && to == f.supervisorID:
			leave(p, true, "%s supervises agent %s, whose item %d is", fielderr.Quote(to), fielderr.Quote(p.AgentID), p.ID)
			continue
		case to != "" && to == reviewer:
			leave(p, true, "%s wrote the review item %d's dispute contests; a second opinion must be someone else's", fielderr.Quote(to), p.ID)
			continue
		}
		account(p.InspectorID, to)
		if p.Status == store.PickDisputed {
			disputeMoves = append(disputeMoves, disputeMove{pick: p, disputeID: d.ID, to: to})
		} else {
			note.Moves = append(note.Moves, store.PickMove{PickID: p.ID, From: p.InspectorID, To: to})
			movable = append(movable, p)
		}
	}

	if len(note.Moves) > 0 {
		moved, err := st.ReassignPicks(ctx, note)
		if err != nil {
			return res, err
		}
		res.moved = append(res.moved, moved...)
		done := make(map[int64]bool, len(moved))
		for _, m := range moved {
			done[m.ID] = true
		}
		for _, p := range movable {
			if !done[p.ID] {
				leave(p, false, "item %d changed meanwhile (finalised, skipped or moved)", p.ID)
			}
		}
	}
	for _, m := range disputeMoves {
		if _, err := st.ReassignDispute(ctx, m.disputeID, m.pick.InspectorID, m.to, note.MoveNote); errors.Is(err, store.ErrConflict) {
			leave(m.pick, false, "item %d changed meanwhile (its dispute was resolved or moved)", m.pick.ID)
			continue
		} else if err != nil {
			return res, err
		}
		now, ok, err := findPick(ctx, st, m.pick.ID)
		if err != nil {
			return res, err
		}
		if ok {
			res.moved = append(res.moved, now)
		}
	}
	slices.SortFunc(res.moved, func(a, b store.Pick) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(res.notMoved, func(a, b unmovedItem) int { return cmp.Compare(a.pick.ID, b.pick.ID) })
	return res, nil
}

// openDisputeOf returns the open dispute of a disputed pick and the author
// of the review it contests; ErrNotFound if none is open.
func openDisputeOf(ctx context.Context, st Storage, pickID int64) (store.Dispute, string, error) {
	ds, err := st.ListDisputes(ctx, store.DisputeFilter{PickID: pickID, Status: store.DisputeOpen, Limit: 1})
	if err != nil {
		return store.Dispute{}, "", err
	}
	if len(ds) == 0 {
		return store.Dispute{}, "", fmt.Errorf("open dispute of item %d: %w", pickID, store.ErrNotFound)
	}
	rv, err := st.GetReview(ctx, ds[0].ReviewID)
	if err != nil {
		return store.Dispute{}, "", err
	}
	return ds[0], rv.InspectorID, nil
}

// openItemsOf lists an inspector's open items in id order: assigned ones
// and disputed ones waiting for them to re-score.
func openItemsOf(ctx context.Context, st Storage, inspectorID string) ([]store.Pick, error) {
	var out []store.Pick
	for _, status := range []store.PickStatus{store.PickAssigned, store.PickDisputed} {
		picks, err := st.ListPicks(ctx, store.PickFilter{InspectorID: inspectorID, Status: status})
		if err != nil {
			return nil, err
		}
		out = append(out, picks...)
	}
	slices.SortFunc(out, func(a, b store.Pick) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// findPick returns pick id, a primary-key lookup; ok false if there is none.
func findPick(ctx context.Context, st Storage, id int64) (store.Pick, bool, error) {
	picks, err := st.ListPicks(ctx, store.PickFilter{AfterID: id - 1, Limit: 1})
	if err != nil || len(picks) == 0 || picks[0].ID != id {
		return store.Pick{}, false, err
	}
	return picks[0], true, nil
}

// ReassignItems moves one open item, or all of an inspector's, to
// another inspector or the pool.
func (s *samplingService) ReassignItems(ctx context.Context, req *qav1.ReassignItemsRequest) (*qav1.ReassignItemsResponse, error) {
	target, err := s.checkReassign(ctx, req)
	if err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	note := store.Reassignment{MoveNote: store.MoveNote{Actor: who.Subject, Reason: strings.TrimSpace(req.GetReason()),
		Bulk: req.GetFromInspectorId() != "" || req.GetFromPool()}}
	var picks []store.Pick
	switch {
	case req.GetFromPool():
		picks, err = s.store.ListPicks(ctx, store.PickFilter{Status: store.PickPool})
	case note.Bulk:
		picks, err = openItemsOf(ctx, s.store, req.GetFromInspectorId())
	default:
		var ok bool
		var p store.Pick
		p, ok, err = findPick(ctx, s.store, req.GetItemId())
		if err == nil && !ok {
			return nil, status.Errorf(codes.NotFound, "item %d not found", req.GetItemId())
		}
		picks = []store.Pick{p}
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	res, err := reassignItems(ctx, s.store, picks, target, note)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	if !note.Bulk && len(res.notMoved) > 0 {
		// One item asked for: its refusal is the answer.
		u := res.notMoved[0]
		if u.byTarget {
			return nil, badField("to_inspector_id", "%s", u.reason)
		}
		return nil, status.Error(codes.FailedPrecondition, u.reason)
	}
	out := &qav1.ReassignItemsResponse{}
	for _, p := range res.moved {
		out.Moved = append(out.Moved, pickToProto(p))
	}
	for _, u := range res.notMoved {
		out.NotMoved = append(out.NotMoved, &qav1.UnmovedItem{Item: pickToProto(u.pick), Reason: u.reason})
	}
	return out, nil
}

// checkReassign validates a ReassignItemsRequest: one source, one target,
// inspectors that exist (the target active).
func (s *samplingService) checkReassign(ctx context.Context, req *qav1.ReassignItemsRequest) (moveTarget, error) {
	var l fielderr.List
	from, to := req.GetFromInspectorId(), req.GetToInspectorId()
	switch {
	case req.GetItemId() < 0:
		l.Add("item_id", "must be positive")
	case req.GetItemId() == 0 && from == "" && !req.GetFromPool():
		l.Add("item_id", "required: the item to move, from_inspector_id for all of an inspector's open items, or from_pool")
	case req.GetItemId() != 0 && from != "":
		l.Add("from_inspector_id", "give item_id or from_inspector_id, not both")
	case req.GetFromPool() && (req.GetItemId() != 0 || from != ""):
		l.Add("from_pool", "give item_id, from_inspector_id or from_pool, only one")
	}
	switch {
	case to == "" && !req.GetToPool():
		l.Add("to_inspector_id", "required: the inspector to take the items, or to_pool")
	case to != "" && req.GetToPool():
		l.Add("to_pool", "give to_inspector_id or to_pool, not both")
	case to != "" && to == from:
		l.Add("to_inspector_id", "the same inspector as from_inspector_id")
	}
	l.ID("from_inspector_id", from, false)
	l.ID("to_inspector_id", to, false)
	l.Text("reason", strings.TrimSpace(req.GetReason()), fielderr.MaxNoteBytes, false)
	if err := invalidList(&l); err != nil {
		return moveTarget{}, err
	}
	if from != "" {
		if _, err := s.store.GetInspector(ctx, from); errors.Is(err, store.ErrNotFound) {
			l.Add("from_inspector_id", "no inspector %s", fielderr.Quote(from))
		} else if err != nil {
			return moveTarget{}, storeError(ctx, s.log, err)
		}
	}
	if to != "" {
		in, err := s.store.GetInspector(ctx, to)
		switch {
		case errors.Is(err, store.ErrNotFound):
			l.Add("to_inspector_id", "no inspector %s; register them with `qactl inspector add`", fielderr.Quote(to))
		case err != nil:
			return moveTarget{}, storeError(ctx, s.log, err)
		case !in.Active:
			l.Add("to_inspector_id", "inspector %s is inactive", fielderr.Quote(to))
		}
	}
	return moveTarget{inspectorID: to, pool: req.GetToPool()}, invalidList(&l)
}
