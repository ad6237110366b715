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

// Background refresh of kept team reports.
const (
	// teamReportRefreshEvery is how often the newest feedback id is read
	// while reports are kept, and so how often at most each is computed
	// again under a steady stream of reviews.
	teamReportRefreshEvery = 500 * time.Millisecond
	// teamReportRefreshWindow: reports nobody got for this long are left
	// to be computed when asked again (someone on the team page reloads or
	// pages within minutes; refreshing for nobody costs CPU while reviews
	// are being finalised).
	teamReportRefreshWindow = 2 * time.Minute
)

// keepTeamReports warms the team reports, then computes kept reports
// again soon after feedback records change them, until ctx ends. A
// visitor after a review then mostly finds the report computed (or being
// computed: teamReport waits for it) instead of computing it while they
// wait; what they get is still checked against the newest record.
func (s *reportService) keepTeamReports(ctx context.Context, every time.Duration) {
	s.warmTeamReports(ctx)
	wait := every
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		start := time.Now()
		s.refreshTeamReports(ctx)
		// Refreshing takes at most a third of the time: a report that
		// takes long to compute is refreshed less often, and a visitor
		// finding it stale computes it as without the refresh.
		wait = max(every, 2*time.Since(start))
	}
}

// refreshTeamReports computes again the kept reports read recently that
// a feedback record written since may change.
func (s *reportService) refreshTeamReports(ctx context.Context) {
	if s.teams.len() == 0 {
		return // nothing kept: no need to ask the store
	}
	last, err := s.store.LastFeedbackID(ctx, "")
	if err != nil {
		return
	}
	for _, spec := range s.teams.stale(last, teamReportRefreshWindow) {
		if _, err := s.teamReport(ctx, spec); err != nil {
			s.log.DebugContext(ctx, "team report not refreshed", "team", spec.team, "err", err)
		}
	}
}
