package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/internal/importfile"
	"qa-sampling/internal/synth"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/transcript"
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

	if res.code != exitRPC {
		t.Errorf("exit status %d, want %d", res.code, exitRPC)
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

	if res.code != exitRPC {
		t.Errorf("exit status %d, want %d", res.code, exitRPC)
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

	if res.code != exitRPC {
		t.Errorf("exit status %d, want %d", res.code, exitRPC)
	}
	if !strings.HasPrefix(res.stderr, "qactl: UNAUTHENTICATED: missing or unknown token\n") {
		t.Errorf("stderr = %q", res.stderr)
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
// (read, parse, marshal, stream, count) against the in-test server, on
// qagen's synthetic chats written by importfile as qagen writes them.
func BenchmarkIngestStream(b *testing.B) {
	addr := startFake(b, &fakeIngest{})
	client := dialFake(b, addr)
	const perRun = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	end := time.Date(2026, 10, 5, 12, 0, 0, 0, time.UTC)
	chats := make([]transcript.Transcript, perRun)
	for i := range chats {
		chats[i] = synth.Transcript(rng, i, synth.AgentID(i%50), end)
	}
	var buf bytes.Buffer
	if err := importfile.WriteTranscriptsJSONL(&buf, chats); err != nil {
		b.Fatal(err)
	}
	input := buf.Bytes()
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
