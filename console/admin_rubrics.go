package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
)

type rubricsData struct {
	Flash   *flash
	Rubrics []*qav1.Rubric
}

func (c *Console) rubricsPage(v *View) error {
	v.Title, v.Nav = "admin.rubrics.title", "rubrics"
	resp, err := v.API.Rubric.ListRubrics(v.Ctx, &qav1.ListRubricsRequest{PageSize: 1000})
	if err != nil {
		return err
	}
	// Newest first: the one being worked on is at the top.
	rs := resp.GetRubrics()
	out := make([]*qav1.Rubric, 0, len(rs))
	for i := len(rs) - 1; i >= 0; i-- {
		out = append(out, rs[i])
	}
	return c.render(v, "admin/rubrics.html", rubricsData{Flash: flashOf(v), Rubrics: out})
}

func (c *Console) rubricActivate(v *View) error {
	version, ok := parseInt64(v.R.PathValue("version"))
	if !ok || version <= 0 {
		return status.Error(codes.NotFound, "no such rubric version")
	}
	resp, err := v.API.Rubric.ActivateRubric(v.Ctx, &qav1.ActivateRubricRequest{Version: version})
	if err != nil {
		return err
	}
	return redirectDone(v, "/rubrics", "rubric_activated", int(resp.GetRubric().GetVersion()))
}

// rubricForm is a rubric as the editor shows it, a row per dimension and
// flag, with blank rows to add more.
type rubricForm struct {
	From                  int64
	Name                  string
	Excellent, Good, Pass string
	Dimensions            []dimensionRow
	Flags                 []flagRow
	Activate              bool
}

type dimensionRow struct {
	Key, Name, Weight, Criteria, Max string
	AllowNA, Critical                bool
}

type flagRow struct {
	Key, Name, Description string
}

// Blank rows the editor offers for new dimensions and flags.
const (
	blankDimensions = 2
	blankFlags      = 1
)

type rubricEditData struct {
	Form   rubricForm
	Errs   fieldErrs
	Others []string
	Valid  bool
}

func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func formOfRubric(r *qav1.Rubric) rubricForm {
	f := rubricForm{From: r.GetVersion(), Name: r.GetName()}
	if t := r.GetThresholds(); t != nil {
		f.Excellent, f.Good, f.Pass = number(t.GetExcellent()), number(t.GetGood()), number(t.GetPass())
	}
	for _, d := range r.GetDimensions() {
		f.Dimensions = append(f.Dimensions, dimensionRow{
			Key: d.GetKey(), Name: d.GetName(), Weight: number(d.GetWeight()), Criteria: d.GetCriteria(),
			Max: strconv.Itoa(int(d.GetMax())), AllowNA: d.GetAllowNa(), Critical: d.GetCritical(),
		})
	}
	for _, fl := range r.GetFlags() {
		f.Flags = append(f.Flags, flagRow{Key: fl.GetKey(), Name: fl.GetName(), Description: fl.GetDescription()})
	}
	return f.withBlanks()
}

func (f rubricForm) withBlanks() rubricForm {
	for range blankDimensions {
		f.Dimensions = append(f.Dimensions, dimensionRow{Max: "5"})
	}
	for range blankFlags {
		f.Flags = append(f.Flags, flagRow{})
	}
	return f
}

func (c *Console) rubricNewPage(v *View) error {
	v.Title, v.Nav = "admin.rubric_new.title", "rubrics"
	from, _ := parseInt64(v.R.URL.Query().Get("from"))
	if from < 0 {
		from = 0
	}
	resp, err := v.API.Rubric.GetRubric(v.Ctx, &qav1.GetRubricRequest{Version: from})
	if err != nil {
		return err
	}
	return c.render(v, "admin/rubric_new.html", rubricEditData{Form: formOfRubric(resp.GetRubric()), Errs: fieldErrs{}})
}

// rubricOfForm reads the editor. Rows left wholly blank are dropped, so
// the API's indexes (dimensions[2]) count the rows that remain, which is
// how the form is shown again.
func (c *Console) rubricOfForm(v *View, errs fieldErrs) (*qav1.Rubric, rubricForm) {
	r := v.R
	f := rubricForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), Excellent: r.PostFormValue("excellent"),
		Good: r.PostFormValue("good"), Pass: r.PostFormValue("pass"), Activate: r.PostFormValue("activate") != "",
	}
	f.From, _ = parseInt64(r.PostFormValue("from"))
	num := func(field, s string) float64 {
		s = strings.TrimSpace(s)
		if s == "" {
			return 0
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs["rubric."+field] = v.T("admin.form.number")
		}
		return x
	}
	rb := &qav1.Rubric{Name: f.Name, Thresholds: &qav1.GradeThresholds{
		Excellent: num("thresholds.excellent", f.Excellent), Good: num("thresholds.good", f.Good), Pass: num("thresholds.pass", f.Pass),
	}}
	rows, _ := strconv.Atoi(r.PostFormValue("dimension_rows"))
	for i := 0; i < rows && i < 100; i++ {
		p := fmt.Sprintf("d%d_", i)
		row := dimensionRow{
			Key: strings.TrimSpace(r.PostFormValue(p + "key")), Name: strings.TrimSpace(r.PostFormValue(p + "name")),
			Weight: r.PostFormValue(p + "weight"), Criteria: r.PostFormValue(p + "criteria"), Max: r.PostFormValue(p + "max"),
			AllowNA: r.PostFormValue(p+"allow_na") != "", Critical: r.PostFormValue(p+"critical") != "",
		}
		if row.Key == "" && row.Name == "" && strings.TrimSpace(row.Weight) == "" && strings.TrimSpace(row.Criteria) == "" {
			continue
		}
		field := fmt.Sprintf("dimensions[%d]", len(f.Dimensions))
		f.Dimensions = append(f.Dimensions, row)
		maxRating := num(field+".max", row.Max)
		rb.Dimensions = append(rb.Dimensions, &qav1.Dimension{
			Key: row.Key, Name: row.Name, Weight: num(field+".weight", row.Weight), Criteria: row.Criteria,
			Max: int32(maxRating), AllowNa: row.AllowNA, Critical: row.Critical,
		})
	}
	rows, _ = strconv.Atoi(r.PostFormValue("flag_rows"))
	for i := 0; i < rows && i < 100; i++ {
		p := fmt.Sprintf("f%d_", i)
		row := flagRow{Key: strings.TrimSpace(r.PostFormValue(p + "key")), Name: strings.TrimSpace(r.PostFormValue(p + "name")), Description: r.PostFormValue(p + "description")}
		if row.Key == "" && row.Name == "" && strings.TrimSpace(row.Description) == "" {
			continue
		}
		f.Flags = append(f.Flags, row)
		rb.Flags = append(rb.Flags, &qav1.CriticalFlag{Key: row.Key, Name: row.Name, Description: row.Description})
	}
	return rb, f
}

// rubricSubmit validates the edited rubric (action validate) or creates it
// as a new version (action create), active at once if asked.
func (c *Console) rubricSubmit(v *View) error {
	v.Title, v.Nav = "admin.rubric_new.title", "rubrics"
	errs := fieldErrs{}
	rb, form := c.rubricOfForm(v, errs)
	render := func(code int, valid bool) error {
		d := rubricEditData{Form: form.withBlanks(), Errs: errs, Valid: valid}
		known := []string{"rubric.name", "rubric.thresholds.excellent", "rubric.thresholds.good", "rubric.thresholds.pass", "rubric.flags"}
		for i := range form.Dimensions {
			known = append(known, fmt.Sprintf("rubric.dimensions[%d]", i))
		}
		// The sum of weights and the count are about all dimensions: shown
		// above the table, with the rest.
		d.Others = errs.Except(known...)
		return c.renderCode(v, code, "admin/rubric_new.html", d)
	}
	if len(errs) > 0 {
		return render(http.StatusBadRequest, false)
	}
	var err error
	var created *qav1.Rubric
	if v.R.PostFormValue("action") == "create" {
		var resp *qav1.CreateRubricResponse
		resp, err = v.API.Rubric.CreateRubric(v.Ctx, &qav1.CreateRubricRequest{Rubric: rb, Activate: form.Activate})
		created = resp.GetRubric()
	} else {
		_, err = v.API.Rubric.ValidateRubric(v.Ctx, &qav1.ValidateRubricRequest{Rubric: rb})
	}
	if err != nil {
		if !addFormErrors(errs, err) {
			return err
		}
		return render(http.StatusBadRequest, false)
	}
	if created != nil {
		name := "rubric_created"
		if created.GetActive() {
			name = "rubric_created_active"
		}
		return redirectDone(v, "/rubrics", name, int(created.GetVersion()))
	}
	return render(http.StatusOK, true)
}
