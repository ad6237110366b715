package console

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
)

// checkReportData is the automatic checks' report page: how each check fires and
// agrees with inspectors, the set's dimensions and the re-runs.
type checkReportData struct {
	Flash   *flash
	Weeks   int32
	Report  *qav1.GetCheckReportResponse
	Set     *qav1.CheckSet
	Reruns  []*qav1.CheckRerun
	Week    string
	Refusal string
}

// checkRow is one check's line of the agreement table.
type checkRow struct {
	*qav1.CheckAgreement
	Noisy bool
}

// Rows are the report's checks, a check whose precision is below one
// half marked as noisy (more false alarms than true ones).
func (d checkReportData) Rows() []checkRow {
	out := make([]checkRow, 0, len(d.Report.GetChecks()))
	for _, c := range d.Report.GetChecks() {
		out = append(out, checkRow{CheckAgreement: c, Noisy: c.GetHasPrecision() && c.GetPrecision() < 0.5})
	}
	return out
}

// Dimension is the dimension check key maps to in the set.
func (d checkReportData) Dimension(key string) string { return d.Set.GetDimensions()[key] }

// WeekChoices are the ranges the page offers.
func (checkReportData) WeekChoices() []int32 { return []int32{1, 4, 12} }

// RateText, PrecisionText and RecallText show the shares as percentages,
// "–" where there was nothing to judge by (for the rate: the check ran on
// no chat of the weeks).
func (r checkRow) RateText() string      { return percent(r.GetRate(), r.GetChats() > 0) }
func (r checkRow) PrecisionText() string { return percent(r.GetPrecision(), r.GetHasPrecision()) }
func (r checkRow) RecallText() string    { return percent(r.GetRecall(), r.GetHasRecall()) }

func percent(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func (c *Console) checkReportData(v *View) (checkReportData, error) {
	d := checkReportData{Flash: flashOf(v), Weeks: 4}
	if n, err := strconv.Atoi(v.R.URL.Query().Get("weeks")); err == nil && n >= 1 && n <= 52 {
		d.Weeks = int32(n)
	}
	var err error
	if d.Report, err = v.API.CheckReport.GetCheckReport(v.Ctx, &qav1.GetCheckReportRequest{Weeks: d.Weeks}); err != nil {
		return d, err
	}
	set, err := v.API.Checks.GetCheckSet(v.Ctx, &qav1.GetCheckSetRequest{})
	if err != nil {
		return d, err
	}
	d.Set = set.GetCheckSet()
	reruns, err := v.API.CheckReport.ListCheckReruns(v.Ctx, &qav1.ListCheckRerunsRequest{Limit: 10})
	if err != nil {
		return d, err
	}
	d.Reruns = reruns.GetReruns()
	if len(d.Report.GetWeeks()) > 0 {
		d.Week = d.Report.GetWeeks()[len(d.Report.GetWeeks())-1]
	}
	return d, nil
}

func (c *Console) checkReportPage(v *View) error {
	v.Title, v.Nav = "admin.checkreport.title", "checks"
	d, err := c.checkReportData(v)
	if err != nil {
		return err
	}
	return c.render(v, "admin/check_report.html", d)
}

// checkReportRerun starts a re-run of the week the form names.
func (c *Console) checkReportRerun(v *View) error {
	v.Title, v.Nav = "admin.checkreport.title", "checks"
	week := strings.TrimSpace(v.R.PostFormValue("week"))
	resp, err := v.API.CheckReport.StartCheckRerun(v.Ctx, &qav1.StartCheckRerunRequest{Week: week})
	if err != nil {
		// A bad week, or a week whose re-run under an older set still
		// runs (the server names the job): shown at the field.
		st, ok := status.FromError(err)
		if !ok || (st.Code() != codes.InvalidArgument && st.Code() != codes.FailedPrecondition) {
			return err
		}
		d, derr := c.checkReportData(v)
		if derr != nil {
			return derr
		}
		d.Flash, d.Refusal, d.Week = nil, st.Message(), week
		if fe := FieldErrors(err); fe["week"] != "" {
			d.Refusal = fe["week"]
		}
		return c.renderCode(v, httpStatus(st.Code()), "admin/check_report.html", d)
	}
	return redirectDone(v, "/checks/report", "rerun_started", int(resp.GetRerun().GetTotal()))
}
