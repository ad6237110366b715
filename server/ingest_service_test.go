package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

// startInProcess runs the server in this process on a loopback port over a
// real SQLite file, so the race detector sees the handlers, the prepare
// workers and the dictionary trainer (the e2e tests run a separate binary).
// It returns an ingest client and a context carrying an ingest token.
func startInProcess(t *testing.T, cfg Config) (qav1.IngestServiceClient, context.Context, *sqlstore.Store) {
	t.Helper()
	env := startEnv(t, cfg)
	return qav1.NewIngestServiceClient(env.conn), env.as(store.RoleIngest, "test"), env.store
}

// testEnv is an in-process server with a client connection to it.
type testEnv struct {
	t     *testing.T
	store *sqlstore.Store
	conn  *grpc.ClientConn
	srv   *Server
	// dbPath is the SQLite file.
	dbPath string
}

func startEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	return startEnvLogging(t, cfg, slog.New(slog.DiscardHandler))
}

// startEnvLogging is startEnv with the server logging to log.
func startEnvLogging(t *testing.T, cfg Config, log *slog.Logger) *testEnv {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "qa.db")
	st, err := sqlstore.Open(t.Context(), dbPath, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Codec = st.Codec()
	srv := New(st, cfg, log)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(lis); close(served) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		_ = st.Close()
	})
	return &testEnv{t: t, store: st, conn: conn, srv: srv, dbPath: dbPath}
}

// as returns a context carrying a new token of role for subject.
func (e *testEnv) as(role store.Role, subject string) context.Context {
	e.t.Helper()
	plain, tok, err := NewToken(role, subject, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateToken(e.t.Context(), tok, "qad"); err != nil {
		e.t.Fatal(err)
	}
	return metadata.AppendToOutgoingContext(e.t.Context(), "authorization", "Bearer "+plain)
}

func testChat(id, agent string, start time.Time) *qav1.Transcript {
	return &qav1.Transcript{
		ExternalId: id, AgentId: agent, Channel: "chat",
		StartedAt: timestamppb.New(start), EndedAt: timestamppb.New(start.Add(time.Minute)),
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "我的订单 " + id + " 还没有发货，请帮我查一下", SentAt: timestamppb.New(start.Add(time.Second))},
			{Role: qav1.Role_ROLE_AGENT, Text: "您好，订单 " + id + " 预计明天发出", SentAt: timestamppb.New(start.Add(20 * time.Second))},
		},
	}
}

// TestConcurrentStreamsAnswerEveryItemInOrder pushes from several streams
// at once, with requests of uneven size, invalid items mixed in and the
// same id repeated within a stream; each stream must get exactly one
// result per item, for the right item, and the store must hold the last
// version of each id.
func TestConcurrentStreamsAnswerEveryItemInOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ingest.MaxBatch = 37 // odd sizes make batches straddle requests
	cfg.DictionarySamples = 150
	client, ctx, st := startInProcess(t, cfg)
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}, {AgentId: "a2"}}}); err != nil {
		t.Fatal(err)
	}

	const streams, perStream = 4, 300
	start := time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for s := range streams {
		wg.Go(func() {
			stream, err := client.PushTranscripts(ctx)
			if err != nil {
				errs <- err
				return
			}
			var sent []*qav1.Transcript
			for i := 0; i < perStream; {
				req := &qav1.PushTranscriptsRequest{}
				for k := 0; k < 1+i%7 && i < perStream; k++ {
					tr := testChat(fmt.Sprintf("s%d-%d", s, i%250), []string{"a1", "a2"}[i%2], start.Add(time.Duration(i)*time.Minute))
					if i%50 == 13 {
						tr.AgentId = "nobody" // rejected: unknown agent
					}
					req.Transcripts = append(req.Transcripts, tr)
					sent = append(sent, tr)
					i++
				}
				if err := stream.Send(req); err != nil {
					errs <- err
					return
				}
			}
			_ = stream.CloseSend()
			seen := make(map[int64]bool)
			for {
				resp, err := stream.Recv()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					errs <- err
					return
				}
				for _, r := range resp.GetResults() {
					i := r.GetIndex()
					if seen[i] || i < 0 || i >= int64(len(sent)) || r.GetId() != sent[i].GetExternalId() {
						errs <- fmt.Errorf("stream %d: result %v does not answer a distinct sent item", s, r)
						return
					}
					seen[i] = true
					wantRejected := sent[i].GetAgentId() == "nobody"
					if gotRejected := r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED; gotRejected != wantRejected {
						errs <- fmt.Errorf("stream %d item %d: status %v (%s)", s, i, r.GetStatus(), r.GetReason())
						return
					}
				}
			}
			if len(seen) != len(sent) {
				errs <- fmt.Errorf("stream %d: %d results for %d items", s, len(seen), len(sent))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Ids 0..49 were sent twice (i and i+250); the later, different
	// version must be the one stored.
	got, err := st.GetTranscript(ctx, "s0-10")
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(260 * time.Minute); !got.StartedAt.Equal(want) || got.Revision != 2 {
		t.Fatalf("s0-10: started %v revision %d, want the second push (%v, revision 2)", got.StartedAt, got.Revision, want)
	}
}

// TestSampledTranscriptIsKept: once sampling froze a transcript, a changed
// push answers KEPT_SAMPLED and the picked version stays.
func TestSampledTranscriptIsKept(t *testing.T) {
	client, ctx, st := startInProcess(t, DefaultConfig())
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC)
	original := testChat("picked-1", "a1", start)
	if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: original}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkSampled(ctx, []string{"picked-1"}); err != nil {
		t.Fatal(err)
	}
	changed := testChat("picked-1", "a1", start)
	changed.Messages[1].Text = "edited after sampling"
	resp, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: changed})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED {
		t.Fatalf("changed push of a sampled transcript: %v, want KEPT_SAMPLED", resp.GetStatus())
	}
	if resp.GetExternalId() != "picked-1" {
		t.Errorf("response external_id %q, want picked-1", resp.GetExternalId())
	}
	got, err := st.GetTranscript(ctx, "picked-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Sampled || got.Revision != 1 || got.Messages[1].Text != original.GetMessages()[1].GetText() {
		t.Fatalf("stored after the push: sampled %v revision %d text %q; want the picked version",
			got.Sampled, got.Revision, got.Messages[1].Text)
	}
}

// TestUnknownAgents: rejected by default, naming the field that refers to
// the unknown agent; created with AutoCreateAgents.
func TestUnknownAgents(t *testing.T) {
	start := time.Date(2026, 11, 17, 8, 0, 0, 0, time.UTC)
	transfer := func(id string) *qav1.Transcript {
		tr := testChat(id, "a1", start)
		tr.Messages[1].AgentId = "helper-9" // an author missing from the directory
		return tr
	}

	client, ctx, _ := startInProcess(t, DefaultConfig())
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tr    *qav1.Transcript
		field string
	}{
		{testChat("u-1", "stranger", start), "transcript.agent_id"},
		{transfer("u-2"), "transcript.messages[1].agent_id"},
	} {
		_, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: tc.tr})
		st, _ := status.FromError(err)
		if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tc.field+": unknown agent") {
			t.Errorf("%s: got %v, want INVALID_ARGUMENT on %s", tc.tr.GetExternalId(), err, tc.field)
		}
	}

	cfg := DefaultConfig()
	cfg.Ingest.AutoCreateAgents = true
	client, ctx, autoStore := startInProcess(t, cfg)
	resp, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: transfer("u-3")})
	if err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_ACCEPTED {
		t.Fatalf("with auto-create: %v %v, want ACCEPTED", resp.GetStatus(), err)
	}
	for _, id := range []string{"a1", "helper-9"} {
		a, err := autoStore.GetAgent(ctx, id)
		if err != nil || !a.Active {
			t.Errorf("agent %s after auto-create: %+v, %v", id, a, err)
		}
	}
}
