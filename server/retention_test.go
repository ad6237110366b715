package server

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestRetentionPass runs the job's pass with the clock 60 days on: the
// unsampled chats go, the one MarkSampled froze stays, the metric counts
// them, and a second pass finds nothing.
func TestRetentionPass(t *testing.T) {
	var ahead atomic.Int64
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	cfg.Retention = RetentionOptions{Unsampled: 42 * 24 * time.Hour, Reviewed: 14 * 24 * time.Hour, Every: time.Hour, Batch: 2, Pause: time.Millisecond}
	env := startEnv(t, cfg)
	client := qav1.NewIngestServiceClient(env.conn)
	ctx := env.as(store.RoleIngest, "platform")
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{{AgentId: "a1"}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	ids := []string{"old-1", "old-2", "old-3", "old-4", "kept"}
	for i, id := range ids {
		if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: testChat(id, "a1", start.Add(time.Duration(i)*time.Second))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.store.MarkSampled(ctx, []string{"kept"}); err != nil {
		t.Fatal(err)
	}
	job := env.srv.retention
	// Today nothing has expired.
	if err := job.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.store.GetTranscript(t.Context(), "old-1"); err != nil {
		t.Fatalf("a chat of today was removed: %v", err)
	}
	ahead.Store(int64(60 * 24 * time.Hour))
	if err := job.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:4] {
		if _, err := env.store.GetTranscript(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after retention: %v, want ErrNotFound", id, err)
		}
	}
	if _, err := env.store.GetTranscript(t.Context(), "kept"); err != nil {
		t.Errorf("the sampled chat: %v", err)
	}
	if n := gauge(t, env.srv.registry, "qa_retention_removed_total", "kind", "unsampled"); n != 4 {
		t.Errorf("qa_retention_removed_total{kind=unsampled} = %v, want 4", n)
	}
	if err := job.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := gauge(t, env.srv.registry, "qa_retention_removed_total", "kind", "unsampled"); n != 4 {
		t.Errorf("after a second pass: %v, want still 4", n)
	}
}
