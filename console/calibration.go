package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// Calibration pages (issue 12): the QA lead creates, follows and closes
// sessions and reads their results; inspectors see their own sessions,
// and the results once revealed (the server decides who sees what). The
// items themselves are scored on the usual review page.

var calibrationRoles = []string{"admin", "inspector"}

func (c *Console) calibrationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /calibration", c.page(calibrationRoles, c.calibrationListPage))
	mux.HandleFunc("POST /calibration", c.page(adminOnly, c.calibrationCreate))
	mux.HandleFunc("GET /calibration/{id}", c.page(calibrationRoles, c.calibrationSessionPage))
	mux.HandleFunc("POST /calibration/{id}/close", c.page(adminOnly, c.calibrationClose))
}

type calibrationListData struct {
	Flash    *flash
	Admin    bool
	Sessions []*qav1.CalibrationSession
	// The create form: what was typed, and the server's messages.
	Name, Chats, Inspectors, Benchmark, Due string
	Errs                                    fieldErrs
	Active                                  []*qav1.Inspector
}

func (c *Console) calibrationList(v *View, d *calibrationListData) error {
	v.Title, v.Nav = "calibration.title", "calibration"
	d.Admin = v.Who.Role == "admin"
	resp, err := v.API.Calibration.ListCalibrations(v.Ctx, &qav1.ListCalibrationsRequest{PageSize: 200})
	if err != nil {
		return err
	}
	d.Sessions = resp.GetSessions()
	if d.Admin {
		ins, err := v.API.Sampling.ListInspectors(v.Ctx, &qav1.ListInspectorsRequest{})
		if err != nil {
			return err
		}
		for _, in := range ins.GetInspectors() {
			if in.GetActive() {
				d.Active = append(d.Active, in)
			}
		}
	}
	if d.Errs == nil {
		d.Errs = fieldErrs{}
	}
	return nil
}

func (c *Console) calibrationListPage(v *View) error {
	d := &calibrationListData{Flash: flashOf(v)}
	if err := c.calibrationList(v, d); err != nil {
		return err
	}
	return c.render(v, "calibration/list.html", d)
}

func (c *Console) calibrationCreate(v *View) error {
	f := v.R.PostForm
	d := &calibrationListData{Name: f.Get("name"), Chats: f.Get("chats"), Benchmark: f.Get("benchmark"), Due: f.Get("due"),
		Inspectors: strings.Join(f["inspector"], ",")}
	req := &qav1.CreateCalibrationRequest{Name: d.Name, ExternalIds: splitList(d.Chats), BenchmarkId: strings.TrimSpace(d.Benchmark)}
	for _, id := range f["inspector"] {
		if id != req.GetBenchmarkId() || id == "" {
			req.InspectorIds = append(req.InspectorIds, id)
		}
	}
	errs := fieldErrs{}
	if d.Due != "" {
		day, err := time.ParseInLocation(time.DateOnly, d.Due, v.Zone)
		if err != nil {
			errs["due"] = v.T("calibration.due_invalid")
		} else {
			req.Due = timestamppb.New(day.AddDate(0, 0, 1)) // the end of that day
		}
	}
	if len(errs) == 0 {
		resp, err := v.API.Calibration.CreateCalibration(v.Ctx, req)
		if err == nil {
			return redirectDone(v, "/calibration/"+strconv.FormatInt(resp.GetSession().GetId(), 10), "calibration_created", 0)
		}
		if !addFormErrors(errs, err) {
			return err
		}
	}
	d.Errs = errs
	if err := c.calibrationList(v, d); err != nil {
		return err
	}
	return c.renderCode(v, http.StatusBadRequest, "calibration/list.html", d)
}

// calibrationCell is one rating in the results table.
type calibrationCell struct {
	Text      string
	Deviates  bool
	Deviation string // signed, in points; "" without a reference
}

type calibrationChatRow struct {
	ExternalID string
	Cells      []calibrationCell
	Benchmark  calibrationCell
	Agreement  string
}

// calibrationDimension is the results table of one dimension.
type calibrationDimension struct {
	Key, Name string
	Max       int32
	Rows      []calibrationChatRow
}

type calibrationInspectorRow struct {
	ID, Agreement, Bias, BiasPercent, ScoreBias, Reference string
	Benchmark                                              bool
	Finalised                                              int32
	Lenient, Strict                                        bool
}

type calibrationAlphaRow struct {
	Key, Value, Verdict string
	Pairable            int32
}

type calibrationSessionData struct {
	Flash      *flash
	Admin      bool
	Session    *qav1.CalibrationSession
	Results    bool
	Alphas     []calibrationAlphaRow
	Inspectors []calibrationInspectorRow
	Dimensions []calibrationDimension
}

func optText(f *float64, format string) string {
	if f == nil {
		return "—"
	}
	return fmt.Sprintf(format, *f)
}

func cellOf(r *qav1.CalibrationRating) calibrationCell {
	switch {
	case r == nil:
		return calibrationCell{Text: "—"}
	case r.GetMissing():
		return calibrationCell{Text: "…"}
	case r.GetNa():
		return calibrationCell{Text: "N/A"}
	}
	cell := calibrationCell{Text: strconv.Itoa(int(r.GetValue())), Deviates: r.GetDeviates()}
	if r.Deviation != nil {
		cell.Deviation = fmt.Sprintf("%+.1f", r.GetDeviation())
	}
	return cell
}

func (c *Console) calibrationSessionPage(v *View) error {
	v.Title, v.Nav = "calibration.session_title", "calibration"
	id, err := strconv.ParseInt(v.R.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return status.Error(codes.NotFound, "no such session")
	}
	d := &calibrationSessionData{Flash: flashOf(v), Admin: v.Who.Role == "admin"}
	got, err := v.API.Calibration.GetCalibration(v.Ctx, &qav1.GetCalibrationRequest{Id: id})
	if err != nil {
		return err
	}
	d.Session = got.GetSession()
	if !d.Admin && !d.Session.GetRevealed() {
		return c.render(v, "calibration/session.html", d)
	}
	resp, err := v.API.Calibration.GetCalibrationResults(v.Ctx, &qav1.GetCalibrationResultsRequest{Id: id})
	if err != nil {
		return err
	}
	d.Session, d.Results = resp.GetSession(), true
	res := resp.GetResults()
	a := res.GetAlpha()
	for _, row := range []struct {
		key string
		a   *qav1.Alpha
	}{{"calibration.alpha.interval", a.GetInterval()}, {"calibration.alpha.ordinal", a.GetOrdinal()},
		{"calibration.alpha.flags", a.GetFlagsNominal()}, {"calibration.alpha.score", a.GetScoreInterval()}} {
		d.Alphas = append(d.Alphas, calibrationAlphaRow{Key: row.key, Value: optText(row.a.Value, "%.3f"),
			Verdict: row.a.GetVerdict(), Pairable: row.a.GetPairable()})
	}
	for _, r := range res.GetInspectors() {
		d.Inspectors = append(d.Inspectors, calibrationInspectorRow{
			ID: r.GetInspectorId(), Benchmark: r.GetBenchmark(), Finalised: r.GetFinalised(),
			Agreement: optText(r.MeanAgreement, "%.2f"), Bias: optText(r.Bias, "%+.2f"), BiasPercent: optText(r.BiasPercent, "%+.1f%%"),
			ScoreBias: optText(r.ScoreBias, "%+.1f"), Reference: r.GetReference(),
			// A third of a point on average, either way, is worth a look.
			Lenient: r.Bias != nil && r.GetBias() >= 0.3, Strict: r.Bias != nil && r.GetBias() <= -0.3,
		})
	}
	byKey := map[string]int{}
	for _, u := range res.GetUnits() {
		i, ok := byKey[u.GetDimension()]
		if !ok {
			i = len(d.Dimensions)
			byKey[u.GetDimension()] = i
			d.Dimensions = append(d.Dimensions, calibrationDimension{Key: u.GetDimension(), Name: u.GetDimensionName(), Max: u.GetMax()})
		}
		row := calibrationChatRow{ExternalID: u.GetExternalId(), Benchmark: cellOf(u.GetBenchmark())}
		var sum float64
		var n int
		for _, r := range u.GetRatings() {
			row.Cells = append(row.Cells, cellOf(r))
			if r.Agreement != nil {
				sum += r.GetAgreement()
				n++
			}
		}
		row.Agreement = "—"
		if n > 0 {
			row.Agreement = fmt.Sprintf("%.2f", sum/float64(n))
		}
		d.Dimensions[i].Rows = append(d.Dimensions[i].Rows, row)
	}
	return c.render(v, "calibration/session.html", d)
}

func (c *Console) calibrationClose(v *View) error {
	id, err := strconv.ParseInt(v.R.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return status.Error(codes.NotFound, "no such session")
	}
	if _, err := v.API.Calibration.CloseCalibration(v.Ctx, &qav1.CloseCalibrationRequest{Id: id}); err != nil {
		if status.Code(err) == codes.FailedPrecondition {
			return redirectDone(v, "/calibration/"+strconv.FormatInt(id, 10), "calibration_closed_already", 0)
		}
		return err
	}
	return redirectDone(v, "/calibration/"+strconv.FormatInt(id, 10), "calibration_closed", 0)
}
