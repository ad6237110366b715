package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestCompressionDictionaryAcrossReplicasAndRestarts: once enough chats are
// stored the server trains a compression dictionary; bodies written before
// and after it stay readable, by a replica that started before the
// dictionary existed and by a restarted server.
func TestCompressionDictionaryAcrossReplicasAndRestarts(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			writer := startServer(t, b.dsn, "--dictionary-samples", "300")
			replica := startServer(t, b.dsn, "--dictionary-samples", "0")
			ctx := withToken(context.Background(), writer.token("ingest", "platform"))
			actx := withToken(context.Background(), writer.token("admin", "lead"))
			c := writer.client("")
			upsertAgents(t, ctx, c, "a1", "a2")

			var sent []*qav1.Transcript
			push := func(from, to int) {
				stream, err := c.PushTranscripts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				req := &qav1.PushTranscriptsRequest{}
				for i := from; i < to; i++ {
					tr := chat(fmt.Sprintf("dict-%04d", i), []string{"a1", "a2"}[i%2], 2+i%4)
					req.Transcripts = append(req.Transcripts, tr)
					sent = append(sent, tr)
				}
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
				_ = stream.CloseSend()
				for {
					if _, err := stream.Recv(); err != nil {
						break
					}
				}
			}
			push(0, 400)
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(writer.log.String(), "dictionary trained") {
				if time.Now().After(deadline) {
					t.Fatalf("no dictionary trained after 400 chats with --dictionary-samples 300; log:\n%s", writer.log.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			push(400, 500) // compressed with the dictionary

			check := func(who string, s *server) {
				t.Helper()
				r := s.client("")
				for _, want := range sent {
					got, err := r.GetTranscript(actx, &qav1.GetTranscriptRequest{ExternalId: want.GetExternalId()})
					if err != nil {
						t.Fatalf("%s reading %s: %v", who, want.GetExternalId(), err)
					}
					assertSameTranscript(t, want, got.GetTranscript())
				}
			}
			check("replica started before the dictionary", replica)
			writer.kill()
			writer.start()
			check("restarted server", writer)
		})
	}
}
