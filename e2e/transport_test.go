package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// rawCodec sends pre-encoded bytes as the request, so tests can put
// malformed or huge messages on the wire without re-encoding them per call.
type rawCodec struct{}

// rawMessage is a request or response as bytes on the wire.
type rawMessage struct{ b []byte }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawMessage).b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawMessage).b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// invokeRaw makes a unary call with body as the request bytes.
func invokeRaw(ctx context.Context, conn *grpc.ClientConn, method string, body []byte) error {
	return conn.Invoke(ctx, method, &rawMessage{b: body}, &rawMessage{}, grpc.ForceCodecV2(rawCodec{}))
}

// stringField encodes field num as a length-delimited value: the wire form
// of a string or a nested message.
func stringField(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// procStatusKB reads a field such as VmRSS or VmHWM (in kB) of process pid.
func procStatusKB(t *testing.T, pid int, field string) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestUnauthenticatedBodiesAreNotRead makes 48 concurrent GetTranscript
// calls each carrying a 30 MB id, from 48 connections, half without a token
// and half with a well-formed one the server does not know.
// The server must refuse them before reading the bodies: its peak RSS may
// grow by less than 64 MB (reading them took it to 3.2 GB).
func TestUnauthenticatedBodiesAreNotRead(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the server's RSS")
	}
	srv := startServer(t, backends(t)[0].dsn)
	pid := srv.cmd.Process.Pid
	before := procStatusKB(t, pid, "VmRSS")

	const calls, size = 48, 30 << 20
	body := stringField(1, []byte(strings.Repeat("x", size)))
	codesSeen := make([]codes.Code, calls)
	var wg sync.WaitGroup
	for i := range calls {
		conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if i%2 == 1 {
				ctx = withToken(ctx, "qa_aaaaaaaa_"+strings.Repeat("b", 43))
			}
			codesSeen[i] = status.Code(invokeRaw(ctx, conn, "/qa.v1.IngestService/GetTranscript", body))
		})
	}
	wg.Wait()
	for i, c := range codesSeen {
		if c != codes.Unauthenticated {
			t.Errorf("call %d: got %v, want Unauthenticated", i, c)
		}
	}
	peak := procStatusKB(t, pid, "VmHWM")
	t.Logf("qad RSS before: %d MiB; peak after %d concurrent unauthenticated %d MiB calls: %d MiB", before>>10, calls, size>>20, peak>>10)
	if grown := peak - before; grown >= 64<<10 {
		t.Errorf("qad peak RSS grew by %d MiB (from %d to %d MiB); want < 64 MiB", grown>>10, before>>10, peak>>10)
	}
}

// TestMalformedBytesAgainstQad puts bytes no protobuf library would encode
// on the wire to the real server: a string that is not UTF-8 is
// INVALID_ARGUMENT naming the field, with or without the rest of a batch
// (was INTERNAL "failed to unmarshal", and the stream ended losing the
// batch's valid items); without a token it is UNAUTHENTICATED.
func TestMalformedBytesAgainstQad(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn)
	ctx := withToken(context.Background(), srv.token("admin", "lead"))
	upsertAgents(t, ctx, srv.client(""), "a1")
	conn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	badID := stringField(1, []byte("c-\xff\xfe"))
	for name, callCtx := range map[string]context.Context{"with token": ctx, "without token": context.Background()} {
		err := invokeRaw(callCtx, conn, "/qa.v1.IngestService/GetTranscript", badID)
		want := codes.InvalidArgument
		if callCtx != ctx {
			want = codes.Unauthenticated
		}
		if status.Code(err) != want || (want == codes.InvalidArgument && !strings.Contains(err.Error(), "external_id")) {
			t.Errorf("GetTranscript %s: got %v, want %v naming external_id", name, err, want)
		}
	}

	// One batch: a valid transcript, one whose id is not UTF-8, a valid one.
	good := func(id string) []byte {
		b, err := proto.Marshal(chat(id, "a1", 2))
		if err != nil {
			t.Fatal(err)
		}
		return stringField(1, b)
	}
	bad, err := proto.Marshal(chat("bad-1", "a1", 2))
	if err != nil {
		t.Fatal(err)
	}
	bad = bytes.Replace(bad, []byte("bad-1"), []byte("bad\xff1"), 1)
	body := slices.Concat(good("m-1"), stringField(1, bad), good("m-2"))
	desc := &grpc.StreamDesc{StreamName: "PushTranscripts", ServerStreams: true, ClientStreams: true}
	stream, err := conn.NewStream(ctx, desc, "/qa.v1.IngestService/PushTranscripts", grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.SendMsg(&rawMessage{b: body}); err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var results []*qav1.ItemResult
	for {
		var raw rawMessage
		err := stream.RecvMsg(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream ended with %v", err)
		}
		var resp qav1.PushTranscriptsResponse
		if err := proto.Unmarshal(raw.b, &resp); err != nil {
			t.Fatal(err)
		}
		results = append(results, resp.GetResults()...)
	}
	want := []qav1.ItemStatus{qav1.ItemStatus_ITEM_STATUS_ACCEPTED, qav1.ItemStatus_ITEM_STATUS_REJECTED, qav1.ItemStatus_ITEM_STATUS_ACCEPTED}
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d: %v", len(results), len(want), results)
	}
	for i, r := range results {
		if r.GetStatus() != want[i] {
			t.Errorf("item %d: %v, want %v", i, r.GetStatus(), want[i])
		}
	}
	if r := results[1]; r.GetField() != "external_id" || !strings.Contains(r.GetReason(), "UTF-8") {
		t.Errorf("rejected item names %q: %q, want external_id not UTF-8", r.GetField(), r.GetReason())
	}
	c := srv.client("")
	for _, id := range []string{"m-1", "m-2"} {
		if _, err := c.GetTranscript(ctx, &qav1.GetTranscriptRequest{ExternalId: id}); err != nil {
			t.Errorf("%s not stored: %v", id, err)
		}
	}
	if !strings.Contains(srv.log.String(), "malformed request") {
		t.Errorf("server log has no malformed request line:\n%s", srv.log.String())
	}
}
