package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestAgentsImport(t *testing.T) {
	fake := &fakeIngest{}
	addr := startFake(t, fake)
	var input strings.Builder
	const total = 2503
	for line := 1; line <= total; line++ {
		switch line {
		case 2:
			input.WriteString(`{"agent_id":"a-2","hired_on":"2025-13-01"}` + "\n")
		case 1500:
			input.WriteString(`{"agent_id":"bad-1500","supervisor_id":"nobody"}` + "\n")
		case 1501:
			input.WriteString("\n")
		case 2000:
			input.WriteString(`{"agent_id":"a-2000","Teams":"t"}` + "\n")
		case 3:
			input.WriteString(`{"agent_id":"upd-3","name":"Wang Fang","team_id":"t1","supervisor_id":"s1","hired_on":"2024-01-02","active":false}` + "\n")
		case 4:
			input.WriteString(`{"agent_id":"same-4","name":"Li Na","team_id":"t1","supervisor_id":"s1","hired_on":"2025-03-01"}` + "\n")
		default:
			fmt.Fprintf(&input, `{"agent_id":"a-%d","name":"Agent %d","team_id":"t1","supervisor_id":"s1","hired_on":"2025-03-01"}`+"\n", line, line)
		}
	}

	res := runQactl(t, "", "--addr", addr, "--token", "tok", "agents", "import", "--file", writeFile(t, "agents.jsonl", input.String()))

	if res.code != exitRejected {
		t.Errorf("exit status %d, want %d; stderr:\n%s", res.code, exitRejected, res.stderr)
	}
	wantStderr := "line 2: hired_on: not a date as YYYY-MM-DD: \"2025-13-01\"\n" +
		"line 1500: supervisor_id: unknown supervisor\n" +
		"line 2000: Teams: unknown field\n"
	if res.stderr != wantStderr {
		t.Errorf("stderr:\n%s\nwant:\n%s", res.stderr, wantStderr)
	}
	// 2503 lines: 1 blank, 2 rejected on the client, 1 by the server.
	if want := "2497 created, 1 updated, 1 unchanged, 3 rejected\n"; res.stdout != want {
		t.Errorf("stdout = %q, want %q", res.stdout, want)
	}
	var sizes []int
	for _, call := range fake.agentCalls {
		sizes = append(sizes, len(call))
	}
	if want := []int{1000, 1000, 500}; !slices.Equal(sizes, want) {
		t.Errorf("UpsertAgents chunk sizes %v, want %v", sizes, want)
	}
	first := fake.agentCalls[0]
	if a := first[1]; a.GetAgentId() != "upd-3" || a.Active == nil || a.GetActive() {
		t.Errorf("agent of line 3 = %v, want active false", a)
	}
	if a := first[2]; a.GetAgentId() != "same-4" || a.Active == nil || !a.GetActive() {
		t.Errorf("agent of line 4 = %v, want active true (absent)", a)
	}
	for _, auth := range fake.authorization {
		if auth != "Bearer tok" {
			t.Errorf("authorization %q, want %q", auth, "Bearer tok")
		}
	}

	res = runQactl(t, `{"agent_id":"a1"}`+"\n", "--addr", addr, "--json", "agents", "import", "--file", "-")
	if res.code != exitOK || strings.TrimSpace(res.stdout) != `{"created":1,"updated":0,"unchanged":0,"rejected":0}` {
		t.Errorf("--json: exit %d, stdout %q", res.code, res.stdout)
	}
}
