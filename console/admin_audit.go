package console

import (
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

type disputesData struct {
	Status   string
	Disputes []*qav1.Dispute
	Paging   pageLinks
}

func (c *Console) disputesPage(v *View) error {
	v.Title, v.Nav = "admin.disputes.title", "disputes"
	st := v.R.URL.Query().Get("status")
	if st != "open" && st != "resolved" {
		st = ""
	}
	resp, err := v.API.Feedback.ListDisputes(v.Ctx, &qav1.ListDisputesRequest{Status: st, PageSize: 100, PageToken: v.R.URL.Query().Get("page_token")})
	if err != nil {
		return err
	}
	return c.render(v, "admin/disputes.html", disputesData{Status: st, Disputes: resp.GetDisputes(), Paging: pagingOf(v.R, resp.GetNextPageToken())})
}

// auditData is the audit log with its filters.
type auditData struct {
	Action, Actor, Entity, EntityID, Since, Until string
	Events                                        []*qav1.AuditEvent
	Paging                                        pageLinks
	Errs                                          fieldErrs
}

// auditActions are the actions the filter offers (README, audit trail).
var auditActions = []string{
	"policy.create", "checks.create", "checks.rerun", "checks.rerun.done", "checks.rerun.fail", "run.create", "run.complete", "run.top_up",
	"inspector.create", "inspector.update", "inspector.deactivate",
	"token.create", "token.revoke", "session.start", "session.end", "session.revoke", "login_link.create",
	"rubric.create", "rubric.update", "rubric.activate",
	"pick.reassign", "pick.return",
	"review.create", "review.update", "review.finalize", "review.retract",
	"feedback.create", "feedback.acknowledge",
	"dispute.open", "dispute.resolve", "dispute.reassign",
	"calibration.create", "calibration.draft", "calibration.close", "calibration.finalize",
}

// Actions lists the actions to filter by.
func (auditData) Actions() []string { return auditActions }

// ActionLabel names an action in the visitor's words; "" for one without
// a label (shown as its code alone).
func (auditData) ActionLabel(v *View, action string) string {
	key := "admin.audit.action." + action
	if label := v.T(key); label != key {
		return label
	}
	return ""
}

// dayIn reads a yyyy-mm-dd date as its midnight in zone.
func dayIn(s string, zone *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), zone)
	return t, err == nil
}

func (c *Console) auditPage(v *View) error {
	v.Title, v.Nav = "admin.audit.title", "audit"
	q := v.R.URL.Query()
	d := auditData{
		Action: strings.TrimSpace(q.Get("action")), Actor: strings.TrimSpace(q.Get("actor")),
		Entity: strings.TrimSpace(q.Get("entity")), EntityID: strings.TrimSpace(q.Get("entity_id")),
		Since: q.Get("since"), Until: q.Get("until"), Errs: fieldErrs{},
	}
	req := &qav1.ListAuditEventsRequest{
		Action: d.Action, Actor: d.Actor, Entity: d.Entity, EntityId: d.EntityID,
		PageSize: 100, PageToken: q.Get("page_token"), NewestFirst: true,
	}
	// Dates are days in the programme's zone; until includes its day.
	if d.Since != "" {
		if t, ok := dayIn(d.Since, v.Zone); ok {
			req.Since = timestamppb.New(t)
		} else {
			d.Errs["since"] = v.T("admin.form.date")
		}
	}
	if d.Until != "" {
		if t, ok := dayIn(d.Until, v.Zone); ok {
			req.Until = timestamppb.New(t.AddDate(0, 0, 1))
		} else {
			d.Errs["until"] = v.T("admin.form.date")
		}
	}
	if len(d.Errs) == 0 {
		resp, err := v.API.Audit.ListAuditEvents(v.Ctx, req)
		if err != nil {
			fe := FieldErrors(err)
			if len(fe) == 0 {
				return err
			}
			for k, m := range fe {
				d.Errs[k] = m
			}
		} else {
			d.Events, d.Paging = resp.GetEvents(), pagingOf(v.R, resp.GetNextPageToken())
		}
	}
	code := 200
	if len(d.Errs) > 0 {
		code = 400
	}
	return c.renderCode(v, code, "admin/audit.html", d)
}
