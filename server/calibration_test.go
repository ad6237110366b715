package server

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// calibrationFixture stores chats chats and inspectors inspectors plus
// "bench", starts a session of them, and has everyone finalise every item
// (ratings vary by inspector and chat; inspector 0 one point lenient).
func calibrationFixture(t *testing.T, e *testEnv, inspectors, chats int) (int64, map[string]context.Context) {
	t.Helper()
	admin := e.as(store.RoleAdmin, "lead")
	ingest := qav1.NewIngestServiceClient(e.conn)
	if _, err := ingest.UpsertAgents(e.as(store.RoleIngest, "platform"), &qav1.UpsertAgentsRequest{
		Agents: []*qav1.Agent{{AgentId: "agent-1", Name: "王小明", TeamId: "t", SupervisorId: "sup-1", HiredOn: "2020-01-01"}}}); err != nil {
		t.Fatal(err)
	}
	var ext []string
	for i := range chats {
		id := fmt.Sprintf("cal-%02d", i)
		ext = append(ext, id)
		if _, err := ingest.PushTranscript(e.as(store.RoleIngest, "platform"), &qav1.PushTranscriptRequest{
			Transcript: testChat(id, "agent-1", flowChatStart.Add(time.Duration(i)*time.Minute))}); err != nil {
			t.Fatal(err)
		}
	}
	sampling := qav1.NewSamplingServiceClient(e.conn)
	ctxs := map[string]context.Context{}
	var ids []string
	for i := range inspectors + 1 {
		id := fmt.Sprintf("insp-%02d", i)
		if i == inspectors {
			id = "bench"
		} else {
			ids = append(ids, id)
		}
		if _, err := sampling.UpsertInspector(admin, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id}}); err != nil {
			t.Fatal(err)
		}
		ctxs[id] = e.as(store.RoleInspector, id)
	}
	calib := qav1.NewCalibrationServiceClient(e.conn)
	created, err := calib.CreateCalibration(admin, &qav1.CreateCalibrationRequest{ExternalIds: ext, InspectorIds: ids, BenchmarkId: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	review := qav1.NewReviewServiceClient(e.conn)
	for id, ctx := range ctxs {
		q, err := review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if len(q.GetItems()) != chats {
			t.Fatalf("%s has %d items, want %d", id, len(q.GetItems()), chats)
		}
		for j, it := range q.GetItems() {
			// Blind: the named agent-1 wrote every chat, yet neither id
			// nor name reaches the queue.
			if it.GetKind() != "calibration" || it.GetAgentId() != "" || it.GetAgentName() != "" {
				t.Errorf("%s's queue shows calibration item %d as kind %q of agent %q named %q, want no agent",
					id, it.GetId(), it.GetKind(), it.GetAgentId(), it.GetAgentName())
			}
			v := int32(2 + (j+len(id))%3)
			if id == "insp-00" {
				v++
			}
			var rs []*qav1.DimensionRating
			for _, k := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
				rs = append(rs, &qav1.DimensionRating{Key: k, Value: v})
			}
			if _, err := review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: it.GetId(), Ratings: rs, Final: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return created.GetSession().GetId(), ctxs
}

func TestCalibrationReviewsBlindAndApart(t *testing.T) {
	e := startEnv(t, DefaultConfig())
	id, ctxs := calibrationFixture(t, e, 3, 2)
	calib := qav1.NewCalibrationServiceClient(e.conn)
	res, err := calib.GetCalibrationResults(ctxs["insp-01"], &qav1.GetCalibrationResultsRequest{Id: id})
	if err != nil {
		t.Fatalf("results for a participant of a revealed session: %v", err)
	}
	if !res.GetSession().GetRevealed() || len(res.GetResults().GetUnits()) != 10 {
		t.Fatalf("results: %v", res)
	}
	// An inspector reads their own calibration review, blind; another's
	// is NOT_FOUND; an admin sees the agent.
	items, err := e.store.ListCalibrationItems(t.Context(), store.CalibrationItemFilter{SessionID: id, InspectorID: "insp-01"})
	if err != nil || len(items) != 2 {
		t.Fatal(items, err)
	}
	review := qav1.NewReviewServiceClient(e.conn)
	own, err := review.GetReview(ctxs["insp-01"], &qav1.GetReviewRequest{Id: items[0].ID})
	if err != nil || own.GetReview().GetAgentId() != "" || own.GetReview().GetStatus() != "final" {
		t.Errorf("own calibration review: %v, %v", own, err)
	}
	if _, err := review.GetReview(ctxs["insp-02"], &qav1.GetReviewRequest{Id: items[0].ID}); status.Code(err) != codes.NotFound {
		t.Errorf("another's calibration review: %v", err)
	}
	if adm, err := review.GetReview(e.as(store.RoleAdmin, "lead"), &qav1.GetReviewRequest{Id: items[0].ID}); err != nil || adm.GetReview().GetAgentId() != "agent-1" {
		t.Errorf("admin's view: %v, %v", adm, err)
	}
	// Nothing in production: no review listed, no feedback.
	if l, err := review.ListReviews(ctxs["insp-01"], &qav1.ListReviewsRequest{}); err != nil || len(l.GetReviews()) != 0 {
		t.Errorf("ListReviews after a calibration: %v, %v", l, err)
	}
	if fb, err := qav1.NewFeedbackServiceClient(e.conn).ListFeedback(e.as(store.RoleAdmin, "lead"), &qav1.ListFeedbackRequest{}); err != nil || len(fb.GetRecords()) != 0 {
		t.Errorf("feedback after a calibration: %v, %v", fb, err)
	}

	// The standings the reliability marks read: every participant, the
	// session's alpha, insp-00 lenient.
	standings, err := CalibrationStandings(t.Context(), e.store, &rubricBook{store: e.store})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(standings))
	for k := range standings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"bench", "insp-00", "insp-01", "insp-02"}) {
		t.Fatalf("standings for %v", keys)
	}
	s := standings["insp-00"]
	want := res.GetResults().GetAlpha().GetInterval().GetValue()
	if s.SessionID != id || math.Abs(s.Alpha-want) > 1e-12 || !(s.Bias > 0) || s.RevealedAt.IsZero() {
		t.Errorf("insp-00's standing %+v; want session %d, alpha %v, positive bias", s, id, want)
	}
}

// TestCalibrationResultsProbe is a measurement, run by hand
// (BENCHMARKS.md, issue 12's target: results of 20 inspectors × 10 chats
// ≤ 50 ms):
//
//	go test ./server -run TestCalibrationResultsProbe -v -probe
func TestCalibrationResultsProbe(t *testing.T) {
	if !*probe {
		t.Skip("measurement; run with -probe")
	}
	e := startEnv(t, DefaultConfig())
	id, _ := calibrationFixture(t, e, 20, 10)
	calib := qav1.NewCalibrationServiceClient(e.conn)
	admin := e.as(store.RoleAdmin, "lead")
	var lat []time.Duration
	for i := range 220 {
		t0 := time.Now()
		res, err := calib.GetCalibrationResults(admin, &qav1.GetCalibrationResultsRequest{Id: id})
		d := time.Since(t0)
		if err != nil || len(res.GetResults().GetUnits()) != 50 {
			t.Fatal(res, err)
		}
		if i >= 20 { // warm-up
			lat = append(lat, d)
		}
	}
	slices.Sort(lat)
	t.Logf("GetCalibrationResults, 21 participants × 10 chats (210 final reviews), %d calls over gRPC on SQLite: p50 %s p95 %s p99 %s max %s",
		len(lat), percentile(lat, .5), percentile(lat, .95), percentile(lat, .99), lat[len(lat)-1])
}
