package server

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	qav1 "qa-sampling/proto/qa/v1"
)

// gauge is the value of the series name{labels} that reg gathers; it fails
// the test if the series is absent.
func gauge(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Gauge != nil:
					return m.GetGauge().GetValue()
				case m.Counter != nil:
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabels(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || (l.GetName() == kv[i] && l.GetValue() == kv[i+1])
		}
		if !found {
			return false
		}
	}
	return true
}

// TestOpsMetrics follows one item through finalise, acknowledgement and a
// dispute and checks each business metric after each step. The clock runs
// ahead on demand, so the backlog cache is tested without sleeping.
func TestOpsMetrics(t *testing.T) {
	var ahead atomic.Int64
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	e := startScoring(t, cfg)
	reg := e.srv.registry
	later := func() { ahead.Add(int64(backlogMaxAge + time.Second)) }

	queued := 0
	for _, ctx := range e.inspectors {
		q, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		queued += len(q.GetItems())
	}
	if queued == 0 {
		t.Fatal("nothing sampled")
	}
	check := func(what, name string, want float64, labels ...string) {
		t.Helper()
		if got := gauge(t, reg, name, labels...); got != want {
			t.Errorf("%s: %s%v = %v, want %v", what, name, labels, got, want)
		}
	}
	check("after sampling", "qa_review_items_open", float64(queued), "status", "assigned")
	check("after sampling", "qa_review_items_open", 0, "status", "disputed")
	check("after sampling", "qa_reviews_finalised_total", 0)
	check("after sampling", "qa_feedback_unacked", 0)
	check("after sampling", "qa_feedback_unacked_oldest_age_seconds", 0)
	check("after sampling", "qa_disputes_open", 0)
	check("after sampling", "qa_feedback_watch_subscribers", 0)

	watchCtx, stopWatch := context.WithCancel(e.supA)
	stream, err := e.feedback.WatchFeedback(watchCtx, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Header(); err != nil {
		t.Fatal(err)
	}
	check("with a watch open", "qa_feedback_watch_subscribers", 1)

	item, inspector := e.itemOf(t, "agent-a")
	resp, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	check("after a finalisation", "qa_reviews_finalised_total", 1)
	// Within the cache's age a scrape does not query again.
	check("cached, after a finalisation", "qa_review_items_open", float64(queued), "status", "assigned")
	later()
	check("after a finalisation", "qa_review_items_open", float64(queued-1), "status", "assigned")
	check("after a finalisation", "qa_feedback_unacked", 1)
	if age := gauge(t, reg, "qa_feedback_unacked_oldest_age_seconds"); age < (backlogMaxAge + time.Second).Seconds() {
		t.Errorf("oldest unacknowledged age %v s, want at least the %v the clock moved", age, backlogMaxAge+time.Second)
	}

	if _, err := e.feedback.AcknowledgeFeedback(e.supA, &qav1.AcknowledgeFeedbackRequest{Id: resp.GetFeedback().GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: resp.GetReview().GetId(), Reason: "the customer asked twice"}); err != nil {
		t.Fatal(err)
	}
	later()
	check("after acknowledgement and dispute", "qa_feedback_unacked", 0)
	check("after acknowledgement and dispute", "qa_feedback_unacked_oldest_age_seconds", 0)
	check("after acknowledgement and dispute", "qa_disputes_open", 1)
	check("after acknowledgement and dispute", "qa_review_items_open", 1, "status", "disputed")

	stopWatch()
	for deadline := time.Now().Add(10 * time.Second); gauge(t, reg, "qa_feedback_watch_subscribers") != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the closed watch is still counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
