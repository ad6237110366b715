package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

var summaryPattern = regexp.MustCompile(`^(\d+) accepted, (\d+) updated, (\d+) unchanged, (\d+) kept \(already sampled\), (\d+) rejected in \S+ \(\d+ transcripts/s\)\n$`)

func TestIngestMapsEveryOutcomeToItsLine(t *testing.T) {
	fake := &fakeIngest{wantToken: "s3cret"}
	addr := startFake(t, fake)
	lines := []string{
		transcriptJSON("ok-1"),  // 1
		"",                      // 2: blank, skipped
		transcriptJSON("bad-1"), // 3: rejected by the server
		`{"external_id":"x",`,   // 4: bad JSON
		transcriptJSON("upd-1"), // 5
		`{"external_id":"t-2","messages":[{"role":"robot","text":"x"}]}`, // 6: unknown role
		transcriptJSON("same-1"),                // 7
		`{"external_id":"t-3","chanel":"chat"}`, // 8: unknown field
		transcriptJSON("kept-1"),                // 9
		"   ",                                   // 10: blank
		transcriptJSON("ok-2"),                  // 11
	}
	file := writeFile(t, "t.jsonl", strings.Join(lines, "\n")+"\n")

	res := runQactl(t, "", "--addr", addr, "--token", "s3cret", "ingest", "--file", file)

	if res.code != exitRejected {
		t.Errorf("exit status %d, want %d; stderr:\n%s", res.code, exitRejected, res.stderr)
	}
	m := summaryPattern.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("summary %q does not match %v", res.stdout, summaryPattern)
	}
	if got, want := m[1:], []string{"2", "1", "1", "1", "4"}; !slices.Equal(got, want) {
		t.Errorf("accepted, updated, unchanged, kept, rejected = %v, want %v", got, want)
	}
	wantRejections := []string{
		"line 3: messages[0].text: longer than 10000 bytes",
		"line 4: json: unexpected end of line",
		`line 6: messages[0].role: unknown role "robot"`,
		"line 8: chanel: unknown field",
	}
	for _, want := range wantRejections {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}
	if n := strings.Count(res.stderr, "\n"); n != len(wantRejections) {
		t.Errorf("stderr has %d lines, want %d:\n%s", n, len(wantRejections), res.stderr)
	}
	wantSent := []string{"ok-1", "bad-1", "upd-1", "same-1", "kept-1", "ok-2"}
	if got := fake.receivedIDs(); !slices.Equal(got, wantSent) {
		t.Errorf("server received %v, want %v (lines failing on the client must not be sent)", got, wantSent)
	}
	if got := fake.authorization; len(got) != 1 || got[0] != "Bearer s3cret" {
		t.Errorf("authorization metadata = %q, want one %q", got, "Bearer s3cret")
	}
}

func TestIngestJSONSummaryFromStdin(t *testing.T) {
	addr := startFake(t, &fakeIngest{})
	input := transcriptJSON("ok-1") + "\n" + transcriptJSON("upd-1") + "\n" + transcriptJSON("kept-1") // no final newline

	res := runQactl(t, input, "--addr", addr, "--json", "ingest", "--file", "-")

	if res.code != exitOK {
		t.Fatalf("exit status %d, want 0; stderr:\n%s", res.code, res.stderr)
	}
	var summary map[string]float64
	if err := json.Unmarshal([]byte(res.stdout), &summary); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, res.stdout)
	}
	want := map[string]float64{"accepted": 1, "updated": 1, "unchanged": 0, "kept_sampled": 1, "rejected": 0}
	for k, v := range want {
		if got, ok := summary[k]; !ok || got != v {
			t.Errorf("%s = %v, want %v (summary %s)", k, got, v, res.stdout)
		}
	}
	if _, ok := summary["elapsed_seconds"]; !ok {
		t.Errorf("summary lacks elapsed_seconds: %s", res.stdout)
	}
	if res.stderr != "" {
		t.Errorf("stderr = %q, want nothing", res.stderr)
	}
}

// TestIngestLineNumbersAcrossBatches pushes enough lines for many stream
// messages, with answers arriving out of order, and checks every rejection
// still names its own line.
func TestIngestLineNumbersAcrossBatches(t *testing.T) {
	fake := &fakeIngest{holdAnswers: true}
	addr := startFake(t, fake)
	var input strings.Builder
	var wantRejections []string
	const total = 1000
	for line := 1; line <= total; line++ {
		switch {
		case line%97 == 0:
			fmt.Fprintln(&input, transcriptJSON(fmt.Sprintf("bad-%d", line)))
			wantRejections = append(wantRejections, fmt.Sprintf("line %d: messages[0].text: longer than 10000 bytes", line))
		case line%131 == 0:
			fmt.Fprintln(&input, `{"external_id":"late","ended_at":"tomorrow"}`)
			wantRejections = append(wantRejections, fmt.Sprintf(`line %d: ended_at: not an RFC 3339 time: "tomorrow"`, line))
		default:
			fmt.Fprintln(&input, transcriptJSON(fmt.Sprintf("ok-%d", line)))
		}
	}

	res := runQactl(t, "", "--addr", addr, "ingest", "--file", writeFile(t, "big.jsonl", input.String()))

	if res.code != exitRejected {
		t.Errorf("exit status %d, want %d; stderr:\n%s", res.code, exitRejected, res.stderr)
	}
	gotRejections := strings.Split(strings.TrimSpace(res.stderr), "\n")
	slices.Sort(gotRejections)
	slices.Sort(wantRejections)
	if !slices.Equal(gotRejections, wantRejections) {
		t.Errorf("rejections:\n%s\nwant:\n%s", strings.Join(gotRejections, "\n"), strings.Join(wantRejections, "\n"))
	}
	m := summaryPattern.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("summary %q does not match", res.stdout)
	}
	wantAccepted := total - len(wantRejections)
	if m[1] != fmt.Sprint(wantAccepted) || m[5] != fmt.Sprint(len(wantRejections)) {
		t.Errorf("summary %q, want %d accepted and %d rejected", res.stdout, wantAccepted, len(wantRejections))
	}
	if fake.requests < total/ingestBatchSize {
		t.Errorf("the server got %d stream messages; want batches of at most %d", fake.requests, ingestBatchSize)
	}
}

func TestIngestStreamFailureExits2WithPartialCounts(t *testing.T) {
	fake := &fakeIngest{failAfter: 100, failStatus: status.New(codes.ResourceExhausted, "disk full")}
	addr := startFake(t, fake)
	var input strings.Builder
	for i := range 300 {
		fmt.Fprintln(&input, transcriptJSON(fmt.Sprintf("ok-%d", i)))
	}

	res := runQactl(t, "", "--addr", addr, "ingest", "--file", writeFile(t, "t.jsonl", input.String()))

	if res.code != exitFailure {
		t.Errorf("exit status %d, want %d", res.code, exitFailure)
	}
	if !strings.HasPrefix(res.stderr, "qactl: RESOURCE_EXHAUSTED: disk full\n") {
		t.Errorf("stderr = %q, want the gRPC error first", res.stderr)
	}
	m := summaryPattern.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("summary %q does not match", res.stdout)
	}
	if m[1] == "300" {
		t.Errorf("summary %q counts transcripts the server never answered", res.stdout)
	}
}

func TestIngestUnansweredItemsAreAFailure(t *testing.T) {
	addr := startFake(t, &fakeIngest{skipLastAnswer: true})
	input := transcriptJSON("ok-1") + "\n" + transcriptJSON("ok-2") + "\n"

	res := runQactl(t, input, "--addr", addr, "ingest", "-f", "-")

	if res.code != exitFailure {
		t.Errorf("exit status %d, want %d", res.code, exitFailure)
	}
	if !strings.Contains(res.stderr, "without answering 1 transcripts") {
		t.Errorf("stderr = %q, want the unanswered count", res.stderr)
	}
	if m := summaryPattern.FindStringSubmatch(res.stdout); m == nil || m[1] != "1" {
		t.Errorf("summary %q, want 1 accepted", res.stdout)
	}
}

func TestIngestWrongTokenIsUnauthenticated(t *testing.T) {
	addr := startFake(t, &fakeIngest{wantToken: "right"})

	res := runQactl(t, transcriptJSON("ok-1")+"\n", "--addr", addr, "--token", "wrong", "ingest", "--file", "-")

	if res.code != exitFailure {
		t.Errorf("exit status %d, want %d", res.code, exitFailure)
	}
	if !strings.HasPrefix(res.stderr, "qactl: UNAUTHENTICATED: missing or unknown token\n") {
		t.Errorf("stderr = %q", res.stderr)
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
	if res.code != exitFailure || !strings.Contains(res.stderr, "UNAUTHENTICATED") {
		t.Errorf("with --token flag: exit %d, stderr %q; want UNAUTHENTICATED", res.code, res.stderr)
	}
}

func TestConnectionRefusedExits2(t *testing.T) {
	res := runQactl(t, transcriptJSON("ok-1")+"\n", "--addr", closedPort(t), "ingest", "--file", "-")

	if res.code != exitFailure {
		t.Errorf("exit status %d, want %d", res.code, exitFailure)
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
		if res.code != exitFailure || !strings.HasPrefix(res.stderr, "qactl: ") {
			t.Errorf("qactl %v: exit %d, stderr %q; want 2 and a qactl: message", args, res.code, res.stderr)
		}
	}
}

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

func storedTranscript() *qav1.Transcript {
	start := time.Date(2026, 10, 5, 2, 0, 0, 0, time.UTC)
	at := func(sec int) *timestamppb.Timestamp {
		return timestamppb.New(start.Add(time.Duration(sec) * time.Second))
	}
	return &qav1.Transcript{
		ExternalId: "c-9", AgentId: "a1", Channel: "chat", CustomerId: "u9", CustomerTier: "vip",
		StartedAt: at(0), EndedAt: at(600),
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "where is\nmy parcel?\x1b[2J", SentAt: at(5)},
			{Role: qav1.Role_ROLE_AGENT, Text: "您好，我来查一下", SentAt: at(20)},
			{Role: qav1.Role_ROLE_AGENT, Text: "it ships today", SentAt: at(90), AgentId: "a2"},
		},
		Tags: []string{"refund"}, Csat: proto.Int32(4), TransferCount: 1,
		Attributes: map[string]string{"order_id": "o-77"},
		Metrics: &qav1.DerivedMetrics{
			MessageCount: 3, AgentMessageCount: 2, CustomerMessageCount: 1,
			FirstResponseTime: durationpb.New(15 * time.Second), MeanAgentResponseTime: durationpb.New(15 * time.Second),
			AgentReplyCount: 1, HandleTime: durationpb.New(10 * time.Minute),
		},
		Revision: 2, Sampled: true, IngestedAt: at(700), UpdatedAt: at(800),
	}
}

func TestTranscriptGet(t *testing.T) {
	stored := storedTranscript()
	addr := startFake(t, &fakeIngest{stored: map[string]*qav1.Transcript{"c-9": stored}})

	res := runQactl(t, "", "--addr", addr, "transcript", "get", "c-9")
	if res.code != exitOK {
		t.Fatalf("exit status %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{
		"external_id:    c-9\n",
		"customer:       u9 (vip)\n",
		"csat:           4\n",
		"revision:       2, sampled\n",
		"messages:       3 (agent 2, customer 1, bot 0, system 0)\n",
		"first response: 15s\n",
		"handle time:    10m0s\n",
		"] customer: where is ⏎ my parcel?\\u001b[2J\n",
		"] agent(a1): 您好，我来查一下\n",
		"] agent(a2): it ships today\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}

	res = runQactl(t, "", "--addr", addr, "--json", "transcript", "get", "c-9")
	if res.code != exitOK {
		t.Fatalf("--json: exit status %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{`"external_id":"c-9"`, `"sent_at":"2026-10-05T02:00:05Z"`, `"role":"ROLE_AGENT"`, `"agent_reply_count":1`} {
		if !strings.Contains(strings.ReplaceAll(res.stdout, " ", ""), want) {
			t.Errorf("--json output lacks %s:\n%s", want, res.stdout)
		}
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &decoded); err != nil {
		t.Errorf("--json output is not JSON: %v", err)
	}
}

func TestTranscriptGetErrors(t *testing.T) {
	addr := startFake(t, &fakeIngest{})

	res := runQactl(t, "", "--addr", addr, "transcript", "get", "nope")
	if res.code != exitFailure || res.stderr != "qactl: NOT_FOUND: transcript \"nope\" not found\n" {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "transcript", "get", "")
	want := "qactl: INVALID_ARGUMENT: invalid request\n  external_id: must not be empty\n"
	if res.code != exitFailure || res.stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", res.code, res.stderr, want)
	}
}

// dialFake returns an IngestService client of the fake at addr.
func dialFake(t testing.TB, addr string) qav1.IngestServiceClient {
	t.Helper()
	conn, err := (&globalOptions{addr: addr}).dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return qav1.NewIngestServiceClient(conn)
}

// TestIngestProgressBar drives the bar as on a terminal, for both kinds:
// bytes of a known size and a line counter.
func TestIngestProgressBar(t *testing.T) {
	addr := startFake(t, &fakeIngest{})
	var input strings.Builder
	for i := range 200 {
		if i == 150 {
			input.WriteString("{oops\n")
			continue
		}
		fmt.Fprintln(&input, transcriptJSON(fmt.Sprintf("ok-%d", i)))
	}
	for _, size := range []int64{int64(input.Len()), -1} {
		var stderr strings.Builder
		ing := &ingestRun{client: dialFake(t, addr), stderr: &stderr}
		ing.bar, ing.barShowsBytes = newIngestProgressBar(&stderr, size)
		if err := ing.push(t.Context(), newLineReader(strings.NewReader(input.String()))); err != nil {
			t.Fatal(err)
		}
		ing.finishProgress()
		if ing.counts.Accepted != 199 || ing.counts.Rejected != 1 {
			t.Errorf("size %d: counts %+v", size, ing.counts)
		}
		if !strings.Contains(stderr.String(), "ingest") || !strings.Contains(stderr.String(), "line 151: json: ") {
			t.Errorf("size %d: stderr %q lacks the bar or the rejection", size, stderr.String())
		}
	}
}

// BenchmarkIngestStream measures the client's whole path per transcript
// (read, parse, marshal, stream, count) against the in-test server.
func BenchmarkIngestStream(b *testing.B) {
	addr := startFake(b, &fakeIngest{})
	client := dialFake(b, addr)
	var input []byte
	const perRun = 2000
	for i := range perRun {
		input = append(input, realisticLine(fmt.Sprintf("ok-%d", i), 20)...)
		input = append(input, '\n')
	}
	b.SetBytes(int64(len(input)) / perRun)
	b.ResetTimer()
	for done := 0; done < b.N; done += perRun {
		ing := &ingestRun{client: client, stderr: io.Discard}
		if err := ing.push(b.Context(), newLineReader(bytes.NewReader(input))); err != nil {
			b.Fatal(err)
		}
		if ing.counts.Accepted != perRun {
			b.Fatalf("counts %+v", ing.counts)
		}
	}
}

// TestIngestHugeTranscripts checks that a transcript too big for one gRPC
// message is rejected on its own, and that big ones travel alone.
func TestIngestHugeTranscripts(t *testing.T) {
	fake := &fakeIngest{}
	addr := startFake(t, fake)
	huge := func(id string, textBytes int) string {
		return fmt.Sprintf(`{"external_id":%q,"messages":[{"role":"agent","text":%q}]}`, id, strings.Repeat("x", textBytes))
	}
	input := strings.Join([]string{
		transcriptJSON("ok-1"),
		huge("big-2", 3<<20),
		huge("huge-3", 5<<20),
		huge("big-4", 3<<20),
		transcriptJSON("ok-5"),
	}, "\n") + "\n"

	res := runQactl(t, "", "--addr", addr, "ingest", "--file", writeFile(t, "huge.jsonl", input))

	if res.code != exitRejected {
		t.Errorf("exit status %d, want %d; stderr:\n%s", res.code, exitRejected, res.stderr)
	}
	if !strings.HasPrefix(res.stderr, "line 3: messages: transcript encodes to ") {
		t.Errorf("stderr = %q", res.stderr)
	}
	if got, want := fake.receivedIDs(), []string{"ok-1", "big-2", "big-4", "ok-5"}; !slices.Equal(got, want) {
		t.Errorf("server received %v, want %v", got, want)
	}
}
