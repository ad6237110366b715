package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
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
