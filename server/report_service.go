package server

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/report"
	"qa-sampling/store"
)

// Report ranges.
const (
	defaultReportWeeks = 12
	maxReportWeeks     = 104
)

// reportService reads scorecards. Supervisors see the agents they own
// (access.go) only.
type reportService struct {
	qav1.UnimplementedReportServiceServer
	store Storage
	job   *SamplingJob
	// checks gives the automatic checks' rates over all conversations.
	checks *checkStats
	opts   report.Options
	now    func() time.Time
	log    *slog.Logger
	// teams keeps recent team reports until a review changes them.
	teams teamReportCache
	// severity adds adjusted means and reliability marks (nil: none).
	severity *severityModel
}

// weeks resolves the request's range: n weeks ending with last (default
// the current week in the sampling policy's time zone).
func (s *reportService) weeks(ctx context.Context, last string, n int32) ([]string, error) {
	switch {
	case n == 0:
		n = defaultReportWeeks
	case n < 0 || n > maxReportWeeks:
		return nil, badField("weeks", "must be 1..%d, got %d", maxReportWeeks, n)
	}
	last = strings.TrimSpace(last)
	if last == "" {
		p, err := s.job.Policy(ctx)
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		loc, err := p.Location()
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		last = isoweek.Of(s.now(), loc).String()
	}
	weeks, err := report.Weeks(last, int(n))
	if err != nil {
		return nil, invalid("last_week", err)
	}
	return weeks, nil
}

// reportReviews reads the counted reviews of agents over weeks.
func (s *reportService) reportReviews(ctx context.Context, agentIDs, weeks []string) ([]report.Review, error) {
	rows, err := s.store.ReportRows(ctx, store.ReportFilter{AgentIDs: agentIDs, FromWeek: weeks[0], ToWeek: weeks[len(weeks)-1]})
	if err != nil {
		return nil, err
	}
	out := make([]report.Review, len(rows))
	for i, r := range rows {
		dims := make([]report.Dimension, len(r.Ratings))
		for j, rt := range r.Ratings {
			dims[j] = report.Dimension{Key: rt.Key, Percent: rt.Percent, NA: rt.NA, Failing: rt.Failing}
		}
		out[i] = report.Review{AgentID: r.AgentID, Week: r.Week, Score: r.Score, Critical: r.Critical, Flags: r.Flags, Dimensions: dims}
	}
	return out, nil
}

func (s *reportService) GetAgentReport(ctx context.Context, req *qav1.GetAgentReportRequest) (*qav1.GetAgentReportResponse, error) {
	if req.GetAgentId() == "" {
		return nil, badField("agent_id", "required")
	}
	agent, err := s.store.GetAgent(ctx, req.GetAgentId())
	who, _ := PrincipalFrom(ctx)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !ownsAgent(who, agent)) {
		return nil, status.Errorf(codes.NotFound, "agent %s not found", fielderr.Quote(req.GetAgentId()))
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	weeks, err := s.weeks(ctx, req.GetLastWeek(), req.GetWeeks())
	if err != nil {
		return nil, err
	}
	reviews, err := s.reportReviews(ctx, []string{agent.AgentID}, weeks)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	// A team of one: the agent's report with its own common issues.
	tr := s.opts.Team(agent.TeamID, []string{agent.AgentID}, weeks, reviews)
	ar := agentReportToProto(tr.Agents[0], agent, weeks, s.opts, true)
	if err := s.severity.annotateAgents(ctx, weeks, ar); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	if s.checks != nil {
		rates, err := s.checks.rates(ctx, weeks, reportRatesWait, func(id string) bool { return id == agent.AgentID })
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		if rates != nil {
			ar.CheckRates = ratesToProto(rates, true)
		}
	}
	return &qav1.GetAgentReportResponse{
		Report:            ar,
		FailingDimensions: countsToProto(tr.FailingDimensions),
		CriticalFlags:     countsToProto(tr.CriticalFlags),
	}, nil
}

// ListTeams lists the teams of the agents the caller owns (access.go),
// with how many of them each has.
func (s *reportService) ListTeams(ctx context.Context, _ *qav1.ListTeamsRequest) (*qav1.ListTeamsResponse, error) {
	all, err := s.store.ListAgents(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	who, _ := PrincipalFrom(ctx)
	counts := map[string]int32{}
	for _, a := range all {
		if a.TeamID != "" && ownsAgent(who, a) {
			counts[a.TeamID]++
		}
	}
	out := &qav1.ListTeamsResponse{Teams: make([]*qav1.Team, 0, len(counts))}
	for _, id := range slices.Sorted(maps.Keys(counts)) {
		out.Teams = append(out.Teams, &qav1.Team{TeamId: id, Agents: counts[id]})
	}
	return out, nil
}

func (s *reportService) GetTeamReport(ctx context.Context, req *qav1.GetTeamReportRequest) (*qav1.GetTeamReportResponse, error) {
	if req.GetTeamId() == "" {
		return nil, badField("team_id", "required")
	}
	var l fielderr.List
	page := teamPageOf(&l, req)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	weeks, err := s.weeks(ctx, req.GetLastWeek(), req.GetWeeks())
	if err != nil {
		return nil, err
	}
	all, err := s.store.ListAgents(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	who, _ := PrincipalFrom(ctx)
	agents := make(map[string]store.Agent)
	var ids []string
	var members []store.Agent
	for _, a := range all {
		if a.TeamID == req.GetTeamId() && ownsAgent(who, a) {
			agents[a.AgentID] = a
			ids = append(ids, a.AgentID)
			members = append(members, a)
		}
	}
	if len(ids) == 0 {
		return nil, status.Errorf(codes.NotFound, "team %s not found", fielderr.Quote(req.GetTeamId()))
	}
	spec := &teamReportSpec{key: teamReportKeyOf(req.GetTeamId(), weeks, members), team: req.GetTeamId(), weeks: weeks, agents: agents, ids: ids}
	r, err := s.teamReport(ctx, spec)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return s.withCheckRates(ctx, page.page(r), agents, weeks)
}

// teamReportSpec is what a team report is computed from, kept with it so
// that the background refresh can compute it again.
type teamReportSpec struct {
	key    teamReportKey
	team   string
	weeks  []string
	agents map[string]store.Agent // the caller's agents of the team, by id
	ids    []string               // their ids in ListAgents order
}

// teamReport is the kept report of spec when no feedback record was
// written since it was computed, else computes it (from the kept one when
// there is one: teamReviews) and keeps it.
func (s *reportService) teamReport(ctx context.Context, spec *teamReportSpec) (*qav1.TeamReport, error) {
	// The newest record before the cells: see teamReportCache. A report
	// computed after a newer record is as good (it counts every record
	// this call could see).
	lastFeedback, err := s.store.LastFeedbackID(ctx, "")
	if err != nil {
		return nil, err
	}
	// The severity fit the report's adjusted means come from: a report
	// annotated from an older fit is computed again.
	sev, err := s.severity.current(ctx, spec.weeks)
	if err != nil {
		return nil, err
	}
	if e := s.teams.get(spec.key); e != nil && e.feedback >= lastFeedback && e.severity == sev {
		return e.report, nil
	}
	// One computation of a key at a time: calls arriving meanwhile (the
	// background refresh, the warm-up, other visitors) take its result
	// instead of computing the same report again on the same cores.
	release := s.teams.acquire(spec.key)
	defer release()
	prev := s.teams.get(spec.key)
	if prev != nil && prev.feedback >= lastFeedback && prev.severity == sev {
		return prev.report, nil
	}
	// Records written while this call waited are counted too.
	if lastFeedback, err = s.store.LastFeedbackID(ctx, ""); err != nil {
		return nil, err
	}
	byAgent, err := s.teamReviews(ctx, prev, spec.agents, spec.ids, spec.weeks)
	if err != nil {
		return nil, err
	}
	// Sized first: grown by append, the 120k reviews of 2,000 agents were
	// copied over and over, half of a recomputation's CPU.
	n := 0
	for _, id := range spec.ids {
		n += len(byAgent[id])
	}
	reviews := make([]report.Review, 0, n)
	for _, id := range spec.ids {
		reviews = append(reviews, byAgent[id]...)
	}
	tr := s.opts.Team(spec.team, spec.ids, spec.weeks, reviews)
	out := &qav1.TeamReport{
		TeamId: tr.TeamID, Weeks: spec.weeks, Summary: summaryToProto(tr.Summary, s.opts, true),
		FailingDimensions: countsToProto(tr.FailingDimensions), CriticalFlags: countsToProto(tr.CriticalFlags),
		GeneratedAt: timestamppb.New(s.now()),
	}
	for _, ar := range tr.Agents {
		// Each agent's weeks without their intervals: 2,000 agents × 12
		// weeks of them would double the report, and an agent's own
		// report has them.
		out.Agents = append(out.Agents, agentReportToProto(ar, spec.agents[ar.AgentID], nil, s.opts, false))
	}
	sev.annotateTeam(out)
	s.teams.put(spec, lastFeedback, sev, out, byAgent)
	return out, nil
}

// withCheckRates adds to a page of the team report the checks' rates over
// all the team's conversations (and each agent's on the page), which
// change with every push rather than with reviews. The report is copied:
// the cache shares it.
func (s *reportService) withCheckRates(ctx context.Context, resp *qav1.GetTeamReportResponse, agents map[string]store.Agent, weeks []string) (*qav1.GetTeamReportResponse, error) {
	if s.checks == nil { // a report service built without the checks (tests)
		return resp, nil
	}
	member := func(id string) bool { _, ok := agents[id]; return ok }
	team, err := s.checks.rates(ctx, weeks, reportRatesWait, member)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	if team == nil {
		return resp, nil // still being counted: the next request has them
	}
	each, err := s.checks.perAgent(ctx, weeks, reportRatesWait, member)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := proto.CloneOf(resp)
	out.Report.CheckRates = ratesToProto(team, true)
	for _, a := range out.Report.Agents {
		if rs, ok := each[a.GetAgentId()]; ok {
			a.CheckRates = ratesToProto(rs, false)
		}
	}
	return out, nil
}

// teamReviews reads the reviews a team report of agents (ids, by id)
// over weeks counts, by agent. Given the cached report of the same agents
// and weeks (prev), it re-reads only the agents that feedback records
// written since name, and takes the others' from prev.
func (s *reportService) teamReviews(ctx context.Context, prev *teamReportEntry, agents map[string]store.Agent, ids, weeks []string) (map[string][]report.Review, error) {
	if prev != nil {
		changed, ok, err := s.changedSince(ctx, prev.feedback, agents)
		if err != nil {
			return nil, err
		}
		if ok {
			out := maps.Clone(prev.byAgent)
			if len(changed) == 0 {
				return out, nil
			}
			fresh, err := s.reportReviews(ctx, changed, weeks)
			if err != nil {
				return nil, err
			}
			for _, id := range changed {
				delete(out, id) // the shared slice stays as it was
			}
			for _, r := range fresh {
				out[r.AgentID] = append(out[r.AgentID], r)
			}
			return out, nil
		}
	}
	all, err := s.reportReviews(ctx, ids, weeks)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]report.Review, len(ids))
	for i := range all {
		out[all[i].AgentID] = append(out[all[i].AgentID], all[i])
	}
	return out, nil
}

// changedSince names the agents among agents whose report cells changed
// after feedback record after: cells change only with a feedback record
// of their agent (finalising, a dispute's re-score), and records commit in
// id order, so the records after it name them all. ok is false when so
// many were written that reading every cell is cheaper.
func (s *reportService) changedSince(ctx context.Context, after int64, agents map[string]store.Agent) (changed []string, ok bool, err error) {
	fs, err := s.store.ListFeedback(ctx, store.FeedbackFilter{AfterID: after, Limit: teamReportRereadAll + 1})
	if err != nil {
		return nil, false, err
	}
	if len(fs) > teamReportRereadAll {
		return nil, false, nil
	}
	seen := make(map[string]bool)
	for _, f := range fs {
		id := f.Review.AgentID
		if _, member := agents[id]; member && !seen[id] {
			seen[id] = true
			changed = append(changed, id)
		}
	}
	slices.Sort(changed)
	return changed, true, nil
}

func agentReportToProto(ar report.AgentReport, a store.Agent, weeks []string, opts report.Options, weekIntervals bool) *qav1.AgentReport {
	return &qav1.AgentReport{AgentId: ar.AgentID, Name: a.Name, TeamId: a.TeamID, Weeks: weeks, Summary: summaryToProto(ar.Summary, opts, weekIntervals)}
}

// summaryToProto converts s; weekIntervals sets each trend point's ci95.
func summaryToProto(s report.Summary, opts report.Options, weekIntervals bool) *qav1.Summary {
	out := &qav1.Summary{
		Reviews: int32(s.Reviews), Mean: s.Mean, StdDev: s.StdDev, Critical: int32(s.Critical), Slope: s.Slope,
		TooFewReviews: s.TooFewReviews, MinReviews: int32(opts.MinReviews),
	}
	out.Ci95 = intervalToProto(s.CI95)
	for _, d := range s.Dimensions {
		out.Dimensions = append(out.Dimensions, &qav1.DimensionAverage{Key: d.Key, Rated: int32(d.Rated), Mean: d.Mean})
	}
	for _, p := range s.Trend {
		wp := &qav1.WeekPoint{Week: p.Week, Reviews: int32(p.Reviews), Mean: p.Mean}
		if weekIntervals {
			wp.Ci95 = intervalToProto(p.CI95)
		}
		out.Trend = append(out.Trend, wp)
	}
	return out
}

// intervalToProto is nil for an interval that could not be computed.
func intervalToProto(ci report.Interval) *qav1.ConfidenceInterval {
	if !ci.OK {
		return nil
	}
	return &qav1.ConfidenceInterval{Low: ci.Low, High: ci.High, RawLow: ci.RawLow, RawHigh: ci.RawHigh, Clamped: ci.Clamped}
}

func countsToProto(cs []report.Count) []*qav1.IssueCount {
	out := make([]*qav1.IssueCount, len(cs))
	for i, c := range cs {
		out[i] = &qav1.IssueCount{Key: c.Key, Count: int32(c.Count), Share: c.Share}
	}
	return out
}
