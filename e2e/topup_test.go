package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestTopUpOfLateChats: chats pushed after a week's run were never
// sampled (issue 9 §1.3). On a real qad, each backend: a top-up before the
// run is refused; after late pushes, the dry run shows what a top-up would
// add, `sample run --top-up` picks from the late chats only, a second
// top-up adds nothing, the run lists both and the audit trail has them.
func TestTopUpOfLateChats(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testTopUpOfLateChats(t, b.dsn) })
	}
}

// topUpRunJSON is what `qactl --json sample run` prints.
type topUpRunJSON struct {
	Run struct {
		ID         string `json:"id"`
		Picks      int    `json:"picks"`
		TotalPicks int    `json:"total_picks"`
		TopUps     []struct {
			Seq        int    `json:"seq"`
			Trigger    string `json:"trigger"`
			Picks      int    `json:"picks"`
			Considered int    `json:"considered"`
		} `json:"top_ups"`
	} `json:"run"`
	TopUp struct {
		Seq        int `json:"seq"`
		Picks      int `json:"picks"`
		Considered int `json:"considered"`
		Shortfalls int `json:"shortfalls"`
	} `json:"top_up"`
}

func testTopUpOfLateChats(t *testing.T, dsn string) {
	const week = "2026-W47"
	srv := startServer(t, dsn, "--sample-schedule", "off")
	admin, ingestToken := srv.token("admin", "qa-lead"), srv.token("ingest", "platform")
	ctx := withToken(t.Context(), ingestToken)
	client := srv.client(ingestToken)
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor("a1", "a2", "a3")}); err != nil {
		t.Fatal(err)
	}
	pushed := 0
	push := func(agent string, n int) map[string]bool {
		t.Helper()
		ids := map[string]bool{}
		for range n {
			pushed++
			id := fmt.Sprintf("late-test-%03d", pushed)
			if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: chat(id, agent, 2)}); err != nil {
				t.Fatal(err)
			}
			ids[id] = true
		}
		return ids
	}
	qactl := func(args ...string) string {
		t.Helper()
		out, errOut, code := srv.qactl(admin, args...)
		if code != 0 {
			t.Fatalf("qactl %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	runJSON := func(args ...string) topUpRunJSON {
		t.Helper()
		var r topUpRunJSON
		if err := json.Unmarshal([]byte(qactl(append([]string{"--json"}, args...)...)), &r); err != nil {
			t.Fatalf("qactl %v: %v", args, err)
		}
		return r
	}

	push("a1", 2)
	push("a2", 6)
	if out, errOut, code := srv.qactl(admin, "sample", "run", "--week", week, "--top-up"); code != 3 || !strings.Contains(errOut, "FAILED_PRECONDITION") ||
		!strings.Contains(errOut, "run it first") {
		t.Errorf("top-up before the run: exit %d\n%s%s\nwant 3 and FAILED_PRECONDITION saying to run it first", code, out, errOut)
	}
	run := runJSON("sample", "run", "--week", week)
	if run.Run.Picks != 7 {
		t.Fatalf("run picked %d, want a1's 2 and a2's 5", run.Run.Picks)
	}
	before := map[string]bool{}
	for _, p := range parsePicks(t, qactl("--json", "sample", "list", "--week", week)) {
		before[p.ExternalID+"/"+p.AgentID] = true
	}

	late := push("a1", 5)
	for id := range push("a3", 3) {
		late[id] = true
	}
	if out := qactl("sample", "run", "--week", week, "--dry-run"); !strings.Contains(out, "a top-up now would add 6 picks") {
		t.Errorf("dry run of the run week:\n%s\nwant what a top-up would add: 3 of a1, 3 of a3", out)
	}
	first := runJSON("sample", "run", "--week", week, "--top-up")
	if first.TopUp.Seq != 1 || first.TopUp.Picks != 6 || first.TopUp.Considered != 8 || first.TopUp.Shortfalls != 1 || first.Run.TotalPicks != 13 {
		t.Errorf("first top-up %+v, run total %d; want seq 1, 6 picks of the 8 late chats, a3 short, 13 in all", first.TopUp, first.Run.TotalPicks)
	}
	picks := parsePicks(t, qactl("--json", "sample", "list", "--week", week))
	seen := map[string]bool{}
	for _, p := range picks {
		k := p.ExternalID + "/" + p.AgentID
		if seen[k] {
			t.Errorf("%s picked twice", k)
		}
		seen[k] = true
		if !before[k] && !late[p.ExternalID] {
			t.Errorf("the top-up picked %s, not a late chat", k)
		}
	}
	if len(picks) != 13 {
		t.Errorf("%d picks after the top-up, want 13", len(picks))
	}

	if out := qactl("sample", "run", "--week", week, "--top-up"); !strings.Contains(out, "top-up 2 of run "+run.Run.ID) ||
		!strings.Contains(out, ": 0 picks added from 0 chats") {
		t.Errorf("second top-up:\n%s\nwant top-up 2 adding nothing", out)
	}
	show := qactl("sample", "run", "show", run.Run.ID)
	if !strings.Contains(show, "picks: 7 by the run, 13 in all with top-ups") || !strings.Contains(show, "\n1 ") ||
		!strings.Contains(show, "\n2 ") || strings.Count(show, "manual:qa-lead") != 3 {
		t.Errorf("sample run show:\n%s\nwant both top-ups and the totals", show)
	}
	var listed topUpRunJSON
	if err := json.Unmarshal([]byte(qactl("--json", "sample", "runs", "--week", week)), &listed.Run); err != nil {
		t.Fatal(err)
	}
	if len(listed.Run.TopUps) != 2 || listed.Run.TopUps[0].Picks != 6 || listed.Run.TopUps[1].Picks != 0 {
		t.Errorf("sample runs --json: %+v, want the two top-ups", listed.Run)
	}

	var topUps []auditLine
	for line := range strings.Lines(qactl("--json", "audit", "list", "--all", "--entity", "run")) {
		var ev auditLine
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Action == "run.top_up" {
			topUps = append(topUps, ev)
		}
	}
	if len(topUps) != 2 || topUps[0].Actor != "qa-lead" || topUps[0].EntityID != run.Run.ID ||
		!strings.Contains(topUps[0].Detail, `"week":"2026-W47"`) || !strings.Contains(topUps[0].Detail, `"picks_added":6`) {
		t.Errorf("run.top_up audit events: %+v", topUps)
	}
}
