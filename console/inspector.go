package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
)

// inspectorRoutes registers the inspector's pages: their queue, the review
// page of an item (rate, save drafts, finalise, skip, release) and their
// finished reviews.
func (c *Console) inspectorRoutes(mux *http.ServeMux) {
	inspector := []string{"inspector"}
	mux.HandleFunc("GET /queue", c.page(inspector, c.queuePage))
	mux.HandleFunc("GET /review/{item}", c.page(inspector, c.reviewPage))
	mux.HandleFunc("POST /review/{item}", c.page(inspector, c.submitReview))
	mux.HandleFunc("POST /review/{item}/skip", c.page(inspector, c.skipItem))
	mux.HandleFunc("POST /review/{item}/release", c.page(inspector, c.releaseItem))
	mux.HandleFunc("GET /reviews", c.page(inspector, c.reviewsPage))
	mux.HandleFunc("GET /reviews/{id}", c.page(inspector, c.reviewDetailPage))
}

// queuePageSize bounds one queue listing; an inspector's week is a few
// dozen items.
const queuePageSize = 500

// reasonKeys are the labels of the sampler's built-in reasons; check and
// tag rules are labelled by samplingReasonLabel.
var reasonKeys = map[string]string{
	"random": "inspector.reason.random", "complaint": "inspector.reason.complaint",
	"low_csat": "inspector.reason.low_csat", "escalated": "inspector.reason.escalated",
	"vip": "inspector.reason.vip", "long_handle_time": "inspector.reason.long_handle_time",
	"new_hire": "inspector.reason.new_hire", "adaptive": "inspector.reason.adaptive",
}

// isCalibration reports whether a queue item is a calibration item.
func isCalibration(it *qav1.Pick) bool { return it.GetKind() == "calibration" }

func reasonLabel(v *View, it *qav1.Pick) string {
	if isCalibration(it) {
		return fmt.Sprintf(v.T("calibration.queue.reason"), it.GetSessionId())
	}
	return samplingReasonLabel(v, it.GetReason())
}

// samplingReasonLabel names a sampler's reason in the visitor's language:
// a check rule by its check's name (the one its hints carry), a tag rule
// with its tag; an admin's named rule is its own name.
func samplingReasonLabel(v *View, reason string) string {
	if key, ok := reasonKeys[reason]; ok {
		return v.T(key)
	}
	if check, ok := strings.CutPrefix(reason, "check:"); ok {
		if key := "conversation.check." + check; v.T(key) != key {
			return fmt.Sprintf(v.T("inspector.reason.check"), v.T(key))
		}
	}
	if tag, ok := strings.CutPrefix(reason, "tag:"); ok && tag != "" {
		return fmt.Sprintf(v.T("inspector.reason.tag"), tag)
	}
	return reason
}

// queueRow is one item of the queue table.
type queueRow struct {
	Item        *qav1.Pick
	ReasonLabel string
	Disputed    bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type queueData struct {
	// Week is the week shown ("" for all); ThisWeek is the week under
	// review now (the last that ended, in the programme's zone).
	Week, ThisWeek string
	Status, Reason string
	Weeks          []option
	Reasons        []option
	Rows           []queueRow
	// Assigned and Disputed count the week's items by status, whatever
	// the status and reason filters.
	Assigned, Disputed int
	// Elsewhere counts the items of other weeks, shown when this week's
	// queue is empty.
	Elsewhere int
	// Calibration are the open calibration items (of no week), listed
	// apart from the week's picks.
	Calibration []queueRow
	// Notice is a message key about what was just done (skip, release).
	Notice, NoticeArg string
	Filtered          bool
}

// listQueue reads the caller's whole queue for a filter.
func listQueue(v *View, req *qav1.ListQueueRequest) ([]*qav1.Pick, error) {
	req.PageSize = queuePageSize
	var out []*qav1.Pick
	for {
		resp, err := v.API.Review.ListQueue(v.Ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetItems()...)
		if resp.GetNextPageToken() == "" || len(out) >= 5*queuePageSize {
			return out, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func (c *Console) queuePage(v *View) error {
	v.Title, v.Nav = "inspector.queue.title", "queue"
	q := v.R.URL.Query()
	this := isoweek.Of(c.now(), v.Zone).Prev()
	d := queueData{ThisWeek: this.String(), Week: this.String(), Status: q.Get("status"), Reason: q.Get("reason")}
	if w, ok := q["week"]; ok {
		d.Week = w[0]
		if d.Week == "all" {
			d.Week = ""
		}
	}
	d.Filtered = d.Status != "" || d.Reason != ""
	all, err := listQueue(v, &qav1.ListQueueRequest{Week: d.Week})
	if err != nil {
		return err
	}
	// Calibration items belong to no week: they come with the all-weeks
	// queue only, so read them apart and keep them out of the week's rows.
	calibration, err := listQueue(v, &qav1.ListQueueRequest{Status: "assigned"})
	if err != nil {
		return err
	}
	for _, it := range calibration {
		if isCalibration(it) {
			d.Calibration = append(d.Calibration, queueRow{Item: it, ReasonLabel: reasonLabel(v, it)})
		}
	}
	all = slices.DeleteFunc(all, isCalibration)
	reasons := map[string]bool{}
	for _, it := range all {
		if it.GetStatus() == "disputed" {
			d.Disputed++
		} else {
			d.Assigned++
		}
		reasons[it.GetReason()] = true
	}
	rows := all
	if d.Filtered {
		if rows, err = listQueue(v, &qav1.ListQueueRequest{Week: d.Week, Status: d.Status, Reason: d.Reason}); err != nil {
			return err
		}
	}
	for _, it := range rows {
		if isCalibration(it) {
			continue
		}
		d.Rows = append(d.Rows, queueRow{Item: it, ReasonLabel: reasonLabel(v, it), Disputed: it.GetStatus() == "disputed"})
	}
	if len(all) == 0 && d.Week != "" {
		others, err := listQueue(v, &qav1.ListQueueRequest{})
		if err != nil {
			return err
		}
		d.Elsewhere = len(others)
	}
	// The week menu: the week under review first, then the five before.
	d.Weeks = append(d.Weeks, option{Value: "all", Label: v.T("inspector.queue.all_weeks"), Selected: d.Week == ""})
	listed := false
	for i, w := 0, this; i < 6; i, w = i+1, w.Prev() {
		label := w.String()
		if i == 0 {
			label += " · " + v.T("inspector.queue.this_week")
		}
		d.Weeks = append(d.Weeks, option{Value: w.String(), Label: label, Selected: d.Week == w.String()})
		listed = listed || d.Week == w.String()
	}
	if !listed && d.Week != "" {
		d.Weeks = append(d.Weeks, option{Value: d.Week, Label: d.Week, Selected: true})
	}
	if d.Reason != "" {
		reasons[d.Reason] = true
	}
	for r := range reasons {
		d.Reasons = append(d.Reasons, option{Value: r, Label: reasonLabel(v, &qav1.Pick{Reason: r}), Selected: r == d.Reason})
	}
	sortOptions(d.Reasons)
	switch {
	case q.Get("skipped") != "":
		d.Notice, d.NoticeArg = "inspector.queue.skipped", q.Get("skipped")
		if q.Get("replacement") == "" {
			d.Notice = "inspector.queue.skipped_none"
		}
	case q.Get("released") != "":
		d.Notice, d.NoticeArg = "inspector.queue.released", q.Get("released")
	}
	return c.render(v, "inspector/queue.html", d)
}

func sortOptions(opts []option) {
	for i := 1; i < len(opts); i++ {
		for j := i; j > 0 && opts[j].Label < opts[j-1].Label; j-- {
			opts[j], opts[j-1] = opts[j-1], opts[j]
		}
	}
}

// itemID reads the {item} or {id} path value; a malformed one is a
// missing page.
func itemID(v *View, name string) (int64, error) {
	id, err := strconv.ParseInt(v.R.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, status.Error(codes.NotFound, "no such item")
	}
	return id, nil
}

// dimensionForm is one rubric dimension on the review page with what the
// inspector gave it so far.
type dimensionForm struct {
	Dim *qav1.Dimension
	// Index is the dimension's position (ratings are sent in rubric order).
	Index int
	// Scale lists 0..max.
	Scale []int
	// Value is the rating ("" unrated, "na", or a number).
	Value   string
	Comment string
	Error   string
	// Weight is the weight as a whole percentage for the label.
	Weight string
	// Rating is the final review's, read-only.
	Rating *qav1.DimensionRating
}

type flagForm struct {
	Flag   *qav1.CriticalFlag
	Raised bool
}

type reviewData struct {
	Item         *qav1.Pick
	ReasonLabel  string
	Conversation Conversation
	Rubric       *qav1.Rubric
	Dims         []dimensionForm
	Flags        []flagForm
	Comment      string
	Strengths    string
	Suggestions  string
	// Draft is the saved draft; nil before the first save.
	Draft *qav1.Review
	// Final is the item's final review: the page is then read-only and
	// shows the server's score.
	Final *qav1.Review
	// Summary shows the final review.
	Summary reviewSummary
	// Next is the next item of the queue after finalising, 0 if none.
	Next int64
	// Dispute is the dispute this re-scoring answers.
	Dispute        *qav1.Dispute
	DisputedReview *qav1.Review
	DisputedGrade  string
	// Calibration: an item of a calibration session, scored blind.
	Calibration bool
	FormError   string
	FieldErrors map[string]string
	// Unfinished are the dimensions the server refused, listed at the top
	// of the rubric with links to them (the form's first thing read).
	Unfinished      []dimensionForm
	Saved, Finished bool
	// SkipError is the server's refusal of a skip; SkipReason and
	// SkipText what was chosen and typed.
	SkipError, SkipReason, SkipText string
}

func (c *Console) reviewPage(v *View) error {
	id, err := itemID(v, "item")
	if err != nil {
		return err
	}
	resp, err := v.API.Review.OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: id})
	if err != nil {
		return err
	}
	d := c.reviewData(v, resp)
	q := v.R.URL.Query()
	d.Saved = q.Get("saved") != ""
	if d.Final != nil {
		d.Finished = q.Get("done") != ""
		next, err := v.API.Review.ListQueue(v.Ctx, &qav1.ListQueueRequest{PageSize: 1})
		if err != nil {
			return err
		}
		if items := next.GetItems(); len(items) > 0 {
			d.Next = items[0].GetId()
		}
	}
	return c.render(v, "inspector/review.html", d)
}

// reviewData lays an opened item out for the page: the draft's (or final
// review's) values on the rubric's dimensions.
func (c *Console) reviewData(v *View, resp *qav1.OpenItemResponse) *reviewData {
	v.Title, v.Nav = "inspector.review.title", "queue"
	d := &reviewData{
		Item: resp.GetItem(), ReasonLabel: reasonLabel(v, resp.GetItem()),
		Conversation: newConversation(v, resp.GetTranscript(), resp.GetAgentNames(), consoleHints(v, resp.GetHints())),
		Rubric:       resp.GetRubric(), Draft: resp.GetDraft(), Final: resp.GetReview(),
		Dispute: resp.GetDispute(), DisputedReview: resp.GetDisputedReview(),
	}
	if isCalibration(d.Item) {
		// Blind: the server sent no agent; say so instead of a blank.
		d.Conversation.AgentName, d.Conversation.AgentID = v.T("calibration.hidden_agent"), ""
		d.Calibration = true
	}
	shown := d.Final
	if shown == nil {
		shown = d.Draft
	}
	ratings := map[string]*qav1.DimensionRating{}
	for _, r := range shown.GetRatings() {
		ratings[r.GetKey()] = r
	}
	for i, dim := range d.Rubric.GetDimensions() {
		f := dimensionForm{Dim: dim, Index: i, Weight: strconv.FormatFloat(dim.GetWeight(), 'f', -1, 64)}
		for n := int32(0); n <= dim.GetMax(); n++ {
			f.Scale = append(f.Scale, int(n))
		}
		if r, ok := ratings[dim.GetKey()]; ok {
			f.Value, f.Comment = ratingValue(r), r.GetComment()
			if d.Final != nil {
				f.Rating = r
			}
		}
		d.Dims = append(d.Dims, f)
	}
	raised := map[string]bool{}
	for _, k := range shown.GetFlags() {
		raised[k] = true
	}
	for _, fl := range d.Rubric.GetFlags() {
		d.Flags = append(d.Flags, flagForm{Flag: fl, Raised: raised[fl.GetKey()]})
	}
	d.Comment = shown.GetComment()
	d.Strengths = strings.Join(shown.GetStrengths(), "\n")
	d.Suggestions = strings.Join(shown.GetSuggestions(), "\n")
	if d.Final != nil {
		d.Summary = newSummary(v, d.Final, d.Rubric)
	}
	if d.DisputedReview != nil {
		d.DisputedGrade = v.gradeLabel(d.DisputedReview.GetGrade())
	}
	return d
}

func ratingValue(r *qav1.DimensionRating) string {
	if r.GetNa() {
		return "na"
	}
	return strconv.Itoa(int(r.GetValue()))
}

// reviewRequest reads the review form: rating r.<key> ("na" or a
// number, absent when unrated), comment c.<key>, flags, the review's
// comment, strengths and suggestions one per line.
func reviewRequest(r *http.Request, id int64, rubric *qav1.Rubric) *qav1.SubmitReviewRequest {
	req := &qav1.SubmitReviewRequest{ItemId: id, Flags: r.PostForm["flag"], Comment: r.PostFormValue("comment"),
		Strengths: lines(r.PostFormValue("strengths")), Suggestions: lines(r.PostFormValue("suggestions"))}
	for _, dim := range rubric.GetDimensions() {
		raw := r.PostFormValue("r." + dim.GetKey())
		rt := &qav1.DimensionRating{Key: dim.GetKey(), Comment: r.PostFormValue("c." + dim.GetKey())}
		switch raw {
		case "":
			// Unrated: a draft leaves it out; finalising is refused
			// naming it.
			continue
		case "na":
			rt.Na = true
		default:
			n, err := strconv.Atoi(raw)
			if err != nil {
				n = -1 // the server names the field: outside the scale
			}
			rt.Value = int32(n)
		}
		req.Ratings = append(req.Ratings, rt)
	}
	return req
}

// lines splits a textarea into its non-blank lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// submitReview saves the form as a draft (the fallback of the page's
// autosave) or finalises it. A refused review comes back with the
// server's message beside each field.
func (c *Console) submitReview(v *View) error {
	id, err := itemID(v, "item")
	if err != nil {
		return err
	}
	opened, err := v.API.Review.OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: id})
	if err != nil {
		return err
	}
	req := reviewRequest(v.R, id, opened.GetRubric())
	req.Final = v.R.PostFormValue("action") == "final"
	resp, err := v.API.Review.SubmitReview(v.Ctx, req)
	if err == nil {
		target := "/review/" + strconv.FormatInt(id, 10) + "?saved=1"
		if req.Final {
			target = "/review/" + strconv.FormatInt(id, 10) + "?done=" + strconv.FormatInt(resp.GetReview().GetId(), 10)
		}
		http.Redirect(v.W, v.R, target, http.StatusSeeOther)
		return nil
	}
	if status.Code(err) != codes.InvalidArgument {
		return err
	}
	if req.Final {
		// A refused finalise still keeps what was typed, as a draft: the
		// click may have beaten the page's autosave, and the page would
		// otherwise show the older draft's time as if all were saved. A
		// draft the server refuses too is only shown again.
		draft := proto.Clone(req).(*qav1.SubmitReviewRequest)
		draft.Final = false
		if _, derr := v.API.Review.SubmitReview(v.Ctx, draft); derr == nil {
			if again, oerr := v.API.Review.OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: id}); oerr == nil {
				opened = again
			}
		}
	}
	// Show the page again with what was typed and the server's words.
	d := c.reviewData(v, opened)
	d.FieldErrors = FieldErrors(err)
	d.FormError = status.Convert(err).Message()
	typed := map[string]*qav1.DimensionRating{}
	for _, r := range req.GetRatings() {
		typed[r.GetKey()] = r
	}
	for i := range d.Dims {
		key := d.Dims[i].Dim.GetKey()
		d.Dims[i].Value, d.Dims[i].Comment = "", v.R.PostFormValue("c."+key)
		if r, ok := typed[key]; ok {
			d.Dims[i].Value = ratingValue(r)
		}
		d.Dims[i].Error = d.FieldErrors["ratings["+key+"]"]
		if msg := d.FieldErrors["ratings["+strconv.Itoa(ratingIndex(req, key))+"].comment"]; msg != "" {
			d.Dims[i].Error = msg
		}
		if d.Dims[i].Error != "" {
			d.Unfinished = append(d.Unfinished, d.Dims[i])
		}
	}
	raised := map[string]bool{}
	for _, k := range req.GetFlags() {
		raised[k] = true
	}
	for i := range d.Flags {
		d.Flags[i].Raised = raised[d.Flags[i].Flag.GetKey()]
	}
	d.Comment, d.Strengths, d.Suggestions = req.GetComment(), v.R.PostFormValue("strengths"), v.R.PostFormValue("suggestions")
	return c.renderCode(v, http.StatusBadRequest, "inspector/review.html", d)
}

// ratingIndex is the position of key's rating in req, as the server
// names a rating comment's field by it; -1 when not sent.
func ratingIndex(req *qav1.SubmitReviewRequest, key string) int {
	for i, r := range req.GetRatings() {
		if r.GetKey() == key {
			return i
		}
	}
	return -1
}

// skipItem skips an item with a reason: one of the usual ones, or the
// inspector's own words.
func (c *Console) skipItem(v *View) error {
	id, err := itemID(v, "item")
	if err != nil {
		return err
	}
	reason := v.R.PostFormValue("reason")
	if reason == "other" {
		reason = strings.TrimSpace(v.R.PostFormValue("reason_text"))
	}
	resp, err := v.API.Review.SkipItem(v.Ctx, &qav1.SkipItemRequest{Id: id, Reason: reason})
	if status.Code(err) == codes.InvalidArgument {
		// Back to the item, the skip form open with the server's words
		// beside the reason, rather than an error page away from it.
		opened, oerr := v.API.Review.OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: id})
		if oerr != nil {
			return oerr
		}
		d := c.reviewData(v, opened)
		d.SkipError = FieldErrors(err)["reason"]
		if d.SkipError == "" {
			d.SkipError = status.Convert(err).Message()
		}
		d.SkipReason, d.SkipText = v.R.PostFormValue("reason"), v.R.PostFormValue("reason_text")
		return c.renderCode(v, http.StatusBadRequest, "inspector/review.html", d)
	}
	if err != nil {
		return err
	}
	q := url.Values{"skipped": {strconv.FormatInt(id, 10)}}
	if r := resp.GetReplacement(); r != nil {
		q.Set("replacement", strconv.FormatInt(r.GetId(), 10))
	}
	http.Redirect(v.W, v.R, "/queue?"+q.Encode(), http.StatusSeeOther)
	return nil
}

func (c *Console) releaseItem(v *View) error {
	id, err := itemID(v, "item")
	if err != nil {
		return err
	}
	if _, err := v.API.Review.ReleaseItem(v.Ctx, &qav1.ReleaseItemRequest{Id: id}); err != nil {
		return err
	}
	http.Redirect(v.W, v.R, "/queue?released="+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

type reviewRow struct {
	Review     *qav1.Review
	GradeLabel string
	GradeClass string
}

type reviewsData struct {
	Rows []reviewRow
	// Next is the next page's token; Back goes to the first page.
	Next string
	Back bool
}

// reviewsPage lists the caller's finished reviews, newest first.
func (c *Console) reviewsPage(v *View) error {
	v.Title, v.Nav = "inspector.reviews.title", "reviews"
	token := v.R.URL.Query().Get("page")
	resp, err := v.API.Review.ListReviews(v.Ctx, &qav1.ListReviewsRequest{PageSize: 50, PageToken: token})
	if err != nil {
		return err
	}
	d := reviewsData{Next: resp.GetNextPageToken(), Back: token != ""}
	for _, r := range resp.GetReviews() {
		d.Rows = append(d.Rows, reviewRow{Review: r, GradeLabel: v.gradeLabel(r.GetGrade()), GradeClass: gradeClasses[r.GetGrade()]})
	}
	return c.render(v, "inspector/reviews.html", d)
}

// reviewSummary is what the review-summary partial shows of a final
// review.
type reviewSummary struct {
	Review     *qav1.Review
	GradeLabel string
	GradeClass string
	// FlagNames names the raised flags by key (from the rubric scored
	// against); a key without a name shows as itself.
	FlagNames map[string]string
}

func newSummary(v *View, rv *qav1.Review, rubric *qav1.Rubric) reviewSummary {
	s := reviewSummary{Review: rv, GradeLabel: v.gradeLabel(rv.GetGrade()), GradeClass: gradeClasses[rv.GetGrade()], FlagNames: map[string]string{}}
	for _, f := range rubric.GetFlags() {
		s.FlagNames[f.GetKey()] = f.GetName()
	}
	return s
}

type reviewDetailData struct {
	Summary reviewSummary
	// Conversation is the chat, when the item still opens for the
	// caller (it does not once a dispute moved it to another inspector).
	Conversation *Conversation
}

// reviewDetailPage shows one finished review, read-only.
func (c *Console) reviewDetailPage(v *View) error {
	v.Title, v.Nav = "inspector.reviews.one", "reviews"
	id, err := itemID(v, "id")
	if err != nil {
		return err
	}
	resp, err := v.API.Review.GetReview(v.Ctx, &qav1.GetReviewRequest{Id: id})
	if err != nil {
		return err
	}
	rv := resp.GetReview()
	if rv.GetStatus() == "draft" {
		http.Redirect(v.W, v.R, "/review/"+strconv.FormatInt(rv.GetItemId(), 10), http.StatusSeeOther)
		return nil
	}
	d := reviewDetailData{}
	opened, err := v.API.Review.OpenItem(v.Ctx, &qav1.OpenItemRequest{Id: rv.GetItemId()})
	switch status.Code(err) {
	case codes.OK:
		conv := newConversation(v, opened.GetTranscript(), opened.GetAgentNames(), consoleHints(v, opened.GetHints()))
		d.Conversation = &conv
	case codes.NotFound, codes.PermissionDenied, codes.FailedPrecondition:
		// A dispute gave the item to another inspector: the review
		// shows without its chat.
	default:
		return err
	}
	d.Summary = newSummary(v, rv, opened.GetRubric())
	return c.render(v, "inspector/review_detail.html", d)
}
