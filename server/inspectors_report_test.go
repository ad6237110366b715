package server

import (
	"math"
	"testing"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestInspectorsReportSeverityAndAdjustedMeans: six reviews of two agents
// by three inspectors, insp-1 rating everything 5 and the others 3; the
// inspectors report counts each inspector's reviews and estimates insp-1
// as lenient wherever the model can tell them apart, the agent reports
// carry adjusted means (or say why not), and a dispute's re-score counts
// as an overturn of the first inspector.
func TestInspectorsReportSeverityAndAdjustedMeans(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	inspReport := qav1.NewInspectorReportServiceClient(e.conn)
	ratings := func(v int32) []*qav1.DimensionRating {
		return []*qav1.DimensionRating{rating("attitude", v), rating("knowledge", v), rating("efficiency", v),
			rating("communication", v), rating("compliance", v)}
	}
	byInspector := map[string]int32{}
	var firstReview int64
	for range 3 {
		for _, agent := range []string{"agent-a", "agent-b"} {
			item, ctx := e.itemOf(t, agent)
			var who string
			for id, c := range e.inspectors {
				if c == ctx {
					who = id
				}
			}
			v := int32(3)
			if who == "insp-1" {
				v = 5
			}
			resp, err := e.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratings(v), Final: true})
			if err != nil {
				t.Fatal(err)
			}
			if firstReview == 0 {
				firstReview = resp.GetReview().GetId()
			}
			byInspector[who]++
		}
	}
	req := &qav1.GetInspectorsReportRequest{LastWeek: flowWeek, Weeks: 2}
	_, err := inspReport.GetInspectorsReport(e.supA, req)
	wantCode(t, err, codes.PermissionDenied)
	_, err = inspReport.GetInspectorsReport(e.admin, &qav1.GetInspectorsReportRequest{Weeks: 105})
	wantCode(t, err, codes.InvalidArgument)

	rep, err := inspReport.GetInspectorsReport(e.admin, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.GetInspectors()) != 3 || rep.GetFitReviews() != 6 {
		t.Fatalf("report: %v", rep)
	}
	for _, in := range rep.GetInspectors() {
		if in.GetReviews() != byInspector[in.GetInspectorId()] {
			t.Errorf("%s: %d reviews, want %d", in.GetInspectorId(), in.GetReviews(), byInspector[in.GetInspectorId()])
		}
		if (in.Severity == nil) == (in.GetNotIdentifiable() == "") && in.GetNotIdentifiable() != "too_few_reviews" {
			t.Errorf("%s: severity %v with reason %q", in.GetInspectorId(), in.Severity, in.GetNotIdentifiable())
		}
		if in.GetInspectorId() == "insp-1" && in.Severity != nil && in.GetSeverity() < 30 {
			// 5s against 3s: 100 − 60 = 40 points above peers.
			t.Errorf("insp-1 rates 5 where others rate 3, severity %.2f, want about +40", in.GetSeverity())
		}
		if in.GetOverturnRate() != 0 || in.OverturnRate == nil && in.GetReviews() > 0 {
			t.Errorf("%s: overturn rate %v before any dispute", in.GetInspectorId(), in.OverturnRate)
		}
	}
	for _, agent := range []string{"agent-a", "agent-b"} {
		ar, err := e.reports.GetAgentReport(e.admin, &qav1.GetAgentReportRequest{AgentId: agent, LastWeek: flowWeek, Weeks: 2})
		if err != nil {
			t.Fatal(err)
		}
		s := ar.GetReport().GetSummary()
		if (s.AdjustedMean == nil) == (s.GetAdjustmentNote() == "") {
			t.Errorf("%s: adjusted mean %v, note %q: want exactly one", agent, s.AdjustedMean, s.GetAdjustmentNote())
		}
		// Each agent had one review by insp-1 and two by the others, as
		// the rotation spreads them: balanced, so adjusting changes nothing.
		if s.AdjustedMean != nil && math.Abs(s.GetAdjustedMean()-s.GetMean()) > 1e-6 && byInspector["insp-1"] == 2 {
			t.Errorf("%s: raw %.2f adjusted %.2f in a balanced design", agent, s.GetMean(), s.GetAdjustedMean())
		}
	}

	// A dispute of the first review, re-scored differently by another
	// inspector, overturns it.
	d, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: firstReview, Reason: "too generous"})
	if err != nil {
		t.Fatal(err)
	}
	assignee := e.inspectors[d.GetDispute().GetAssigneeId()]
	old, err := e.review.GetReview(e.admin, &qav1.GetReviewRequest{Id: firstReview})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.review.SubmitReview(assignee, &qav1.SubmitReviewRequest{ItemId: old.GetReview().GetItemId(), Ratings: ratings(1), Final: true}); err != nil {
		t.Fatal(err)
	}
	rep, err = inspReport.GetInspectorsReport(e.admin, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range rep.GetInspectors() {
		if in.GetInspectorId() == old.GetReview().GetInspectorId() {
			if in.GetDisputed() != 1 || in.GetOverturned() != 1 || in.GetOverturnRate() <= 0 {
				t.Errorf("%s after an overturned dispute: %v", in.GetInspectorId(), in)
			}
		}
	}
}
