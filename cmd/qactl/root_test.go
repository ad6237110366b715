package main

import (
	"net"
	"path/filepath"
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
		{[]string{"checks", "rerun-status", "x"}, "qactl: ID \"x\" is not a number from `checks reruns`"},
		{[]string{"feedback", "list", "--limit", "many"}, `qactl: invalid argument "many" for "--limit"`},
		{[]string{"report", "agent"}, "qactl: accepts 1 arg(s), received 0"},
		{[]string{"review", "submit", "17", "--rating", "attitude=x"}, "qactl: --rating attitude=x: "},
	} {
		res := runQactl(t, "", append([]string{"--addr", addr}, tc.args...)...)
		if res.code != exitUsage || !strings.HasPrefix(res.stderr, tc.want) {
			t.Errorf("qactl %v: exit %d, stderr %q; want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
}

func TestTokenAndAddressFromEnvironment(t *testing.T) {
	fake := &fakeIngest{wantToken: "from-env"}
	addr := startFake(t, fake)
	t.Setenv(envAddr, addr)
	t.Setenv(envToken, "from-env")

	res := runQactl(t, transcriptJSON("ok-1")+"\n", "ingest", "--file", "-")

	if res.code != exitOK {
		t.Fatalf("exit status %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	// A flag beats the environment.
	res = runQactl(t, transcriptJSON("ok-1")+"\n", "--token", "flag", "ingest", "--file", "-")
	if res.code != exitRPC || !strings.Contains(res.stderr, "UNAUTHENTICATED") {
		t.Errorf("with --token flag: exit %d, stderr %q; want UNAUTHENTICATED", res.code, res.stderr)
	}
}

func TestConnectionRefusedExits2(t *testing.T) {
	res := runQactl(t, transcriptJSON("ok-1")+"\n", "--addr", closedPort(t), "ingest", "--file", "-")

	if res.code != exitRPC {
		t.Errorf("exit status %d, want %d", res.code, exitRPC)
	}
	if !strings.HasPrefix(res.stderr, "qactl: UNAVAILABLE: ") {
		t.Errorf("stderr = %q, want UNAVAILABLE", res.stderr)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"ingest"}, // --file missing
		{"ingest", "--file", "/nonexistent/x.jsonl"}, // unreadable
		{"frobnicate"},
		{"--cert-file", "c.pem", "ingest", "--file", "-"}, // --key-file missing
		{"transcript", "get"},
	} {
		res := runQactl(t, "", args...)
		if res.code != exitUsage || !strings.HasPrefix(res.stderr, "qactl: ") {
			t.Errorf("qactl %v: exit %d, stderr %q; want 2 and a qactl: message", args, res.code, res.stderr)
		}
	}
}

// Each exit status means one kind of outcome, and --help lists them.
func TestExitStatuses(t *testing.T) {
	addr := startFake(t, &fakeIngest{wantToken: "right"})
	for _, tc := range []struct {
		name  string
		input string
		args  []string
		want  int
	}{
		{"ok", transcriptJSON("ok-1") + "\n", []string{"--addr", addr, "--token", "right", "ingest", "-f", "-"}, exitOK},
		{"rejected line", transcriptJSON("bad-1") + "\n", []string{"--addr", addr, "--token", "right", "ingest", "-f", "-"}, exitRejected},
		{"unknown flag", "", []string{"--addr", addr, "ingest", "--frobnicate"}, exitUsage},
		{"unreadable file", "", []string{"--addr", addr, "ingest", "-f", filepath.Join(t.TempDir(), "missing.jsonl")}, exitUsage},
		{"wrong argument count", "", []string{"--addr", addr, "transcript", "get"}, exitUsage},
		{"server refuses", "", []string{"--addr", addr, "--token", "right", "transcript", "get", "nope"}, exitRPC},
		{"server refuses a stream", transcriptJSON("ok-1") + "\n", []string{"--addr", addr, "--token", "wrong", "ingest", "-f", "-"}, exitRPC},
	} {
		if res := runQactl(t, tc.input, tc.args...); res.code != tc.want {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", tc.name, res.code, tc.want, res.stderr)
		}
	}
	res := runQactl(t, "", "--help")
	for _, want := range []string{"0 success", "1 some input lines were rejected", "2 bad usage", "3 the server"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
