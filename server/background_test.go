package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"

	"qa-sampling/store/sqlstore"
	"qa-sampling/transcript"
)

func TestDictionaryTrainerRunOnce(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	clock := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	d := newDictionaryTrainer(st, st.Codec(), 40, func() time.Time { return clock }, slog.New(slog.DiscardHandler))
	push := func(from, to int) {
		t.Helper()
		var chats []*transcript.Prepared
		for i := from; i < to; i++ {
			start := clock.Add(time.Duration(i) * time.Minute)
			chats = append(chats, st.Codec().Prepare(transcript.Transcript{
				ExternalID: "c" + strconv.Itoa(i), AgentID: "agent-a", Channel: "chat", StartedAt: start, EndedAt: start.Add(time.Minute),
				Messages: []transcript.Message{
					{Role: transcript.RoleCustomer, Text: "我的订单 DD" + strconv.Itoa(1000+i) + " 还没有发货，请帮我查一下", SentAt: start},
					{Role: transcript.RoleAgent, Text: "您好，订单 DD" + strconv.Itoa(1000+i) + " 预计明天发出，请您耐心等待", SentAt: start.Add(20 * time.Second)},
				},
			}))
		}
		if err := st.EnsureAgents(t.Context(), []string{"agent-a"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpsertTranscripts(t.Context(), chats); err != nil {
			t.Fatal(err)
		}
	}
	push(0, 10)
	if err := d.RunOnce(t.Context()); err != nil || st.Codec().Current() != 0 {
		t.Fatalf("RunOnce with 10 of 40 chats: %v, dictionary %d; want nothing done", err, st.Codec().Current())
	}
	push(10, 60)
	if err := d.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st.Codec().Current() == 0 {
		t.Fatal("RunOnce with 60 of 40 chats installed no dictionary")
	}
}

// The background loops end when their context does: the trainer used to
// run on context.Background(), past the server's shutdown.
func TestBackgroundLoopsStopWithTheirContext(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "qa.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	log := slog.New(slog.DiscardHandler)
	hub := newFeedbackHub()
	loops := map[string]func(context.Context){
		"trainer": newDictionaryTrainer(st, st.Codec(), 40, time.Now, log).Run,
		"poller":  (&feedbackPoller{hub: hub, interval: time.Millisecond, log: log, lastID: func(ctx context.Context) (int64, error) { return st.LastFeedbackID(ctx, "") }}).Run,
	}
	for name, run := range loops {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			run(ctx)
			close(done)
		}()
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s still running 30 s after its context ended", name)
		}
	}
}

func TestFeedbackPollerRunOnce(t *testing.T) {
	hub := newFeedbackHub()
	newest, failure := int64(0), error(nil)
	p := &feedbackPoller{hub: hub, log: slog.New(slog.DiscardHandler), lastID: func(context.Context) (int64, error) { return newest, failure }}
	all := hub.wait("")
	if err := p.RunOnce(t.Context()); err != nil || isClosed(all) {
		t.Fatalf("a poll finding nothing: %v, woke streams %v", err, isClosed(all))
	}
	newest = 3
	if err := p.RunOnce(t.Context()); err != nil || !isClosed(all) {
		t.Fatalf("a poll finding record 3: %v, woke streams %v", err, isClosed(all))
	}
	failure = errors.New("database unreachable")
	if err := p.RunOnce(t.Context()); !errors.Is(err, failure) {
		t.Fatalf("a failed poll returned %v", err)
	}
}

// Serve after Shutdown refuses to start: Shutdown has already waited for
// the background work, so loops started later would outlive it.
func TestServeAfterShutdownStartsNothing(t *testing.T) {
	srv, _ := samplingFixture(t)
	srv.Shutdown(t.Context())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lis.Close() }()
	if err := srv.Serve(lis); !errors.Is(err, grpc.ErrServerStopped) {
		t.Fatalf("Serve after Shutdown = %v, want grpc.ErrServerStopped", err)
	}
}
