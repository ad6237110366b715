package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// policyForm is the policy as the editor shows it: numbers and lists as
// typed, the named rules as the JSON the API accepts.
type policyForm struct {
	RandomPerAgent, TargetedPerAgent, NewHireDays, NewHireExtra string
	TimeZone, HandleTimePercentile                              string
	Rules, ComplaintTags, EscalationTags, VipTiers              string
	EscalationMinTransfers, LowCsatMax                          string
	NamedRules                                                  string
	// JSON is the whole policy as JSON, for the text editor.
	JSON string
}

// policyData is the policy editor.
type policyData struct {
	Flash *flash
	// Base is the version the form started from; Newest the newest.
	Base, Newest int64
	Current      *qav1.Policy
	Form         policyForm
	Errs         fieldErrs
	// Others are messages for fields the form has no input of.
	Others []string
	// Valid is set after a successful validation.
	Valid    bool
	Versions []policyVersion
	// JSONMode: the whole-policy text was submitted; its messages show
	// under it.
	JSONMode bool
}

type policyVersion struct {
	Version string
	Event   *qav1.AuditEvent
}

var jsonOptions = protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}

func formOfPolicy(p *qav1.Policy) policyForm {
	num := func(n int32) string { return strconv.Itoa(int(n)) }
	f := policyForm{
		RandomPerAgent: num(p.GetRandomPerAgent()), TargetedPerAgent: num(p.GetTargetedPerAgent()),
		NewHireDays: num(p.GetNewHireDays()), NewHireExtra: num(p.GetNewHireExtra()),
		TimeZone: p.GetTimeZone(), HandleTimePercentile: strconv.FormatFloat(p.GetHandleTimePercentile(), 'f', -1, 64),
		Rules: strings.Join(p.GetRules(), "\n"), ComplaintTags: strings.Join(p.GetComplaintTags(), "\n"),
		EscalationTags: strings.Join(p.GetEscalationTags(), "\n"), VipTiers: strings.Join(p.GetVipTiers(), "\n"),
		NamedRules: "[]",
	}
	if p.EscalationMinTransfers != nil {
		f.EscalationMinTransfers = num(p.GetEscalationMinTransfers())
	}
	if p.LowCsatMax != nil {
		f.LowCsatMax = num(p.GetLowCsatMax())
	}
	if len(p.GetNamedRules()) > 0 {
		parts := make([]json.RawMessage, 0, len(p.GetNamedRules()))
		for _, nr := range p.GetNamedRules() {
			b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(nr)
			if err == nil {
				parts = append(parts, b)
			}
		}
		if b, err := json.MarshalIndent(parts, "", "  "); err == nil {
			f.NamedRules = string(b)
		}
	}
	// The whole policy, without what the server sets.
	editable := proto.Clone(p).(*qav1.Policy)
	editable.Version, editable.CreatedBy, editable.CreatedAt = 0, "", nil
	if b, err := jsonOptions.Marshal(editable); err == nil {
		f.JSON = string(b)
	}
	return f
}

// policyOfForm reads the structured form; errs gets a message for each
// field that is not even of the right kind (the API checks the rest).
func (c *Console) policyOfForm(v *View, errs fieldErrs) (*qav1.Policy, policyForm) {
	r := v.R
	f := policyForm{
		RandomPerAgent: r.PostFormValue("random_per_agent"), TargetedPerAgent: r.PostFormValue("targeted_per_agent"),
		NewHireDays: r.PostFormValue("new_hire_days"), NewHireExtra: r.PostFormValue("new_hire_extra"),
		TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")), HandleTimePercentile: r.PostFormValue("handle_time_percentile"),
		Rules: r.PostFormValue("rules"), ComplaintTags: r.PostFormValue("complaint_tags"),
		EscalationTags: r.PostFormValue("escalation_tags"), VipTiers: r.PostFormValue("vip_tiers"),
		EscalationMinTransfers: r.PostFormValue("escalation_min_transfers"), LowCsatMax: r.PostFormValue("low_csat_max"),
		NamedRules: r.PostFormValue("named_rules"),
	}
	p := &qav1.Policy{
		TimeZone: f.TimeZone, Rules: splitList(f.Rules), ComplaintTags: splitList(f.ComplaintTags),
		EscalationTags: splitList(f.EscalationTags), VipTiers: splitList(f.VipTiers),
	}
	whole := func(field string, dst *int32) {
		n, ok := formInt(r, field)
		if !ok || n != int64(int32(n)) {
			errs["policy."+field] = v.T("admin.form.whole_number")
			return
		}
		*dst = int32(n)
	}
	whole("random_per_agent", &p.RandomPerAgent)
	whole("targeted_per_agent", &p.TargetedPerAgent)
	whole("new_hire_days", &p.NewHireDays)
	whole("new_hire_extra", &p.NewHireExtra)
	optional := func(field, s string) *int32 {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		var n int32
		whole(field, &n)
		return &n
	}
	p.EscalationMinTransfers = optional("escalation_min_transfers", f.EscalationMinTransfers)
	p.LowCsatMax = optional("low_csat_max", f.LowCsatMax)
	if s := strings.TrimSpace(f.HandleTimePercentile); s != "" {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs["policy.handle_time_percentile"] = v.T("admin.form.number")
		}
		p.HandleTimePercentile = x
	}
	if s := strings.TrimSpace(f.NamedRules); s != "" && s != "[]" {
		var holder qav1.Policy
		if err := protojson.Unmarshal([]byte(`{"named_rules":`+s+`}`), &holder); err != nil {
			errs["policy.named_rules"] = v.T("admin.form.json") + " " + err.Error()
		}
		p.NamedRules = holder.GetNamedRules()
	}
	return p, f
}

func (c *Console) policyPage(v *View) error {
	v.Title, v.Nav = "admin.policy.title", "policy"
	version, _ := parseInt64(v.R.URL.Query().Get("version"))
	if version < 0 {
		version = 0
	}
	resp, err := v.API.Sampling.GetPolicy(v.Ctx, &qav1.GetPolicyRequest{Version: version})
	if err != nil {
		return err
	}
	d, err := c.policyData(v, resp.GetPolicy())
	if err != nil {
		return err
	}
	d.Flash = flashOf(v)
	d.Form = formOfPolicy(resp.GetPolicy())
	return c.render(v, "admin/policy.html", d)
}

// policyData fills what every state of the editor shows: the newest
// version and the list of versions (from the audit trail, which records
// who stored each and when).
func (c *Console) policyData(v *View, base *qav1.Policy) (*policyData, error) {
	newest := base
	if base.GetVersion() != 0 {
		resp, err := v.API.Sampling.GetPolicy(v.Ctx, &qav1.GetPolicyRequest{})
		if err != nil {
			return nil, err
		}
		newest = resp.GetPolicy()
	}
	events, err := v.API.Audit.ListAuditEvents(v.Ctx, &qav1.ListAuditEventsRequest{Entity: "policy", Action: "policy.create", PageSize: 1000})
	if err != nil {
		return nil, err
	}
	d := &policyData{Base: base.GetVersion(), Newest: newest.GetVersion(), Current: newest, Errs: fieldErrs{}}
	evs := events.GetEvents()
	for i := len(evs) - 1; i >= 0 && len(d.Versions) < 50; i-- {
		d.Versions = append(d.Versions, policyVersion{Version: evs[i].GetEntityId(), Event: evs[i]})
	}
	return d, nil
}

// policyFields are the inputs of the structured form; a message for any
// other field shows above the form.
var policyFields = []string{
	"policy.random_per_agent", "policy.targeted_per_agent", "policy.new_hire_days", "policy.new_hire_extra",
	"policy.time_zone", "policy.handle_time_percentile", "policy.rules", "policy.complaint_tags",
	"policy.escalation_tags", "policy.vip_tiers", "policy.escalation_min_transfers", "policy.low_csat_max",
	"policy.named_rules",
}

// policySubmit validates the edited policy (action validate) or stores it
// as a new version (action save). The API's field messages come back next
// to the fields; a stored version goes back to the editor with its number.
func (c *Console) policySubmit(v *View) error {
	v.Title, v.Nav = "admin.policy.title", "policy"
	errs := fieldErrs{}
	var p *qav1.Policy
	var form policyForm
	if v.R.PostFormValue("mode") == "json" {
		form.JSON = v.R.PostFormValue("policy_json")
		p = &qav1.Policy{}
		if err := protojson.Unmarshal([]byte(form.JSON), p); err != nil {
			errs["policy_json"] = v.T("admin.form.json") + " " + err.Error()
		}
	} else {
		p, form = c.policyOfForm(v, errs)
	}
	base, _ := parseInt64(v.R.PostFormValue("base"))
	render := func(code int, valid bool) error {
		d, err := c.policyData(v, &qav1.Policy{Version: base})
		if err != nil {
			return err
		}
		if v.R.PostFormValue("mode") == "json" {
			// Keep the text as typed; the structured form shows the policy read.
			text := form.JSON
			form = formOfPolicy(p)
			form.JSON = text
		} else {
			form.JSON = formOfPolicy(p).JSON
		}
		d.Form, d.Errs, d.Valid, d.Base = form, errs, valid, base
		d.JSONMode = v.R.PostFormValue("mode") == "json"
		d.Others = errs.Except(append(policyFields, "policy_json")...)
		return c.renderCode(v, code, "admin/policy.html", d)
	}
	if len(errs) > 0 {
		return render(http.StatusBadRequest, false)
	}
	var err error
	var saved *qav1.Policy
	if v.R.PostFormValue("action") == "save" {
		var resp *qav1.UpdatePolicyResponse
		resp, err = v.API.Sampling.UpdatePolicy(v.Ctx, &qav1.UpdatePolicyRequest{Policy: p})
		saved = resp.GetPolicy()
	} else {
		_, err = v.API.Sampling.ValidatePolicy(v.Ctx, &qav1.ValidatePolicyRequest{Policy: p})
	}
	if err != nil {
		if !addFormErrors(errs, err) {
			return err
		}
		return render(http.StatusBadRequest, false)
	}
	if saved != nil {
		return redirectDone(v, "/policy", "policy_saved", int(saved.GetVersion()))
	}
	return render(http.StatusOK, true)
}

// formField is one input of the editor: its name, value as typed, and the
// API's messages for it.
type formField struct {
	Name, Value string
	Errs        []string
}

// Field is the structured form's input name.
func (d *policyData) Field(name string) formField {
	f := d.Form
	values := map[string]string{
		"random_per_agent": f.RandomPerAgent, "targeted_per_agent": f.TargetedPerAgent,
		"new_hire_days": f.NewHireDays, "new_hire_extra": f.NewHireExtra,
		"complaint_tags": f.ComplaintTags, "escalation_tags": f.EscalationTags, "vip_tiers": f.VipTiers,
		"escalation_min_transfers": f.EscalationMinTransfers, "low_csat_max": f.LowCsatMax,
	}
	return formField{Name: name, Value: values[name], Errs: d.Errs.For("policy." + name)}
}
