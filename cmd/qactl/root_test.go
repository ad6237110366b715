package main

import (
	"strings"
	"testing"
)

// TestNewCommandsUsageErrors checks that bad command lines fail before
// any call: the address is a closed port, so a call would say UNAVAILABLE.
func TestNewCommandsUsageErrors(t *testing.T) {
	addr := closedPort(t)
	badRubric := writeFile(t, "rubric.json", `{"name": "x", "dimension": []}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rubric", "create", "--file", badRubric}, "qactl: --file: "},
		{[]string{"rubric", "create"}, `qactl: required flag(s) "file" not set`},
		{[]string{"rubric", "activate", "0"}, "qactl: ID \"0\" is not a number from `rubric list`"},
		{[]string{"dispute", "open", "9"}, `qactl: required flag(s) "reason" not set`},
		{[]string{"feedback", "ack", "x"}, "qactl: ID \"x\" is not a number from `feedback list`"},
		{[]string{"feedback", "list", "--limit", "many"}, `qactl: invalid argument "many" for "--limit"`},
		{[]string{"report", "agent"}, "qactl: accepts 1 arg(s), received 0"},
		{[]string{"review", "submit", "17", "--rating", "attitude=x"}, "qactl: --rating attitude=x: "},
	} {
		res := runQactl(t, "", append([]string{"--addr", addr}, tc.args...)...)
		if res.code != exitFailure || !strings.HasPrefix(res.stderr, tc.want) {
			t.Errorf("qactl %v: exit %d, stderr %q; want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}
