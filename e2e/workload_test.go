package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestWorkload walks issue 9 §2.1 through qactl against a real qad: the
// admin sees each inspector's open items, moves one item, moves all of an
// inspector's to another inspector and to the pool, and is refused moving
// items to their agent's own supervisor; the target inspectors find the
// items in their queues, which filter by week and status and page; every
// move is in the audit trail; only admins may move items.
func TestWorkload(t *testing.T) {
	w := newWorld(t, backends(t)[0].dsn, defaultOrg)
	w.setupGRPC()
	const week = "2026-W43"
	w.pushWeek(week, 3)
	picks := w.runWeek(week)
	// sup-a leads team-a (a1, a2) and also inspects, with a second token.
	w.qactlOK("qa-lead", "inspector", "add", "sup-a", "--name", "Team lead A")
	const supInspecting = "sup-a as inspector"
	w.tokens[supInspecting] = w.srv.token("inspector", "sup-a")

	inspectors := func() *qav1.ListInspectorsResponse {
		t.Helper()
		resp := &qav1.ListInspectorsResponse{}
		unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "inspector", "list"), resp)
		return resp
	}
	queue := func(inspector string, args ...string) []*qav1.Pick {
		t.Helper()
		return pickLines(t, w.qactlOK(inspector, append([]string{"--json", "review", "queue", "--all"}, args...)...))
	}
	openCount := func(resp *qav1.ListInspectorsResponse, id string) int {
		for _, in := range resp.GetInspectors() {
			if in.GetId() == id {
				if in.GetOpenItems() != in.GetAssignedItems()+in.GetDisputedItems() {
					t.Errorf("%s: open %d is not assigned %d + disputed %d", id, in.GetOpenItems(), in.GetAssignedItems(), in.GetDisputedItems())
				}
				return int(in.GetOpenItems())
			}
		}
		t.Fatalf("inspector %s not listed", id)
		return 0
	}

	// The counts are the queues.
	list := inspectors()
	for _, id := range orgInspectors {
		if got, want := openCount(list, id), len(queue(id)); got != want || want == 0 {
			t.Errorf("inspector list says %s has %d open items; their queue has %d", id, got, want)
		}
	}
	if list.GetPoolItems() != 0 || openCount(list, "sup-a") != 0 {
		t.Errorf("pool %d, sup-a %d open; want 0 and 0", list.GetPoolItems(), openCount(list, "sup-a"))
	}
	text := w.qactlOK("qa-lead", "inspector", "list")
	if !strings.Contains(text, "OPEN") || !strings.Contains(text, "DISPUTED") || !strings.Contains(text, "pool: 0 items") {
		t.Errorf("inspector list text:\n%s", text)
	}

	// One item of a1 to another inspector.
	item := picksOf(t, picks, "a1")[0]
	from, to := item.GetInspectorId(), "insp-1"
	if from == to {
		to = "insp-2"
	}
	id := strconv.FormatInt(item.GetId(), 10)
	out := w.qactlFails("qa-lead", []string{"INVALID_ARGUMENT"}, "review", "reassign", id, "--to", "sup-a")
	if !strings.Contains(out, "to_inspector_id") || !strings.Contains(out, "supervises agent") {
		t.Errorf("moving a1's item to sup-a: %s; want the field and why", out)
	}
	w.qactlFails("insp-1", []string{"PERMISSION_DENIED"}, "review", "reassign", id, "--to", to)
	w.qactlFails("sup-a", []string{"PERMISSION_DENIED"}, "review", "reassign", id, "--to", to)
	if out := w.qactlOK("qa-lead", "review", "reassign", id, "--to", to, "--reason", "rebalance"); !strings.Contains(out, "moved 1 items") {
		t.Errorf("review reassign printed:\n%s", out)
	}
	if !slices.ContainsFunc(queue(to), func(p *qav1.Pick) bool { return p.GetId() == item.GetId() }) ||
		slices.ContainsFunc(queue(from), func(p *qav1.Pick) bool { return p.GetId() == item.GetId() }) {
		t.Errorf("item %d is not in %s's queue alone", item.GetId(), to)
	}

	// All of insp-1's items to sup-a: team-a's stay, with the reason.
	held := queue("insp-1")
	resp := &qav1.ReassignItemsResponse{}
	unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "review", "reassign", "--from", "insp-1", "--to", "sup-a"), resp)
	if len(resp.GetMoved())+len(resp.GetNotMoved()) != len(held) {
		t.Fatalf("moving insp-1's %d items answered %d moved, %d not", len(held), len(resp.GetMoved()), len(resp.GetNotMoved()))
	}
	for _, p := range resp.GetMoved() {
		if p.GetAgentId() != "b1" || p.GetInspectorId() != "sup-a" {
			t.Errorf("moved to sup-a: %v", p)
		}
	}
	for _, u := range resp.GetNotMoved() {
		if a := u.GetItem().GetAgentId(); (a != "a1" && a != "a2") || !strings.Contains(u.GetReason(), "supervises agent") {
			t.Errorf("not moved: %v", u)
		}
	}
	if len(resp.GetMoved()) == 0 || len(resp.GetNotMoved()) == 0 {
		t.Errorf("insp-1 held %d items; want some of b1 moved and some of team-a refused: %v", len(held), resp)
	}
	if got := queue(supInspecting); len(got) != len(resp.GetMoved()) {
		t.Errorf("sup-a's queue has %d items, %d were moved there", len(got), len(resp.GetMoved()))
	}

	// All of sup-a's back to the pool: the rules hand them to others.
	resp = &qav1.ReassignItemsResponse{}
	unmarshalJSON(t, w.qactlOK("qa-lead", "--json", "review", "reassign", "--from", "sup-a", "--pool"), resp)
	for _, p := range resp.GetMoved() {
		if p.GetInspectorId() == "sup-a" || p.GetInspectorId() == "" || p.GetStatus() != "assigned" {
			t.Errorf("moved to the pool: %v; want with another inspector", p)
		}
	}
	list = inspectors()
	if openCount(list, "sup-a") != 0 || list.GetPoolItems() != 0 || len(resp.GetNotMoved()) != 0 {
		t.Errorf("after moving all of sup-a's to the pool: %d open, pool %d, not moved %v", openCount(list, "sup-a"), list.GetPoolItems(), resp.GetNotMoved())
	}
	total := 0
	for _, id := range append(slices.Clone(orgInspectors), "sup-a") {
		total += openCount(list, id)
	}
	if total != len(picks) {
		t.Errorf("%d open items after the moves; the run picked %d", total, len(picks))
	}

	// The queue filters and pages.
	mine := queue(to)
	if got := queue(to, "--week", week, "--status", "assigned", "--limit", "1"); !slices.EqualFunc(got, mine, samePick) {
		t.Errorf("%s's queue of %s a page at a time: %d items, whole %d", to, week, len(got), len(mine))
	}
	if got := queue(to, "--week", "2026-W40"); len(got) != 0 {
		t.Errorf("%s's queue of another week: %d items", to, len(got))
	}
	stdout, stderr, code := w.srv.qactl(w.tokens[to], "review", "queue", "--limit", "1")
	if code != 0 || strings.Count(stdout, "\n") != 2 || (len(mine) > 1 && !strings.Contains(stderr, "more items: --page-token")) {
		t.Errorf("review queue --limit 1: exit %d\n%s%s", code, stdout, stderr)
	}
	w.qactlFails(to, []string{"INVALID_ARGUMENT"}, "review", "queue", "--status", "reviewed")

	// Every move is audited.
	events := w.auditEvents()
	if !hasAudit(events, "pick.reassign", "pick", item.GetId(), "qa-lead") {
		t.Errorf("no pick.reassign event of item %d", item.GetId())
	}
	for _, p := range resp.GetMoved() {
		if !hasAudit(events, "pick.reassign", "pick", p.GetId(), "qa-lead") {
			t.Errorf("no pick.reassign event of item %d", p.GetId())
		}
	}
}

func samePick(a, b *qav1.Pick) bool { return a.GetId() == b.GetId() && a.GetStatus() == b.GetStatus() }
