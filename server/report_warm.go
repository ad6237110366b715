package server

import (
	"context"
	"maps"
	"slices"
	"time"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// warmTeamReports computes, in the background after a start, the report
// every team's console page opens with as admin (the default range), so
// that the first visitor gets the kept report rather than waiting while
// every cell is read (about half a second for 2,000 agents × 12 weeks).
// Supervisors' reports are their own keys and are computed when asked.
func (s *reportService) warmTeamReports(ctx context.Context) {
	start := time.Now()
	agents, err := s.store.ListAgents(ctx)
	if err != nil {
		s.log.DebugContext(ctx, "team reports not warmed", "err", err)
		return
	}
	teams := map[string]bool{}
	for _, a := range agents {
		if a.TeamID != "" {
			teams[a.TeamID] = true
		}
	}
	admin := context.WithValue(ctx, principalKey{}, Principal{Role: store.RoleAdmin, Subject: "team-report-warmup"})
	for _, team := range slices.Sorted(maps.Keys(teams)) {
		if _, err := s.GetTeamReport(admin, &qav1.GetTeamReportRequest{TeamId: team, PageSize: 1}); err != nil {
			s.log.DebugContext(ctx, "team report not warmed", "team", team, "err", err)
			return
		}
	}
	s.log.DebugContext(ctx, "team reports warmed", "teams", len(teams), "took", time.Since(start))
}
