package main

import (
	"bytes"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestPrintCheckReportShowsEachChecksChats: each check's line shows the
// chats it ran on beside its rate, and a check that ran on none shows
// "-" instead of 0.0%.
func TestPrintCheckReportShowsEachChecksChats(t *testing.T) {
	var buf bytes.Buffer
	err := printCheckReport(&buf, &qav1.GetCheckReportResponse{
		Weeks: []string{"2026-W47"}, CheckSetVersion: 2, Chats: 6, Reviews: 0,
		Checks: []*qav1.CheckAgreement{
			{Check: "slow_first_response", Dimension: "efficiency"},
			{Check: "no_empathy", Dimension: "attitude", Chats: 4, Fired: 2, Rate: 0.5},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	if !strings.Contains(lines[0], "6 chats checked") {
		t.Errorf("header %q", lines[0])
	}
	var slow, empathy []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "slow_first_response" {
			slow = f
		}
		if len(f) > 0 && f[0] == "no_empathy" {
			empathy = f
		}
	}
	if len(slow) < 5 || slow[3] != "0" || slow[4] != "-" {
		t.Errorf("slow_first_response line %q; want 0 chats and no rate", slow)
	}
	if len(empathy) < 5 || empathy[2] != "2" || empathy[3] != "4" || empathy[4] != "50.0%" {
		t.Errorf("no_empathy line %q; want 2 fired of 4 chats, 50.0%%", empathy)
	}
}
