package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// rawCodec puts bytes on the wire as they are, so a test can send what
// no protobuf library would encode.
type rawCodec struct{}

type rawMessage struct{ b []byte }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawMessage).b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawMessage).b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// lockedBuffer is a log destination the server writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// marshalWith encodes m and then swaps marker (which must occur once) for
// bad, of the same length, so the length prefixes stay right.
func marshalWith(t *testing.T, m proto.Message, marker, bad string) []byte {
	t.Helper()
	if len(marker) != len(bad) {
		t.Fatal("marker and replacement differ in length")
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(b, []byte(marker)) != 1 {
		t.Fatalf("marker %q occurs %d times", marker, bytes.Count(b, []byte(marker)))
	}
	return bytes.Replace(b, []byte(marker), []byte(bad), 1)
}

// badViolation returns the code and the one BadRequest violation of err.
func badViolation(t *testing.T, err error) (codes.Code, string, string) {
	t.Helper()
	st := status.Convert(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			v := br.GetFieldViolations()[0]
			return st.Code(), v.GetField(), v.GetDescription()
		}
	}
	return st.Code(), "", st.Message()
}

// logLineWith reports whether one line of logs holds every part.
func logLineWith(logs string, parts ...string) bool {
	for line := range strings.Lines(logs) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// nestedGroups is an unknown field nested depth groups deep.
func nestedGroups(depth int) []byte {
	var b []byte
	for range depth {
		b = protowire.AppendTag(b, 99, protowire.StartGroupType)
	}
	for range depth {
		b = protowire.AppendTag(b, 99, protowire.EndGroupType)
	}
	return b
}

// TestMalformedUnaryRequests sends bytes that do not decode, with and
// without a token: INVALID_ARGUMENT naming the field (was INTERNAL
// "failed to unmarshal"), logged with the call's request id and counted;
// without a token UNAUTHENTICATED, the body never looked at.
func TestMalformedUnaryRequests(t *testing.T) {
	logs := &lockedBuffer{}
	env := startEnvLogging(t, DefaultConfig(), slog.New(slog.NewJSONHandler(logs, nil)))
	admin := env.as(store.RoleAdmin, "lead")
	chat := testChat("c-1", "a1", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	chat.Messages[1].Text = "MARK"
	cases := []struct {
		name, method string
		body         []byte
		field        string
	}{
		{"invalid UTF-8 id", "/qa.v1.IngestService/GetTranscript",
			append(protowire.AppendTag(nil, 1, protowire.BytesType), 3, 'a', 0xff, 'b'), "external_id"},
		{"invalid UTF-8 deep in a transcript", "/qa.v1.IngestService/PushTranscript",
			marshalWith(t, &qav1.PushTranscriptRequest{Transcript: chat}, "MARK", "\xff\xfe\xfd\xfc"), "transcript.messages[1].text"},
		{"truncated varint", "/qa.v1.IngestService/GetTranscript", []byte{0x08, 0xff, 0xff}, "external_id"},
		{"truncated length", "/qa.v1.IngestService/GetTranscript", []byte{0x0a, 0x10, 'a'}, "external_id"},
		{"deep nesting", "/qa.v1.SamplingService/GetRun", nestedGroups(20000), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header metadata.MD
			err := env.conn.Invoke(admin, tc.method, &rawMessage{b: tc.body}, &rawMessage{}, grpc.ForceCodecV2(rawCodec{}), grpc.Header(&header))
			code, field, reason := badViolation(t, err)
			if code != codes.InvalidArgument || field != tc.field {
				t.Fatalf("got %v %q %q (%v), want InvalidArgument naming %q", code, field, reason, err, tc.field)
			}
			ids := header["x-request-id"]
			if len(ids) != 1 || !logLineWith(logs.String(), `"msg":"malformed request"`, `"request_id":"`+ids[0]+`"`) {
				t.Errorf("no malformed request log line with request id %v:\n%s", ids, logs.String())
			}
			if got := testutil.ToFloat64(env.srv.guard.malformed.WithLabelValues(tc.method)); got < 1 {
				t.Errorf("qa_malformed_requests_total{method=%q} = %v", tc.method, got)
			}
			// Without a token the same bytes are refused unread.
			err = env.conn.Invoke(t.Context(), tc.method, &rawMessage{b: tc.body}, &rawMessage{}, grpc.ForceCodecV2(rawCodec{}))
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("without a token: got %v, want Unauthenticated", err)
			}
		})
	}
}

// TestRequestLimitPerMethod: an id of 2 MiB is over the 1 MiB limit of a
// reading call, while a push of the same size is within the ingest limit.
func TestRequestLimitPerMethod(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	admin := env.as(store.RoleAdmin, "lead")
	c := qav1.NewIngestServiceClient(env.conn)
	big := strings.Repeat("x", 2<<20)
	_, err := c.GetTranscript(admin, &qav1.GetTranscriptRequest{ExternalId: big})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("GetTranscript of 2 MiB: got %v, want ResourceExhausted", err)
	}
	chat := testChat("c-big", "a1", time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	chat.Messages[0].Text = big
	_, err = c.PushTranscript(admin, &qav1.PushTranscriptRequest{Transcript: chat})
	if code := status.Code(err); code != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "messages[0].text") {
		t.Errorf("PushTranscript of 2 MiB: got %v, want the text length rejected by validation", err)
	}
}

// TestMalformedTranscriptInStream: one transcript with invalid UTF-8 is
// rejected alone; its batch's valid items are stored and the stream goes
// on. A request whose own framing is broken ends the stream, naming it,
// after every earlier batch was acknowledged.
func TestMalformedTranscriptInStream(t *testing.T) {
	env := startEnv(t, DefaultConfig())
	ctx := env.as(store.RoleIngest, "platform")
	c := qav1.NewIngestServiceClient(env.conn)
	if _, err := c.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	bad := testChat("s-bad", "a1", start)
	bad.Messages[0].Text = "MARK"
	batch := func(ts ...*qav1.Transcript) []byte {
		b, err := proto.Marshal(&qav1.PushTranscriptsRequest{Transcripts: ts})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	second := marshalWith(t, &qav1.PushTranscriptsRequest{Transcripts: []*qav1.Transcript{testChat("s-2", "a1", start), bad, testChat("s-3", "a1", start)}}, "MARK", "\xffAR\xfe")

	desc := &grpc.StreamDesc{StreamName: "PushTranscripts", ServerStreams: true, ClientStreams: true}
	stream, err := env.conn.NewStream(ctx, desc, "/qa.v1.IngestService/PushTranscripts", grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	recv := func() *qav1.PushTranscriptsResponse {
		t.Helper()
		var raw rawMessage
		if err := stream.RecvMsg(&raw); err != nil {
			t.Fatal(err)
		}
		var resp qav1.PushTranscriptsResponse
		if err := proto.Unmarshal(raw.b, &resp); err != nil {
			t.Fatal(err)
		}
		return &resp
	}
	statuses := func(resp *qav1.PushTranscriptsResponse) []qav1.ItemStatus {
		var out []qav1.ItemStatus
		for _, r := range resp.GetResults() {
			out = append(out, r.GetStatus())
		}
		return out
	}
	accepted, rejected := qav1.ItemStatus_ITEM_STATUS_ACCEPTED, qav1.ItemStatus_ITEM_STATUS_REJECTED

	for _, b := range [][]byte{batch(testChat("s-1", "a1", start)), second, batch(testChat("s-4", "a1", start))} {
		if err := stream.SendMsg(&rawMessage{b: b}); err != nil {
			t.Fatal(err)
		}
	}
	var results []*qav1.ItemResult
	for len(results) < 5 {
		results = append(results, recv().GetResults()...)
	}
	got := statuses(&qav1.PushTranscriptsResponse{Results: results})
	want := []qav1.ItemStatus{accepted, accepted, rejected, accepted, accepted}
	if len(got) != len(want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] || results[i].GetIndex() != int64(i) {
			t.Errorf("item %d: %v index %d, want %v", i, got[i], results[i].GetIndex(), want[i])
		}
	}
	if r := results[2]; r.GetId() != "s-bad" || r.GetField() != "messages[0].text" || !strings.Contains(r.GetReason(), "UTF-8") {
		t.Errorf("rejected item: id %q field %q reason %q, want s-bad, messages[0].text, UTF-8", r.GetId(), r.GetField(), r.GetReason())
	}
	if n := testutil.ToFloat64(env.srv.guard.malformed.WithLabelValues("/qa.v1.IngestService/PushTranscripts")); n != 1 {
		t.Errorf("qa_malformed_requests_total{PushTranscripts} = %v, want 1", n)
	}

	// A request whose framing is broken (a truncated varint at its top
	// level) ends the stream; what came before stays stored.
	if err := stream.SendMsg(&rawMessage{b: []byte{0x08, 0xff}}); err != nil {
		t.Fatal(err)
	}
	var raw rawMessage
	err = stream.RecvMsg(&raw)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "stream request 3 (items from index 5)") {
		t.Errorf("broken request: got %v, want InvalidArgument naming stream request 3", err)
	}
	if errors.Is(err, io.EOF) {
		t.Error("stream ended without an error")
	}
	for _, id := range []string{"s-1", "s-2", "s-3", "s-4"} {
		if _, err := env.store.GetTranscript(context.Background(), id); err != nil {
			t.Errorf("%s not stored: %v", id, err)
		}
	}
}
