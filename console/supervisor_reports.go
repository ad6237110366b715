package console

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
)

// The report pages: an agent's weekly mean with its interval, dimension
// averages and critical flags; a team's agents in a sortable table with
// the team's common issues (共性问题). Shared by supervisors (their own
// agents) and admins (all); the services decide who sees what.

// reportWeekChoices are the ranges the pages offer; the service's default
// is 12.
var reportWeekChoices = []int{4, 8, 12, 26, 52}

const defaultReportWeeks = 12

// reportWeeks reads ?weeks=, one of the offered ranges.
func reportWeeks(v *View) (int, error) {
	s := v.R.URL.Query().Get("weeks")
	if s == "" {
		return defaultReportWeeks, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || !slices.Contains(reportWeekChoices, n) {
		return 0, status.Errorf(codes.InvalidArgument, "weeks: one of %v, got %.20q", reportWeekChoices, s)
	}
	return n, nil
}

// summaryView is a Summary's figures ready to show.
type summaryView struct {
	Reviews  int32
	Mean     string
	CI       string // "70.1–97.5"; "" without an interval
	Clamped  bool
	Critical int32
	TooFew   bool
	Min      int32
	Slope    string // "+1.2"; "" when no trend
	Falling  bool
	// Adjusted is the severity-adjusted mean ("" when not adjusted, with
	// AdjustNote saying why); Unreliable marks figures resting on an
	// inspector whose latest calibration alpha is below 0.667
	// (UnreliableBy names them).
	Adjusted, AdjustNote string
	Unreliable           bool
	UnreliableBy         string
}

// adjustmentNote words why s has no adjusted mean in the page's language
// from the reason code (the server's adjustment_note is English only);
// a server without codes leaves its note.
func adjustmentNote(v *View, s *qav1.Summary) string {
	reason := s.GetAdjustmentReason()
	switch reason {
	case "":
		return s.GetAdjustmentNote()
	case "fit_outdated":
		return v.T("report.adjust_why.fit_outdated")
	}
	key, ok := whyNotEstimated[reason]
	switch {
	case ok:
	case reason == "only_critical_reviews":
		key = "report.adjust_why.only_critical_reviews"
	default:
		key = "report.adjust_why.no_estimate"
	}
	return fmt.Sprintf(v.T("report.adjust_why.inspector"), s.GetAdjustmentInspectorId(), v.T(key))
}

func newSummaryView(v *View, s *qav1.Summary) summaryView {
	out := summaryView{Reviews: s.GetReviews(), Critical: s.GetCritical(), TooFew: s.GetTooFewReviews(), Min: s.GetMinReviews()}
	if s.GetReviews() > 0 {
		out.Mean = fmt.Sprintf("%.1f", s.GetMean())
	}
	if ci := s.GetCi95(); ci != nil {
		out.CI, out.Clamped = fmt.Sprintf("%.1f–%.1f", ci.GetLow(), ci.GetHigh()), ci.GetClamped()
	}
	if s.AdjustedMean != nil {
		out.Adjusted = fmt.Sprintf("%.1f", s.GetAdjustedMean())
	}
	out.AdjustNote = adjustmentNote(v, s)
	out.Unreliable, out.UnreliableBy = s.GetUnreliable(), strings.Join(s.GetUnreliableInspectors(), ", ")
	weeksWithReviews := 0
	for _, p := range s.GetTrend() {
		if p.GetReviews() > 0 {
			weeksWithReviews++
		}
	}
	if weeksWithReviews >= 2 {
		out.Slope, out.Falling = fmt.Sprintf("%+.1f", s.GetSlope()), s.GetSlope() < 0
	}
	return out
}

// weekRow is a week in the chart's table.
type weekRow struct {
	Week    string
	Reviews int32
	Mean    string
	CI      string
}

func weekRows(trend []*qav1.WeekPoint) []weekRow {
	out := make([]weekRow, len(trend))
	for i, p := range trend {
		out[i] = weekRow{Week: p.GetWeek(), Reviews: p.GetReviews()}
		if p.GetReviews() > 0 {
			out[i].Mean = fmt.Sprintf("%.1f", p.GetMean())
		}
		if ci := p.GetCi95(); ci != nil {
			out[i].CI = fmt.Sprintf("%.1f–%.1f", ci.GetLow(), ci.GetHigh())
		}
	}
	return out
}

// rubricNames names dimensions and flags by key, from the active rubric
// (reports span versions; a key no longer in the rubric shows as itself).
type rubricNames map[string]string

func (c *Console) rubricNames(v *View) (rubricNames, error) {
	resp, err := v.API.Rubric.GetRubric(v.Ctx, &qav1.GetRubricRequest{})
	if err != nil {
		return nil, err
	}
	names := rubricNames{}
	for _, d := range resp.GetRubric().GetDimensions() {
		names["dim:"+d.GetKey()] = d.GetName()
	}
	for _, f := range resp.GetRubric().GetFlags() {
		names["flag:"+f.GetKey()] = f.GetName()
	}
	return names, nil
}

func (n rubricNames) dimension(key string) string { return cmp.Or(n["dim:"+key], key) }
func (n rubricNames) flag(key string) string      { return cmp.Or(n["flag:"+key], key) }

// dimRow is a dimension's average.
type dimRow struct {
	Name  string
	Mean  float64
	Shown string
	Rated int32
}

func (n rubricNames) dimRows(ds []*qav1.DimensionAverage) []dimRow {
	out := make([]dimRow, len(ds))
	for i, d := range ds {
		out[i] = dimRow{Name: n.dimension(d.GetKey()), Mean: d.GetMean(), Shown: fmt.Sprintf("%.1f", d.GetMean()), Rated: d.GetRated()}
	}
	return out
}

// issueRow is a common issue: a failing dimension or a raised flag.
type issueRow struct {
	Name  string
	Count int32
	Share float64
}

func issueRows(cs []*qav1.IssueCount, name func(string) string) []issueRow {
	out := make([]issueRow, len(cs))
	for i, c := range cs {
		out[i] = issueRow{Name: name(c.GetKey()), Count: c.GetCount(), Share: c.GetShare()}
	}
	return out
}

// weekChoice is a range offered by the pages' range switch.
type weekChoice struct {
	N       int
	Href    string
	Current bool
}

func weekChoices(base url.Values, path string, current int) []weekChoice {
	out := make([]weekChoice, len(reportWeekChoices))
	for i, n := range reportWeekChoices {
		q := url.Values{}
		for k, vs := range base {
			q[k] = vs
		}
		q.Set("weeks", strconv.Itoa(n))
		out[i] = weekChoice{N: n, Href: path + "?" + q.Encode(), Current: n == current}
	}
	return out
}

// agentData is an agent's report page.
type agentData struct {
	Report  *qav1.AgentReport
	Summary summaryView
	Chart   weekChart
	Weeks   []weekRow
	Dims    []dimRow
	Failing []issueRow
	Flags   []issueRow
	Recent  []recordRow
	Choices []weekChoice
	N       int
	// CheckRates: the automatic checks over all the agent's chats.
	CheckRates []checkRateRow
}

func (c *Console) agentPage(v *View) error {
	v.Title, v.Nav = "supervisor.agent.title", supervisorNavTeam
	agentID := v.R.PathValue("agent")
	n, err := reportWeeks(v)
	if err != nil {
		return err
	}
	resp, err := v.API.Report.GetAgentReport(v.Ctx, &qav1.GetAgentReportRequest{AgentId: agentID, Weeks: int32(n)})
	if err != nil {
		return err
	}
	names, err := c.rubricNames(v)
	if err != nil {
		return err
	}
	recent, err := v.API.Feedback.ListFeedback(v.Ctx, &qav1.ListFeedbackRequest{AgentId: agentID, NewestFirst: true, PageSize: 10})
	if err != nil {
		return err
	}
	disputed, err := openlyDisputedReviews(v)
	if err != nil {
		return err
	}
	r := resp.GetReport()
	s := r.GetSummary()
	d := agentData{
		Report: r, Summary: newSummaryView(v, s), Chart: newWeekChart(v, "agent-chart", s.GetTrend(), s.GetMean(), s.GetReviews()),
		Weeks: weekRows(s.GetTrend()), Dims: names.dimRows(s.GetDimensions()),
		Failing: issueRows(resp.GetFailingDimensions(), names.dimension), Flags: issueRows(resp.GetCriticalFlags(), names.flag),
		Recent: v.recordRowsDisputed(recent.GetRecords(), disputed), N: n,
		Choices:    weekChoices(nil, "/agents/"+url.PathEscape(agentID), n),
		CheckRates: checkRateRows(v, r.GetCheckRates()),
	}
	return c.render(v, "supervisor/agent.html", d)
}

// teamRow is an agent in the team table. Its fields are its own, not an
// embedded summaryView: the template reaches an embedded field through
// reflect's slow FieldByNameFunc, which made up a sixth of a 2,000-agent
// page's CPU.
type teamRow struct {
	AgentID, Name   string
	Reviews         int32
	Mean, CI, Slope string
	Critical        int32
	TooFew, Falling bool
	// Adjusted and Unreliable: see summaryView.
	Adjusted   string
	Unreliable bool
}

// teamColumn is a sortable column of the team table: its query value,
// its label's key, and whether it holds numbers.
type teamColumn struct {
	Key, Label string
	Num        bool
}

var teamColumns = []teamColumn{
	{"agent", "supervisor.team.col.agent", false},
	{"reviews", "supervisor.team.col.reviews", true},
	{"mean", "supervisor.team.col.mean", true},
	{"critical", "supervisor.team.col.critical", true},
	{"trend", "supervisor.team.col.trend", true},
}

// sortColumn is a column header: its link sorts by it (the other way when
// it is the current sort).
type sortColumn struct {
	Label string
	Href  string
	// Aria is the header's aria-sort: ascending, descending or none.
	Aria string
	Num  bool
}

// teamData is the team page.
type teamData struct {
	Teams []*qav1.Team
	Team  string
	// Report is nil when the visitor has no team to show.
	Report  *qav1.TeamReport
	Summary summaryView
	Chart   weekChart
	Weeks   []weekRow
	// Rows are the agents of the page shown, sorted; Agents counts them
	// all, Page and Pages say which page of how many, Prev and Next link
	// to the pages beside it ("" at an end).
	Rows                []teamRow
	Agents, Page, Pages int
	Prev, Next          string
	Columns             []sortColumn
	Failing             []issueRow
	Flags               []issueRow
	Choices             []weekChoice
	N                   int
	// CheckRates: the automatic checks over all the team's chats.
	CheckRates []checkRateRow
}

func (c *Console) teamPage(v *View) error {
	v.Title, v.Nav = "supervisor.team.title", supervisorNavTeam
	n, err := reportWeeks(v)
	if err != nil {
		return err
	}
	teams, err := v.API.Report.ListTeams(v.Ctx, &qav1.ListTeamsRequest{})
	if err != nil {
		return err
	}
	d := teamData{Teams: teams.GetTeams(), N: n}
	q := v.R.URL.Query()
	d.Team = q.Get("team")
	if d.Team == "" && len(d.Teams) > 0 {
		d.Team = d.Teams[0].GetTeamId()
	}
	if d.Team == "" {
		return c.render(v, "supervisor/team.html", d)
	}
	sortKey, desc := q.Get("sort"), q.Get("dir") == "desc"
	if !slices.ContainsFunc(teamColumns, func(c teamColumn) bool { return c.Key == sortKey }) {
		sortKey, desc = "agent", false
	}
	dirName := map[bool]string{false: "asc", true: "desc"}[desc]
	// The server sorts and pages: the page fetches its 100 rows, not the
	// whole team (2,000 agents were a 1 MB answer to decode).
	page := 1
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		page = p
	}
	fetch := func(page int) (*qav1.GetTeamReportResponse, error) {
		return v.API.Report.GetTeamReport(v.Ctx, &qav1.GetTeamReportRequest{
			TeamId: d.Team, Weeks: int32(n), PageSize: teamPageRows,
			PageToken: strconv.Itoa((page - 1) * teamPageRows), OrderBy: sortKey + " " + dirName,
		})
	}
	resp, err := fetch(page)
	if err != nil {
		return err
	}
	if page > 1 && len(resp.GetReport().GetAgents()) == 0 {
		// Past the last page (an old link): the first page instead.
		page = 1
		if resp, err = fetch(page); err != nil {
			return err
		}
	}
	names, err := c.rubricNames(v)
	if err != nil {
		return err
	}
	r := resp.GetReport()
	s := r.GetSummary()
	d.Report, d.Summary = r, newSummaryView(v, s)
	d.Chart = newWeekChart(v, "team-chart", s.GetTrend(), s.GetMean(), s.GetReviews())
	d.Weeks = weekRows(s.GetTrend())
	d.Failing = issueRows(r.GetFailingDimensions(), names.dimension)
	d.Flags = issueRows(r.GetCriticalFlags(), names.flag)
	d.CheckRates = checkRateRows(v, r.GetCheckRates())
	for _, a := range r.GetAgents() {
		as := a.GetSummary()
		sv := newSummaryView(v, as)
		d.Rows = append(d.Rows, teamRow{
			AgentID: a.GetAgentId(), Name: a.GetName(), Reviews: sv.Reviews, Mean: sv.Mean, CI: sv.CI, Slope: sv.Slope,
			Critical: sv.Critical, TooFew: sv.TooFew, Falling: sv.Falling, Adjusted: sv.Adjusted, Unreliable: sv.Unreliable,
		})
	}
	d.pageLinks(page, int(resp.GetTotalAgents()), url.Values{"team": {d.Team}, "weeks": {strconv.Itoa(n)}, "sort": {sortKey}, "dir": {dirName}})
	base := url.Values{"team": {d.Team}, "weeks": {strconv.Itoa(n)}}
	for _, col := range teamColumns {
		sc := sortColumn{Label: v.T(col.Label), Aria: "none", Num: col.Num}
		dir := "asc"
		if col.Num {
			dir = "desc" // numbers: the largest first on the first click
		}
		if col.Key == sortKey {
			sc.Aria = map[bool]string{false: "ascending", true: "descending"}[desc]
			dir = map[bool]string{false: "desc", true: "asc"}[desc]
		}
		qs := url.Values{"team": base["team"], "weeks": base["weeks"], "sort": {col.Key}, "dir": {dir}}
		sc.Href = "/team?" + qs.Encode() + "#agents"
		d.Columns = append(d.Columns, sc)
	}
	d.Choices = weekChoices(url.Values{"team": {d.Team}, "sort": {sortKey}, "dir": {dirName}}, "/team", n)
	return c.render(v, "supervisor/team.html", d)
}

// teamPageRows is how many agents a page of the team table lists: a
// screenful or two to read, and a page of 2,000 rows took most of the
// page's server time to render.
const teamPageRows = 100

// pageLinks says which page of how many the rows are (the server's page
// of total agents) and links its neighbours with query q.
func (d *teamData) pageLinks(page, total int, q url.Values) {
	d.Agents, d.Page = total, page
	d.Pages = max(1, (total+teamPageRows-1)/teamPageRows)
	link := func(p int) string {
		q.Set("page", strconv.Itoa(p))
		return "/team?" + q.Encode() + "#agents"
	}
	if d.Page > 1 {
		d.Prev = link(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
}
