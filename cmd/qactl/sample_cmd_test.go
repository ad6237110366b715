package main

import (
	"bytes"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// The text listing shows each pick's key as the server sends it (16 hex
// digits, leading zeros kept), so an auditor can compare it with openssl.
func TestPrintPicksShowsTheKey(t *testing.T) {
	var out bytes.Buffer
	picks := []*qav1.Pick{{Id: 7, ExternalId: "conv-10", AgentId: "agent-a", Reason: "random", Rank: 1,
		Key: "0d481fefbf05547f", InspectorId: "insp-1", Status: "assigned"}}
	if err := printPicks(&out, picks, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "KEY") || !strings.Contains(lines[1], " 0d481fefbf05547f ") {
		t.Fatalf("printPicks:\n%s\nwant a KEY column holding 0d481fefbf05547f", out.String())
	}
}
