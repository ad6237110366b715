package server

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/report"
	"qa-sampling/store"
)

// What the supervisor's console pages ask of the services beyond the
// command line's needs: the dispute deadline with a record, an inbox
// order, the teams to report on, and a week's own interval.

// TestGetFeedbackTellsTheDisputeWindow: a record says until when its review
// may be disputed and whether a dispute would be taken now, by the same
// rule OpenDispute applies.
func TestGetFeedbackTellsTheDisputeWindow(t *testing.T) {
	var skew atomic.Int64 // how far the server's clock runs ahead
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := startScoring(t, cfg)
	item, inspector := e.itemOf(t, "agent-a")
	final, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	recID := final.GetFeedback().GetId()
	get := func() *qav1.GetFeedbackResponse {
		t.Helper()
		got, err := e.feedback.GetFeedback(e.supA, &qav1.GetFeedbackRequest{Id: recID})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := get()
	closes := final.GetReview().GetFinalizedAt().AsTime().Add(cfg.DisputeWindow)
	if got.GetAgentNames()["agent-a"] != "A" {
		t.Errorf("agent names %v, want agent-a named A", got.GetAgentNames())
	}
	if !got.GetDisputable() || got.GetOpenDisputeId() != 0 || !got.GetDisputeClosesAt().AsTime().Equal(closes) {
		t.Fatalf("fresh record: disputable %v, open dispute %d, closes %v; want disputable until %v",
			got.GetDisputable(), got.GetOpenDisputeId(), got.GetDisputeClosesAt().AsTime(), closes)
	}

	skew.Store(int64(cfg.DisputeWindow + time.Minute))
	if got := get(); got.GetDisputable() || !got.GetDisputeClosesAt().AsTime().Equal(closes) {
		t.Fatalf("after the window: disputable %v, closes %v", got.GetDisputable(), got.GetDisputeClosesAt().AsTime())
	}
	_, err = e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: final.GetReview().GetId(), Reason: "late"})
	wantCode(t, err, codes.FailedPrecondition)

	skew.Store(0)
	d, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: final.GetReview().GetId(), Reason: "asked twice"})
	if err != nil {
		t.Fatal(err)
	}
	if got := get(); got.GetDisputable() || got.GetOpenDisputeId() != d.GetDispute().GetId() {
		t.Fatalf("with an open dispute: disputable %v, open dispute %d, want %d", got.GetDisputable(), got.GetOpenDisputeId(), d.GetDispute().GetId())
	}
}

// TestListFeedbackInboxOrder: an inbox reads a supervisor's records newest
// first, unacknowledged or acknowledged ones apart, page by page.
func TestListFeedbackInboxOrder(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	var ids []int64
	for range 3 {
		item, inspector := e.itemOf(t, "agent-a")
		final, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, final.GetFeedback().GetId())
	}
	if _, err := e.feedback.AcknowledgeFeedback(e.supA, &qav1.AcknowledgeFeedbackRequest{Id: ids[1], Note: "ok"}); err != nil {
		t.Fatal(err)
	}
	list := func(req *qav1.ListFeedbackRequest) []int64 {
		t.Helper()
		var out []int64
		for range 10 {
			resp, err := e.feedback.ListFeedback(e.supA, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range resp.GetRecords() {
				out = append(out, r.GetId())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return out
			}
		}
		t.Fatal("paging did not end")
		return nil
	}
	if got, want := list(&qav1.ListFeedbackRequest{NewestFirst: true, PageSize: 1}), []int64{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("newest first = %v, want %v", got, want)
	}
	if got, want := list(&qav1.ListFeedbackRequest{NewestFirst: true, Unacknowledged: true, PageSize: 1}), []int64{ids[2], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("unacknowledged newest first = %v, want %v", got, want)
	}
	if got, want := list(&qav1.ListFeedbackRequest{Acknowledged: true}), []int64{ids[1]}; !slices.Equal(got, want) {
		t.Errorf("acknowledged = %v, want %v", got, want)
	}
	if got := list(&qav1.ListFeedbackRequest{NewestFirst: true}); len(got) != 3 {
		t.Errorf("one page newest first = %v", got)
	}
	_, err := e.feedback.ListFeedback(e.supA, &qav1.ListFeedbackRequest{Acknowledged: true, Unacknowledged: true})
	wantField(t, err, "acknowledged")
	_, err = e.feedback.ListFeedback(e.supA, &qav1.ListFeedbackRequest{NewestFirst: true, AfterId: ids[0]})
	wantField(t, err, "after_id")
	// Another supervisor's inbox is theirs only.
	resp, err := e.feedback.ListFeedback(e.supB, &qav1.ListFeedbackRequest{NewestFirst: true})
	if err != nil || len(resp.GetRecords()) != 0 {
		t.Errorf("sup-b's inbox: %v, %v; want empty", resp.GetRecords(), err)
	}
}

// TestListTeams: a supervisor's teams are those of their own agents, an
// admin's all; others may not ask.
func TestListTeams(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	ingest := qav1.NewIngestServiceClient(e.conn)
	if _, err := ingest.UpsertAgents(e.as(store.RoleIngest, "platform"), &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{
		{AgentId: "agent-c", Name: "C", TeamId: "team-2", SupervisorId: "sup-a", HiredOn: "2020-01-01"},
	}}); err != nil {
		t.Fatal(err)
	}
	teams := func(resp *qav1.ListTeamsResponse, err error) map[string]int32 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int32{}
		var order []string
		for _, tm := range resp.GetTeams() {
			out[tm.GetTeamId()] = tm.GetAgents()
			order = append(order, tm.GetTeamId())
		}
		if !slices.IsSorted(order) {
			t.Errorf("teams not by id: %v", order)
		}
		return out
	}
	if got := teams(e.reports.ListTeams(e.supA, &qav1.ListTeamsRequest{})); len(got) != 2 || got["team-1"] != 1 || got["team-2"] != 1 {
		t.Errorf("sup-a's teams = %v, want team-1 (1 agent of theirs) and team-2 (1)", got)
	}
	if got := teams(e.reports.ListTeams(e.supB, &qav1.ListTeamsRequest{})); len(got) != 1 || got["team-1"] != 1 {
		t.Errorf("sup-b's teams = %v, want team-1 (1)", got)
	}
	if got := teams(e.reports.ListTeams(e.admin, &qav1.ListTeamsRequest{})); len(got) != 2 || got["team-1"] != 2 || got["team-2"] != 1 {
		t.Errorf("admin's teams = %v, want team-1 (2) and team-2 (1)", got)
	}
	_, err := e.reports.ListTeams(e.inspectors["insp-1"], &qav1.ListTeamsRequest{})
	wantCode(t, err, codes.PermissionDenied)
}

// TestAgentReportWeekIntervalAndIssues: an agent's report gives each week's
// own 95% interval and the agent's critical flags and failing dimensions.
func TestAgentReportWeekIntervalAndIssues(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	submit := func(ratings []*qav1.DimensionRating, flags []string) {
		t.Helper()
		item, inspector := e.itemOf(t, "agent-a")
		if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratings, Flags: flags, Final: true}); err != nil {
			t.Fatal(err)
		}
	}
	submit(fullRatings(), nil)
	submit(fullRatings(), []string{"abusive_language"})
	low := fullRatings()
	low[2] = rating("efficiency", 1)
	submit(low, nil)

	resp, err := e.reports.GetAgentReport(e.supA, &qav1.GetAgentReportRequest{AgentId: "agent-a", LastWeek: flowWeek, Weeks: 2})
	if err != nil {
		t.Fatal(err)
	}
	trend := resp.GetReport().GetSummary().GetTrend()
	if len(trend) != 2 || trend[0].GetCi95() != nil || trend[1].GetReviews() != 3 {
		t.Fatalf("trend %v: want an empty week without interval, then %s with 3 reviews", trend, flowWeek)
	}
	ci := trend[1].GetCi95()
	if ci == nil || ci.GetLow() > trend[1].GetMean() || ci.GetHigh() < trend[1].GetMean() || ci.GetLow() < 0 || ci.GetHigh() > 100 {
		t.Fatalf("week %s: mean %v, interval %v", flowWeek, trend[1].GetMean(), ci)
	}
	flags := resp.GetCriticalFlags()
	if len(flags) != 1 || flags[0].GetKey() != "abusive_language" || flags[0].GetCount() != 1 {
		t.Errorf("critical flags %v, want abusive_language once", flags)
	}
	if fd := resp.GetFailingDimensions(); len(fd) == 0 || !slices.ContainsFunc(fd, func(c *qav1.IssueCount) bool { return c.GetKey() == "efficiency" }) {
		t.Errorf("failing dimensions %v, want efficiency among them", fd)
	}
	_, err = e.reports.GetAgentReport(e.supB, &qav1.GetAgentReportRequest{AgentId: "agent-a", LastWeek: flowWeek})
	wantCode(t, err, codes.NotFound)

	// A team report has the team's weekly intervals, not each agent's
	// (their own reports do).
	team, err := e.reports.GetTeamReport(e.admin, &qav1.GetTeamReportRequest{TeamId: "team-1", LastWeek: flowWeek, Weeks: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ci := team.GetReport().GetSummary().GetTrend()[1].GetCi95(); ci == nil {
		t.Errorf("the team's week %s has no interval", flowWeek)
	}
	for _, a := range team.GetReport().GetAgents() {
		for _, p := range a.GetSummary().GetTrend() {
			if p.GetCi95() != nil {
				t.Errorf("agent %s's week %s in the team report carries an interval", a.GetAgentId(), p.GetWeek())
			}
		}
	}
}

// TestTeamReportCachedUntilAReviewOrAMove: a team report is computed once
// and served again while nothing in it changed (its generated_at stays),
// and computed afresh after a review is finalised, an agent moves team or
// is renamed — never stale.
func TestTeamReportCachedUntilAReviewOrAMove(t *testing.T) {
	var clock atomic.Int64
	start := time.Now()
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	e := startScoring(t, cfg)
	finalise := func(agent string) {
		t.Helper()
		item, inspector := e.itemOf(t, agent)
		if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
			t.Fatal(err)
		}
	}
	team := func(ctx context.Context) *qav1.TeamReport {
		t.Helper()
		clock.Add(int64(time.Minute)) // a fresh report would say a later time
		resp, err := e.reports.GetTeamReport(ctx, &qav1.GetTeamReportRequest{TeamId: "team-1", LastWeek: flowWeek, Weeks: 2})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetReport()
	}
	finalise("agent-a")
	first := team(e.admin)
	if again := team(e.admin); !again.GetGeneratedAt().AsTime().Equal(first.GetGeneratedAt().AsTime()) || again.GetSummary().GetReviews() != 1 {
		t.Fatalf("unchanged team: generated %v then %v (want the same report)", first.GetGeneratedAt().AsTime(), again.GetGeneratedAt().AsTime())
	}
	// A supervisor's view of the team is another report (their agents only).
	if sup := team(e.supA); len(sup.GetAgents()) != 1 || sup.GetGeneratedAt().AsTime().Equal(first.GetGeneratedAt().AsTime()) {
		t.Fatalf("sup-a's team report: %d agents, generated %v", len(sup.GetAgents()), sup.GetGeneratedAt().AsTime())
	}
	if b := team(e.supB); len(b.GetAgents()) != 1 || b.GetAgents()[0].GetAgentId() != "agent-b" || b.GetSummary().GetReviews() != 0 {
		t.Fatalf("sup-b's team report shows %v", b.GetAgents())
	}

	finalise("agent-b")
	after := team(e.admin)
	if after.GetSummary().GetReviews() != 2 || after.GetGeneratedAt().AsTime().Equal(first.GetGeneratedAt().AsTime()) {
		t.Fatalf("after a review: %d reviews, generated %v; want 2, computed afresh", after.GetSummary().GetReviews(), after.GetGeneratedAt().AsTime())
	}
	if b := team(e.supB); b.GetSummary().GetReviews() != 1 {
		t.Fatalf("sup-b's report after their agent's review: %d reviews", b.GetSummary().GetReviews())
	}

	ingest := qav1.NewIngestServiceClient(e.conn)
	move := func(a *qav1.Agent) {
		t.Helper()
		if _, err := ingest.UpsertAgents(e.as(store.RoleIngest, "platform"), &qav1.UpsertAgentsRequest{Agents: []*qav1.Agent{a}}); err != nil {
			t.Fatal(err)
		}
	}
	move(&qav1.Agent{AgentId: "agent-b", Name: "B renamed", TeamId: "team-1", SupervisorId: "sup-b", HiredOn: "2020-01-01"})
	if r := team(e.admin); r.GetAgents()[1].GetName() != "B renamed" {
		t.Fatalf("after a rename the report says %q", r.GetAgents()[1].GetName())
	}
	move(&qav1.Agent{AgentId: "agent-b", Name: "B", TeamId: "team-2", SupervisorId: "sup-b", HiredOn: "2020-01-01"})
	if r := team(e.admin); len(r.GetAgents()) != 1 || r.GetSummary().GetReviews() != 1 {
		t.Fatalf("after agent-b left the team: %d agents, %d reviews", len(r.GetAgents()), r.GetSummary().GetReviews())
	}
	move(&qav1.Agent{AgentId: "agent-b", Name: "B", TeamId: "team-1", SupervisorId: "sup-a", HiredOn: "2020-01-01"})
	if r := team(e.supA); len(r.GetAgents()) != 2 {
		t.Fatalf("after agent-b moved to sup-a, sup-a's report has %d agents", len(r.GetAgents()))
	}
}

func TestTeamReportCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	var c teamReportCache
	weeks := []string{"2026-W01", "2026-W02"}
	key := func(i int) teamReportKey { return teamReportKeyOf(fmt.Sprintf("team-%d", i), weeks, nil) }
	for i := range teamReportCacheSize {
		c.put(&teamReportSpec{key: key(i)}, 7, nil, &qav1.TeamReport{TeamId: fmt.Sprint(i)}, nil)
	}
	if e := c.get(key(0)); e == nil || e.feedback != 7 || e.report.GetTeamId() != "0" {
		t.Fatalf("team-0: %+v", e) // now the most recently used
	}
	c.put(&teamReportSpec{key: key(teamReportCacheSize)}, 7, nil, &qav1.TeamReport{}, nil)
	if len(c.entries) != teamReportCacheSize || c.get(key(1)) != nil || c.get(key(0)) == nil {
		t.Fatalf("after one more: %d entries; want team-1 (least recently used) dropped, team-0 kept", len(c.entries))
	}
	a := teamReportKeyOf("t", weeks, []store.Agent{{AgentID: "a", Name: "bc"}})
	b := teamReportKeyOf("t", weeks, []store.Agent{{AgentID: "ab", Name: "c"}})
	if a == b {
		t.Fatal("different agents, same key")
	}
}

// TestTeamReportAfterReviewsEqualsAFreshOne: the report served after
// reviews, a dispute's re-score (which retracts a review) and more reviews
// — computed from the cached one by re-reading only the agents touched —
// is the report a server without a cache computes.
func TestTeamReportAfterReviewsEqualsAFreshOne(t *testing.T) {
	cfg := DefaultConfig()
	e := startScoring(t, cfg)
	// Refit after every review, so that each check below can wait for it.
	e.srv.reports.severity.setRefitEvery(0)
	req := &qav1.GetTeamReportRequest{TeamId: "team-1", LastWeek: flowWeek, Weeks: 3}
	adminCtx := context.WithValue(t.Context(), principalKey{}, Principal{Role: store.RoleAdmin, Subject: "lead"})
	// The whole report, and a page of it in another order (served from
	// the same kept report).
	paged := &qav1.GetTeamReportRequest{TeamId: "team-1", LastWeek: flowWeek, Weeks: 3, PageSize: 1, PageToken: "1", OrderBy: "mean desc"}
	check := func(what string) {
		t.Helper()
		// The first report after a review may rest on the severity fit of
		// before it, refitted in the background; once that is kept, the
		// report served must be exactly a fresh one.
		if _, err := e.reports.GetTeamReport(e.admin, req); err != nil {
			t.Fatal(err)
		}
		e.srv.reports.severity.wait()
		for _, req := range []*qav1.GetTeamReportRequest{req, paged} {
			served, err := e.reports.GetTeamReport(e.admin, req)
			if err != nil {
				t.Fatal(err)
			}
			// A service of its own, whose cache is empty.
			fresh := &reportService{store: e.store, opts: report.Options{MinReviews: cfg.ReportMinReviews}, now: time.Now, log: slog.New(slog.DiscardHandler),
				severity: newSeverityModel(e.store, &rubricBook{store: e.store}, time.Now, slog.New(slog.DiscardHandler)),
				checks:   &checkStats{store: e.store, book: &checkBook{store: e.store, now: time.Now}, job: &SamplingJob{Store: e.store, Log: slog.New(slog.DiscardHandler), Now: time.Now}, now: time.Now}}
			want, err := fresh.GetTeamReport(adminCtx, req)
			if err != nil {
				t.Fatal(err)
			}
			got, exp := proto.Clone(served).(*qav1.GetTeamReportResponse), proto.Clone(want).(*qav1.GetTeamReportResponse)
			got.Report.GeneratedAt, exp.Report.GeneratedAt = nil, nil
			if !proto.Equal(got, exp) {
				t.Fatalf("%s, %v: served report\n%v\nwant (computed afresh)\n%v", what, req, got, exp)
			}
		}
	}
	finalise := func(agent string, ratings []*qav1.DimensionRating) *qav1.SubmitReviewResponse {
		t.Helper()
		item, inspector := e.itemOf(t, agent)
		resp, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratings, Final: true})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	check("no reviews")
	first := finalise("agent-a", fullRatings())
	check("one review")
	low := fullRatings()
	low[0] = rating("attitude", 1)
	finalise("agent-b", low)
	check("a review of the other agent")
	check("nothing new")

	d, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: first.GetReview().GetId(), Reason: "misread"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.review.SubmitReview(e.inspectors[d.GetDispute().GetAssigneeId()], &qav1.SubmitReviewRequest{
		ItemId: first.GetReview().GetItemId(), Ratings: low, Final: true}); err != nil {
		t.Fatal(err)
	}
	check("a review retracted by a dispute's re-score")
	finalise("agent-a", low)
	finalise("agent-b", fullRatings())
	check("two more reviews")
}

// TestTeamReportPages: a team report's agents come a page at a time in the
// order asked for, the pages together are every agent once, the team's
// summary and issues are the whole team's on every page, and bad paging
// fields are refused by name.
func TestTeamReportPages(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	item, inspector := e.itemOf(t, "agent-b")
	if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	get := func(req *qav1.GetTeamReportRequest) *qav1.GetTeamReportResponse {
		t.Helper()
		req.TeamId, req.LastWeek, req.Weeks = "team-1", flowWeek, 2
		resp, err := e.reports.GetTeamReport(e.admin, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	whole := get(&qav1.GetTeamReportRequest{})
	if whole.GetTotalAgents() != 2 || len(whole.GetReport().GetAgents()) != 2 || whole.GetNextPageToken() != "" {
		t.Fatalf("unpaged: %d of %d agents, next %q", len(whole.GetReport().GetAgents()), whole.GetTotalAgents(), whole.GetNextPageToken())
	}
	for order, want := range map[string][]string{
		"":             {"agent-a", "agent-b"},
		"agent desc":   {"agent-b", "agent-a"},
		"reviews desc": {"agent-b", "agent-a"},
		"reviews":      {"agent-a", "agent-b"},
		// agent-a has no reviews: last by mean either way.
		"mean":      {"agent-b", "agent-a"},
		"mean desc": {"agent-b", "agent-a"},
	} {
		var got []string
		token := ""
		for range 3 {
			resp := get(&qav1.GetTeamReportRequest{PageSize: 1, PageToken: token, OrderBy: order})
			r := resp.GetReport()
			if resp.GetTotalAgents() != 2 || !proto.Equal(r.GetSummary(), whole.GetReport().GetSummary()) ||
				len(r.GetFailingDimensions()) != len(whole.GetReport().GetFailingDimensions()) {
				t.Fatalf("order %q page %q: %d agents in all, summary %v", order, token, resp.GetTotalAgents(), r.GetSummary())
			}
			for _, a := range r.GetAgents() {
				got = append(got, a.GetAgentId())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("order %q: pages list %v, want %v", order, got, want)
		}
	}
	if r := get(&qav1.GetTeamReportRequest{PageSize: 5, PageToken: "9"}); len(r.GetReport().GetAgents()) != 0 || r.GetNextPageToken() != "" {
		t.Errorf("past the end: %v", r)
	}
	for field, req := range map[string]*qav1.GetTeamReportRequest{
		"page_size":  {PageSize: -1},
		"page_token": {PageToken: "x"},
		"order_by":   {OrderBy: "name"},
	} {
		req.TeamId, req.LastWeek, req.Weeks = "team-1", flowWeek, 2
		_, err := e.reports.GetTeamReport(e.admin, req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := e.reports.GetTeamReport(e.admin, &qav1.GetTeamReportRequest{TeamId: "team-1", PageSize: 1001}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("page_size 1001: %v", err)
	}
}

// TestTeamReportsWarmedAtStart: warming keeps each team's default report
// as admin, which the first visitor then gets (the same generated_at),
// equal to a report computed afresh.
func TestTeamReportsWarmedAtStart(t *testing.T) {
	cfg := DefaultConfig()
	e := startScoring(t, cfg)
	item, inspector := e.itemOf(t, "agent-a")
	if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	service := func() *reportService {
		return &reportService{store: e.store, job: e.srv.Sampling, opts: report.Options{MinReviews: cfg.ReportMinReviews},
			now: func() time.Time { return flowChatStart.Add(time.Duration(clock.Add(int64(time.Minute)))) }, log: slog.New(slog.DiscardHandler)}
	}
	warmed := service()
	warmed.warmTeamReports(t.Context())
	if n := len(warmed.teams.entries); n != 1 {
		t.Fatalf("%d reports kept after warming, want team-1's", n)
	}
	var warmedAt time.Time
	for _, e := range warmed.teams.entries {
		warmedAt = e.report.GetGeneratedAt().AsTime()
	}
	adminCtx := context.WithValue(t.Context(), principalKey{}, Principal{Role: store.RoleAdmin, Subject: "lead"})
	req := &qav1.GetTeamReportRequest{TeamId: "team-1", PageSize: 100}
	got, err := warmed.GetTeamReport(adminCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetReport().GetGeneratedAt().AsTime().Equal(warmedAt) || got.GetReport().GetSummary().GetReviews() != 1 {
		t.Fatalf("first visit: generated %v (warmed %v), %d reviews", got.GetReport().GetGeneratedAt().AsTime(), warmedAt, got.GetReport().GetSummary().GetReviews())
	}
	want, err := service().GetTeamReport(adminCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	got.Report.GeneratedAt, want.Report.GeneratedAt = nil, nil
	if !proto.Equal(got, want) {
		t.Fatalf("warmed report\n%v\nwant\n%v", got, want)
	}
}

// TestTeamReportRefreshedAfterAReview: after a review the background
// refresh computes the kept report again, and the next visitor gets that
// one (no computation of their own), equal to a fresh computation; calls
// arriving together compute a report once.
func TestTeamReportRefreshedAfterAReview(t *testing.T) {
	cfg := DefaultConfig()
	e := startScoring(t, cfg)
	var clock atomic.Int64
	service := func() *reportService {
		return &reportService{store: e.store, job: e.srv.Sampling, opts: report.Options{MinReviews: cfg.ReportMinReviews},
			now: func() time.Time { return flowChatStart.Add(time.Duration(clock.Add(int64(time.Minute)))) }, log: slog.New(slog.DiscardHandler)}
	}
	kept := service()
	adminCtx := context.WithValue(t.Context(), principalKey{}, Principal{Role: store.RoleAdmin, Subject: "lead"})
	req := &qav1.GetTeamReportRequest{TeamId: "team-1", LastWeek: flowWeek, Weeks: 2}
	// Eight visitors at once on a cold cache: one computation.
	answers := make(chan *qav1.GetTeamReportResponse, 8)
	for range 8 {
		go func() {
			r, err := kept.GetTeamReport(adminCtx, req)
			if err != nil {
				t.Error(err)
			}
			answers <- r
		}()
	}
	var first time.Time
	for i := range 8 {
		at := (<-answers).GetReport().GetGeneratedAt().AsTime()
		if i == 0 {
			first = at
		} else if !at.Equal(first) {
			t.Fatalf("visitors at once got reports generated at %v and %v: computed more than once", first, at)
		}
	}

	kept.refreshTeamReports(t.Context()) // nothing new: nothing to do
	if r, _ := kept.GetTeamReport(adminCtx, req); !r.GetReport().GetGeneratedAt().AsTime().Equal(first) {
		t.Fatal("refreshed without a new record")
	}
	item, inspector := e.itemOf(t, "agent-a")
	if _, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true}); err != nil {
		t.Fatal(err)
	}
	kept.refreshTeamReports(t.Context())
	var refreshedAt time.Time
	for _, en := range kept.teams.entries {
		refreshedAt = en.report.GetGeneratedAt().AsTime()
	}
	if !refreshedAt.After(first) {
		t.Fatalf("after a review the kept report is still the one generated at %v", first)
	}
	got, err := kept.GetTeamReport(adminCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetReport().GetGeneratedAt().AsTime().Equal(refreshedAt) || got.GetReport().GetSummary().GetReviews() != 1 {
		t.Fatalf("the visitor after the refresh: generated %v (refreshed %v), %d reviews", got.GetReport().GetGeneratedAt().AsTime(), refreshedAt, got.GetReport().GetSummary().GetReviews())
	}
	want, err := service().GetTeamReport(adminCtx, req)
	if err != nil {
		t.Fatal(err)
	}
	got.Report.GeneratedAt, want.Report.GeneratedAt = nil, nil
	if !proto.Equal(got, want) {
		t.Fatalf("refreshed report\n%v\nwant\n%v", got, want)
	}
}
