package console

import (
	"net/http"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// checksData is the check set editor: the newest version, summarised, and
// the whole set as the JSON `qactl checks set` reads.
type checksData struct {
	Flash   *flash
	Current *qav1.CheckSet
	JSON    string
	Errs    fieldErrs
	Valid   bool
}

// checkKeys are the checks, in the order the summary lists them.
var checkKeys = []string{"slow_first_response", "slow_reply", "no_greeting", "no_closing", "forbidden_phrase", "no_empathy"}

// Keys lists the checks for the template.
func (d *checksData) Keys() []string { return checkKeys }

// Disabled reports whether check key is off in the newest version.
func (d *checksData) Disabled(key string) bool {
	for _, k := range d.Current.GetDisabled() {
		if k == key {
			return true
		}
	}
	return false
}

// editableCheckSet is s as JSON without what the server sets.
func editableCheckSet(s *qav1.CheckSet) string {
	e := proto.Clone(s).(*qav1.CheckSet)
	e.Version, e.CreatedBy, e.CreatedAt = 0, "", nil
	b, err := jsonOptions.Marshal(e)
	if err != nil {
		return ""
	}
	return string(b)
}

func (c *Console) checksPage(v *View) error {
	v.Title, v.Nav = "admin.checks.title", "checks"
	resp, err := v.API.Checks.GetCheckSet(v.Ctx, &qav1.GetCheckSetRequest{})
	if err != nil {
		return err
	}
	d := &checksData{Flash: flashOf(v), Current: resp.GetCheckSet(), JSON: editableCheckSet(resp.GetCheckSet()), Errs: fieldErrs{}}
	return c.render(v, "admin/checks.html", d)
}

// checksSubmit validates the edited set (action validate) or stores it as
// a new version (action save); the API's messages, each naming its field,
// come back above the text as typed.
func (c *Console) checksSubmit(v *View) error {
	v.Title, v.Nav = "admin.checks.title", "checks"
	current, err := v.API.Checks.GetCheckSet(v.Ctx, &qav1.GetCheckSetRequest{})
	if err != nil {
		return err
	}
	d := &checksData{Current: current.GetCheckSet(), JSON: v.R.PostFormValue("check_set_json"), Errs: fieldErrs{}}
	set := &qav1.CheckSet{}
	if err := protojson.Unmarshal([]byte(d.JSON), set); err != nil {
		d.Errs["check_set_json"] = v.T("admin.form.json") + " " + err.Error()
		return c.renderCode(v, http.StatusBadRequest, "admin/checks.html", d)
	}
	var saved *qav1.CheckSet
	if v.R.PostFormValue("action") == "save" {
		var resp *qav1.UpdateCheckSetResponse
		resp, err = v.API.Checks.UpdateCheckSet(v.Ctx, &qav1.UpdateCheckSetRequest{CheckSet: set})
		saved = resp.GetCheckSet()
	} else {
		_, err = v.API.Checks.ValidateCheckSet(v.Ctx, &qav1.ValidateCheckSetRequest{CheckSet: set})
	}
	if err != nil {
		if !addFormErrors(d.Errs, err) {
			return err
		}
		return c.renderCode(v, http.StatusBadRequest, "admin/checks.html", d)
	}
	if saved != nil {
		return redirectDone(v, "/checks", "checks_saved", int(saved.GetVersion()))
	}
	d.Valid = true
	return c.render(v, "admin/checks.html", d)
}
