package console

import (
	"net/http"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
)

// weeksData is the weeks overview: the runs, newest first, grouped by
// week, and the form that previews, runs or tops up a week.
type weeksData struct {
	Flash  *flash
	Week   string // the week the form proposes: the last one that ended
	Weeks  []weekRuns
	Paging pageLinks
	// Refusal is the server's own words when it refused a run (a week
	// that has not ended, a top-up of a week without a run).
	Refusal     string
	RefusalWeek string
	// Pool counts picks no inspector holds; NoInspectors: none is
	// active. Either way a run's picks wait unreviewed until the QA lead
	// adds inspectors and hands the pool out (the inspectors page).
	Pool         int32
	NoInspectors bool
}

type weekRuns struct {
	Week string
	Runs []*qav1.Run
}

// lastEndedWeek is the week before the current one in the programme's zone.
func (v *View) lastEndedWeek() string {
	return isoweek.Of(v.c.now(), v.Zone).Prev().String()
}

func (c *Console) weeksPage(v *View) error {
	v.Title, v.Nav = "admin.weeks.title", "weeks"
	d, err := c.weeksData(v)
	if err != nil {
		return err
	}
	return c.render(v, "admin/weeks.html", d)
}

func (c *Console) weeksData(v *View) (*weeksData, error) {
	resp, err := v.API.Sampling.ListRuns(v.Ctx, &qav1.ListRunsRequest{PageSize: 60, PageToken: v.R.URL.Query().Get("page_token")})
	if err != nil {
		return nil, err
	}
	d := &weeksData{Flash: flashOf(v), Week: v.lastEndedWeek(), Paging: pagingOf(v.R, resp.GetNextPageToken())}
	staff, err := v.API.Sampling.ListInspectors(v.Ctx, &qav1.ListInspectorsRequest{PageSize: 1000})
	if err != nil {
		return nil, err
	}
	d.Pool, d.NoInspectors = staff.GetPoolItems(), true
	for _, in := range staff.GetInspectors() {
		if in.GetActive() {
			d.NoInspectors = false
			break
		}
	}
	for _, run := range resp.GetRuns() {
		if n := len(d.Weeks); n > 0 && d.Weeks[n-1].Week == run.GetWeek() {
			d.Weeks[n-1].Runs = append(d.Weeks[n-1].Runs, run)
			continue
		}
		d.Weeks = append(d.Weeks, weekRuns{Week: run.GetWeek(), Runs: []*qav1.Run{run}})
	}
	return d, nil
}

// weekRun runs a week or tops up its run. A refusal (the week has not
// ended; no run to top up) is shown on the weeks page in the server's
// words; success goes back with the count of picks.
func (c *Console) weekRun(v *View) error {
	v.Title, v.Nav = "admin.weeks.title", "weeks"
	week := strings.TrimSpace(v.R.PostFormValue("week"))
	topUp := v.R.PostFormValue("action") == "topup"
	resp, err := v.API.Sampling.RunWeek(v.Ctx, &qav1.RunWeekRequest{Week: week, TopUp: topUp})
	if err != nil {
		st, ok := status.FromError(err)
		if !ok || (st.Code() != codes.FailedPrecondition && st.Code() != codes.InvalidArgument) {
			return err
		}
		d, derr := c.weeksData(v)
		if derr != nil {
			return derr
		}
		d.Flash, d.Refusal, d.RefusalWeek, d.Week = nil, st.Message(), week, week
		if fe := FieldErrors(err); fe["week"] != "" {
			d.Refusal = fe["week"]
		}
		return c.renderCode(v, httpStatus(st.Code()), "admin/weeks.html", d)
	}
	back := "/weeks"
	if b := v.R.PostFormValue("back"); localPath(b) {
		back = b
	}
	switch {
	case topUp:
		return redirectDone(v, back, "topup_done", int(resp.GetTopUp().GetPicks()))
	case resp.GetCreated():
		return redirectDone(v, back, "run_created", int(resp.GetRun().GetPicks()))
	default:
		return redirectDone(v, back, "run_existed", int(resp.GetRun().GetTotalPicks()))
	}
}

// weekGo opens the preview of the week the form names.
func (c *Console) weekGo(v *View) error {
	v.Title, v.Nav = "admin.weeks.title", "weeks"
	week := strings.TrimSpace(v.R.PostFormValue("week"))
	if w, err := isoweek.Parse(week); err == nil {
		http.Redirect(v.W, v.R, "/weeks/"+w.String()+"/preview", http.StatusSeeOther)
		return nil
	}
	d, err := c.weeksData(v)
	if err != nil {
		return err
	}
	d.Flash, d.Refusal, d.RefusalWeek, d.Week = nil, v.T("admin.weeks.bad_week"), week, week
	return c.renderCode(v, http.StatusBadRequest, "admin/weeks.html", d)
}

// previewData is what a run of the week would pick now, counted by
// reason and by agent.
type previewData struct {
	Week       string
	Preview    *qav1.PreviewWeekResponse
	Ended      bool // the week has ended: it can be run
	Agents     int
	ByReason   []reasonCount
	ByAgent    []agentPicks
	Shortfalls int
}

type reasonCount struct {
	Reason string
	Picks  int
}

type agentPicks struct {
	Agent     string
	Name      string // the directory's; "" when it has none
	Picks     int
	Reasons   string
	Shortfall *qav1.Shortfall
}

// weekOf parses the {week} of the path; a malformed one is not found.
func weekOf(v *View) (isoweek.Week, bool) {
	w, err := isoweek.Parse(v.R.PathValue("week"))
	return w, err == nil
}

func (c *Console) weekPreviewPage(v *View) error {
	v.Title, v.Nav = "admin.preview.title", "weeks"
	week, ok := weekOf(v)
	if !ok {
		return status.Error(codes.NotFound, "no such week")
	}
	resp, err := v.API.Sampling.PreviewWeek(v.Ctx, &qav1.PreviewWeekRequest{Week: week.String()})
	if err != nil {
		return err
	}
	_, end := week.Bounds(v.Zone)
	d := previewData{Week: week.String(), Preview: resp, Ended: !v.c.now().Before(end), Shortfalls: len(resp.GetShortfalls())}
	// The preview lists every pick; this only groups them for reading.
	byReason := map[string]int{}
	byAgent := map[string]*agentPicks{}
	agentReasons := map[string]map[string]int{}
	for _, p := range resp.GetPicks() {
		byReason[p.GetReason()]++
		a := byAgent[p.GetAgentId()]
		if a == nil {
			a = &agentPicks{Agent: p.GetAgentId(), Name: p.GetAgentName()}
			byAgent[p.GetAgentId()] = a
			agentReasons[p.GetAgentId()] = map[string]int{}
		}
		a.Picks++
		agentReasons[p.GetAgentId()][p.GetReason()]++
	}
	for _, sf := range resp.GetShortfalls() {
		a := byAgent[sf.GetAgentId()]
		if a == nil {
			a = &agentPicks{Agent: sf.GetAgentId()}
			byAgent[sf.GetAgentId()] = a
		}
		a.Shortfall = sf
	}
	for r, n := range byReason {
		d.ByReason = append(d.ByReason, reasonCount{Reason: r, Picks: n})
	}
	sort.Slice(d.ByReason, func(i, j int) bool {
		if d.ByReason[i].Picks != d.ByReason[j].Picks {
			return d.ByReason[i].Picks > d.ByReason[j].Picks
		}
		return d.ByReason[i].Reason < d.ByReason[j].Reason
	})
	for id, a := range byAgent {
		var parts []string
		for r, n := range agentReasons[id] {
			parts = append(parts, samplingReasonLabel(v, r)+" ×"+itoa(n))
		}
		sort.Strings(parts)
		a.Reasons = strings.Join(parts, ", ")
		if a.Picks > 0 {
			d.Agents++
		}
		d.ByAgent = append(d.ByAgent, *a)
	}
	sort.Slice(d.ByAgent, func(i, j int) bool { return d.ByAgent[i].Agent < d.ByAgent[j].Agent })
	return c.render(v, "admin/preview.html", d)
}

// weekPicksData is one week: its runs and its picks, filtered and paged.
type weekPicksData struct {
	Flash      *flash
	Week       string
	Runs       []*qav1.Run
	Picks      []*qav1.Pick
	Filter     pickFilter
	Inspectors []*qav1.Inspector
	Paging     pageLinks
	Statuses   []string
}

type pickFilter struct {
	Agent, Reason, Inspector, Status string
	Run                              int64
}

// Active reports whether any filter is set.
func (f pickFilter) Active() bool {
	return f.Agent != "" || f.Reason != "" || f.Inspector != "" || f.Status != "" || f.Run != 0
}

var pickStatuses = []string{"assigned", "pool", "skipped", "reviewed", "disputed"}

func (c *Console) weekPicksPage(v *View) error {
	v.Title, v.Nav = "admin.picks.title", "weeks"
	week, ok := weekOf(v)
	if !ok {
		return status.Error(codes.NotFound, "no such week")
	}
	q := v.R.URL.Query()
	f := pickFilter{
		Agent: strings.TrimSpace(q.Get("agent")), Reason: strings.TrimSpace(q.Get("reason")),
		Inspector: strings.TrimSpace(q.Get("inspector")), Status: q.Get("status"),
	}
	f.Run, _ = parseInt64(q.Get("run"))
	runs, err := v.API.Sampling.ListRuns(v.Ctx, &qav1.ListRunsRequest{Week: week.String()})
	if err != nil {
		return err
	}
	picks, err := v.API.Sampling.ListPicks(v.Ctx, &qav1.ListPicksRequest{
		Week: week.String(), RunId: f.Run, AgentId: f.Agent, Reason: f.Reason, InspectorId: f.Inspector, Status: f.Status,
		PageSize: 100, PageToken: q.Get("page_token"),
	})
	if err != nil {
		return err
	}
	ins, err := v.API.Sampling.ListInspectors(v.Ctx, &qav1.ListInspectorsRequest{PageSize: 1000})
	if err != nil {
		return err
	}
	return c.render(v, "admin/week.html", weekPicksData{
		Flash: flashOf(v), Week: week.String(), Runs: runs.GetRuns(), Picks: picks.GetPicks(), Filter: f,
		Inspectors: ins.GetInspectors(), Paging: pagingOf(v.R, picks.GetNextPageToken()), Statuses: pickStatuses,
	})
}
