package server

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

var probe = flag.Bool("probe", false, "run the latency probes (measurements, not checks)")

// finalizeFixture ingests agents × chatsPerAgent chats in flowWeek, runs
// the week and returns each inspector's context and queue.
func finalizeFixture(tb testing.TB, e *testEnv, agents, chatsPerAgent, inspectors int) (map[string]context.Context, map[string][]int64) {
	tb.Helper()
	admin := e.as(store.RoleAdmin, "lead")
	ingestCtx := e.as(store.RoleIngest, "platform")
	ingest := qav1.NewIngestServiceClient(e.conn)
	var as []*qav1.Agent
	for i := range agents {
		as = append(as, &qav1.Agent{AgentId: fmt.Sprintf("agent-%04d", i), TeamId: "team-1", SupervisorId: fmt.Sprintf("sup-%02d", i%20), HiredOn: "2020-01-01"})
	}
	if _, err := ingest.UpsertAgents(ingestCtx, &qav1.UpsertAgentsRequest{Agents: as}); err != nil {
		tb.Fatal(err)
	}
	stream, err := ingest.PushTranscripts(ingestCtx)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for i := range agents {
		for j := range chatsPerAgent {
			chat := testChat(fmt.Sprintf("c-%04d-%02d", i, j), as[i].GetAgentId(), flowChatStart.Add(time.Duration(n)*time.Second))
			if err := stream.Send(&qav1.PushTranscriptsRequest{Transcripts: []*qav1.Transcript{chat}}); err != nil {
				tb.Fatal(err)
			}
			n++
		}
	}
	if err := stream.CloseSend(); err != nil {
		tb.Fatal(err)
	}
	for got := 0; got < n; {
		resp, err := stream.Recv()
		if err != nil {
			tb.Fatal(err)
		}
		got += len(resp.GetResults())
	}
	sampling := qav1.NewSamplingServiceClient(e.conn)
	ctxs := map[string]context.Context{}
	for i := range inspectors {
		id := fmt.Sprintf("insp-%02d", i)
		if _, err := sampling.UpsertInspector(admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id}}); err != nil {
			tb.Fatal(err)
		}
		ctxs[id] = e.as(store.RoleInspector, id)
	}
	if _, err := sampling.RunWeek(admin, &qav1.RunWeekRequest{Week: flowWeek}); err != nil {
		tb.Fatal(err)
	}
	review := qav1.NewReviewServiceClient(e.conn)
	queues := map[string][]int64{}
	for id, ctx := range ctxs {
		q, err := review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			tb.Fatal(err)
		}
		for _, it := range q.GetItems() {
			queues[id] = append(queues[id], it.GetId())
		}
	}
	return ctxs, queues
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// TestFinalizeLatencyProbe is not a check but a measurement, run by hand:
//
//	go test ./server -run TestFinalizeLatencyProbe -v -probe
func TestFinalizeLatencyProbe(t *testing.T) {
	if !*probe {
		t.Skip("measurement; run with -probe")
	}
	e := startEnv(t, DefaultConfig())
	ctxs, queues := finalizeFixture(t, e, 400, 6, 32)
	review := qav1.NewReviewServiceClient(e.conn)
	var mu sync.Mutex
	var lat []time.Duration
	// sent[item] is when its finalise was sent; 20 supervisors' streams
	// report when its record arrived.
	sent := map[int64]time.Time{}
	var delivery []time.Duration
	feedback := qav1.NewFeedbackServiceClient(e.conn)
	// The streams end when the test's connection closes.
	for i := range 20 {
		stream, err := feedback.WatchFeedback(e.as(store.RoleSupervisor, fmt.Sprintf("sup-%02d", i)), &qav1.WatchFeedbackRequest{FromNow: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Header(); err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				resp, err := stream.Recv()
				if err != nil {
					return
				}
				mu.Lock()
				delivery = append(delivery, time.Since(sent[resp.GetRecord().GetReview().GetItemId()]))
				mu.Unlock()
			}
		}()
	}
	var wg sync.WaitGroup
	start := time.Now()
	for id, q := range queues {
		wg.Go(func() {
			for _, item := range q {
				mu.Lock()
				t0 := time.Now()
				sent[item] = t0
				mu.Unlock()
				_, err := review.SubmitReview(ctxs[id], &qav1.SubmitReviewRequest{ItemId: item, Ratings: fullRatings(), Final: true})
				d := time.Since(t0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond) // the last records in flight
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	slices.Sort(delivery)
	t.Logf("%d finalises in %s (%.0f/s): p50 %s p90 %s p99 %s max %s", len(lat), elapsed,
		float64(len(lat))/elapsed.Seconds(), percentile(lat, .5), percentile(lat, .9), percentile(lat, .99), lat[len(lat)-1])
	t.Logf("%d records streamed to 20 supervisors, finalise sent to record received: p50 %s p99 %s max %s",
		len(delivery), percentile(delivery, .5), percentile(delivery, .99), delivery[len(delivery)-1])
}
