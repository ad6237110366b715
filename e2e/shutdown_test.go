package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestSIGTERMFinishesInFlightStream: a stream open when SIGTERM arrives is
// allowed to finish and every item is answered; then the process exits 0.
func TestSIGTERMFinishesInFlightStream(t *testing.T) {
	srv := startServer(t, backends(t)[0].dsn)
	ctx := withToken(context.Background(), srv.token("ingest", "platform"))
	c := srv.client("")
	upsertAgents(t, ctx, c, "a1")

	stream, err := c.PushTranscripts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(from, to int) {
		req := &qav1.PushTranscriptsRequest{}
		for i := from; i < to; i++ {
			req.Transcripts = append(req.Transcripts, chat(fmt.Sprintf("term-%d", i), "a1", 2))
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	send(0, 50)
	if _, err := stream.Recv(); err != nil { // the stream is running on the server
		t.Fatal(err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	send(50, 100)
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	answered := map[int64]bool{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("stream broken by shutdown: %v", err)
		}
		for _, r := range resp.GetResults() {
			answered[r.GetIndex()] = true
		}
	}
	// The first Recv consumed some results; every later index must be answered.
	for i := int64(50); i < 100; i++ {
		if !answered[i] {
			t.Fatalf("item %d sent after SIGTERM on an open stream was not answered", i)
		}
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("qad exit after SIGTERM: %v\n%s", err, srv.log.String())
	}
	srv.cmd = nil
	if !strings.Contains(srv.log.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", srv.log.String())
	}
}
