package server

import (
	"context"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/severity"
	"qa-sampling/store"
)

// calibrationTrendSessions is how many of an inspector's sessions the
// agreement trend shows.
const calibrationTrendSessions = 8

// inspectorReportService reports inspector severity, dispute overturns
// and calibration standings (SPEC §11).
type inspectorReportService struct {
	qav1.UnimplementedInspectorReportServiceServer
	report   *reportService // for the range of weeks
	severity *severityModel
}

func (s *inspectorReportService) GetInspectorsReport(ctx context.Context, req *qav1.GetInspectorsReportRequest) (*qav1.GetInspectorsReportResponse, error) {
	weeks, err := s.report.weeks(ctx, req.GetLastWeek(), req.GetWeeks())
	if err != nil {
		return nil, err
	}
	e, err := s.severity.exact(ctx, weeks)
	if err != nil {
		return nil, storeError(ctx, s.report.log, err)
	}
	inspectors, err := s.report.store.ListInspectors(ctx)
	if err != nil {
		return nil, storeError(ctx, s.report.log, err)
	}
	type tally struct {
		final, retracted, overturned int
		agents                       map[string]bool
	}
	tallies := map[string]*tally{}
	for _, r := range e.rows {
		t := tallies[r.InspectorID]
		if t == nil {
			t = &tally{agents: map[string]bool{}}
			tallies[r.InspectorID] = t
		}
		if r.Status == store.ReviewFinal {
			t.final++
			t.agents[r.AgentID] = true
		} else {
			t.retracted++
			if r.RescoreScore != r.Score {
				t.overturned++
			}
		}
	}
	names := map[string]store.Inspector{}
	for _, in := range inspectors {
		names[in.ID] = in
	}
	var ids []string
	for _, in := range inspectors {
		if _, ok := tallies[in.ID]; ok || in.Active {
			ids = append(ids, in.ID)
		}
	}
	for id := range tallies {
		if _, ok := names[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := &qav1.GetInspectorsReportResponse{Weeks: weeks, FitReviews: int32(e.fit.Used), ResidualSd: e.fit.Sigma,
		ResidualDf: int32(e.fit.DF), ComputedAt: timestamppb.New(e.computed)}
	for _, id := range ids {
		st := &qav1.InspectorStanding{InspectorId: id, Name: names[id].Name, Active: names[id].Active}
		if t := tallies[id]; t != nil {
			st.Reviews, st.Agents = int32(t.final), int32(len(t.agents))
			st.Disputed, st.Overturned = int32(t.retracted), int32(t.overturned)
			rate := float64(t.overturned) / float64(t.final+t.retracted)
			st.OverturnRate = &rate
		}
		fit, ok := e.fit.Inspector(id)
		switch {
		case !ok:
			st.NotIdentifiable = "no_reviews"
		case !fit.Identifiable:
			st.NotIdentifiable = fit.Reason
		default:
			sev := fit.Severity
			st.Severity = &sev
			if fit.IntervalOK {
				st.SeverityCi = &qav1.SeverityInterval{Low: fit.Low, High: fit.High}
			} else {
				st.NotIdentifiable = severity.ReasonTooFewReviews
			}
		}
		if c, ok := e.standings[id]; ok {
			st.LatestCalibrationSession = c.session.ID
			st.LatestCalibrationAgreement = nanToNil(c.meanAgreement)
			st.LatestCalibrationAlpha = nanToNil(c.alpha)
			st.Unreliable = len(e.unreliable([]string{id})) > 0
			trend, err := s.severity.trend(ctx, id, calibrationTrendSessions)
			if err != nil {
				return nil, storeError(ctx, s.report.log, err)
			}
			for _, p := range trend {
				st.CalibrationTrend = append(st.CalibrationTrend, &qav1.CalibrationPoint{SessionId: p.session.ID,
					RevealedAt: timestamppb.New(p.session.RevealedAt), MeanAgreement: nanToNil(p.meanAgreement), Alpha: nanToNil(p.alpha)})
			}
		}
		out.Inspectors = append(out.Inspectors, st)
	}
	return out, nil
}
