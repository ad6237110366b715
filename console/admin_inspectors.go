package console

import (
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// inspectorsData is the workload page: each inspector's open items, the
// pool, and the forms that move items.
type inspectorsData struct {
	Flash      *flash
	Inspectors []*qav1.Inspector
	Pool       int32
	Paging     pageLinks
	// Shown is the inspector whose open items are listed to pick from.
	Shown *qav1.Inspector
	Items []*qav1.Pick
	// MoreItems: the inspector has more open items than listed.
	MoreItems bool
	// Result is what a move left behind, in the server's words.
	Result *moveResult
	Errs   fieldErrs
	// NewID and NewName are the add form's values.
	NewID, NewName string
	// Quality is each inspector's severity, overturns and calibration
	// over QualityWeeks (the page only); QualityErr says why it is missing.
	Quality      []inspectorQuality
	QualityWeeks []string
	QualityErr   string
}

type moveResult struct {
	Moved    int
	NotMoved []unmoved
}

type unmoved struct {
	Item   int64
	Reason string
}

// ActiveOthers are the active inspectors but id: where items may go.
func (d inspectorsData) ActiveOthers(id string) []*qav1.Inspector {
	var out []*qav1.Inspector
	for _, in := range d.Inspectors {
		if in.GetActive() && in.GetId() != id {
			out = append(out, in)
		}
	}
	return out
}

func (c *Console) inspectorsPage(v *View) error {
	v.Title, v.Nav = "admin.inspectors.title", "inspectors"
	d, err := c.inspectorsData(v, v.R.URL.Query().Get("inspector"))
	if err != nil {
		return err
	}
	d.Flash = flashOf(v)
	if q, err := v.API.InspectorReport.GetInspectorsReport(v.Ctx, &qav1.GetInspectorsReportRequest{}); err != nil {
		d.QualityErr = status.Convert(err).Message()
	} else {
		d.Quality, d.QualityWeeks = inspectorQualityOf(v, q), q.GetWeeks()
	}
	return c.render(v, "admin/inspectors.html", d)
}

func (c *Console) inspectorsData(v *View, shown string) (*inspectorsData, error) {
	resp, err := v.API.Sampling.ListInspectors(v.Ctx, &qav1.ListInspectorsRequest{PageSize: 1000, PageToken: v.R.URL.Query().Get("page_token")})
	if err != nil {
		return nil, err
	}
	d := &inspectorsData{Inspectors: resp.GetInspectors(), Pool: resp.GetPoolItems(), Paging: pagingOf(v.R, resp.GetNextPageToken()), Errs: fieldErrs{}}
	if shown == "" {
		return d, nil
	}
	for _, in := range d.Inspectors {
		if in.GetId() == shown {
			d.Shown = in
		}
	}
	if d.Shown == nil {
		return nil, status.Error(codes.NotFound, "no such inspector")
	}
	const listed = 200
	picks, err := v.API.Sampling.ListPicks(v.Ctx, &qav1.ListPicksRequest{InspectorId: shown, Status: "assigned", PageSize: listed})
	if err != nil {
		return nil, err
	}
	d.Items, d.MoreItems = picks.GetPicks(), picks.GetNextPageToken() != ""
	return d, nil
}

// inspectorsReassign moves all of one inspector's open items (from) or
// the chosen ones (item, repeated) to another inspector or the pool. When
// everything moved it goes back with the count; otherwise the page shows
// what stayed and why, in the server's words.
func (c *Console) inspectorsReassign(v *View) error {
	v.Title, v.Nav = "admin.inspectors.title", "inspectors"
	if err := v.R.ParseForm(); err != nil {
		return status.Error(codes.InvalidArgument, "unreadable form")
	}
	from := v.R.PostFormValue("from")
	to := v.R.PostFormValue("to")
	req := &qav1.ReassignItemsRequest{Reason: strings.TrimSpace(v.R.PostFormValue("reason"))}
	if to == "" || to == "-pool" {
		req.ToPool = true
	} else {
		req.ToInspectorId = to
	}
	back := "/inspectors"
	res := &moveResult{}
	errs := fieldErrs{}
	if items := v.R.PostForm["item"]; len(items) > 0 {
		back += "?inspector=" + urlQueryEscape(from)
		// One call per chosen item: the API moves one item or all of an
		// inspector's, and a person ticks a handful.
		for _, s := range items {
			id, ok := parseInt64(s)
			if !ok {
				continue
			}
			one := proto.Clone(req).(*qav1.ReassignItemsRequest)
			one.ItemId = id
			resp, err := v.API.Sampling.ReassignItems(v.Ctx, one)
			if err != nil {
				st, ok := status.FromError(err)
				if !ok || (st.Code() != codes.InvalidArgument && st.Code() != codes.FailedPrecondition) {
					return err
				}
				msg := st.Message()
				if fe := FieldErrors(err); fe["to_inspector_id"] != "" {
					msg = fe["to_inspector_id"]
				}
				res.NotMoved = append(res.NotMoved, unmoved{Item: id, Reason: msg})
				continue
			}
			res.Moved += len(resp.GetMoved())
		}
	} else {
		if from == "-pool" {
			req.FromPool = true
		} else {
			req.FromInspectorId = from
		}
		resp, err := v.API.Sampling.ReassignItems(v.Ctx, req)
		if err != nil {
			if !addFormErrors(errs, err) {
				return err
			}
		}
		res.Moved = len(resp.GetMoved())
		for _, nm := range resp.GetNotMoved() {
			res.NotMoved = append(res.NotMoved, unmoved{Item: nm.GetItem().GetId(), Reason: nm.GetReason()})
		}
	}
	if len(res.NotMoved) == 0 && len(errs) == 0 {
		return redirectDone(v, back, "items_moved", res.Moved)
	}
	shown := ""
	if len(v.R.PostForm["item"]) > 0 {
		shown = from
	}
	d, err := c.inspectorsData(v, shown)
	if err != nil {
		return err
	}
	d.Result, d.Errs = res, errs
	code := http.StatusOK
	if len(errs) > 0 {
		code = http.StatusBadRequest
	}
	return c.renderCode(v, code, "admin/inspectors.html", d)
}

// inspectorSetActive activates or deactivates an inspector; deactivation
// hands their open items on (the count comes back).
func (c *Console) inspectorSetActive(v *View) error {
	id := v.R.PostFormValue("id")
	active := v.R.PostFormValue("active") == "1"
	resp, err := v.API.Sampling.UpsertInspector(v.Ctx, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{
		Id: id, Name: v.R.PostFormValue("name"), Active: proto.Bool(active),
	}})
	if err != nil {
		return err
	}
	if active {
		return redirectDone(v, "/inspectors", "inspector_activated", 0)
	}
	return redirectDone(v, "/inspectors", "inspector_deactivated", len(resp.GetReturnedItems()))
}

// inspectorAdd registers an inspector (active). An id already registered
// is refused here rather than renamed: renaming is not what "add" says.
func (c *Console) inspectorAdd(v *View) error {
	v.Title, v.Nav = "admin.inspectors.title", "inspectors"
	id, name := strings.TrimSpace(v.R.PostFormValue("id")), strings.TrimSpace(v.R.PostFormValue("name"))
	d, err := c.inspectorsData(v, "")
	if err != nil {
		return err
	}
	d.NewID, d.NewName = id, name
	for _, in := range d.Inspectors {
		if in.GetId() == id {
			d.Errs["inspector.id"] = v.T("admin.inspectors.exists")
			return c.renderCode(v, http.StatusConflict, "admin/inspectors.html", d)
		}
	}
	_, err = v.API.Sampling.UpsertInspector(v.Ctx, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: id, Name: name, Active: proto.Bool(true)}})
	if err != nil {
		if !addFormErrors(d.Errs, err) {
			return err
		}
		return c.renderCode(v, http.StatusBadRequest, "admin/inspectors.html", d)
	}
	return redirectDone(v, "/inspectors", "inspector_added", 0)
}
