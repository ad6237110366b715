package console

import (
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// feedbackData is a feedback record's page.
type feedbackData struct {
	Rec    *qav1.FeedbackRecord
	Review *qav1.Review
	// AgentName is the record's agent's directory name; "" if none.
	AgentName  string
	Grade      string
	GradeClass string
	Dims       []*qav1.DimensionRating
	// Flags are the critical flags raised, named by the rubric scored
	// against.
	Flags []*qav1.CriticalFlag
	// Chat is the conversation scored, rendered by the shared partial.
	Chat Conversation
	// SupersededBy is the record that replaced this one after a dispute.
	SupersededBy    int64
	DisputeClosesAt *timestamppb.Timestamp
	OpenDisputeID   int64
	Disputable      bool
	// Mine: the visitor is the record's supervisor, who acknowledges and
	// disputes it (an admin only reads).
	Mine bool
	// Form state after a refused submission: which form ("ack" or
	// "dispute"), what was typed, and the services' messages by field
	// ("" for the form as a whole).
	Form         string
	Note, Reason string
	Errors       map[string]string
	// Done names what just succeeded: "ack" or "dispute".
	Done string
}

func (c *Console) feedbackPage(v *View) error {
	d, err := c.loadFeedback(v)
	if err != nil {
		return err
	}
	switch done := v.R.URL.Query().Get("done"); done {
	case "ack", "dispute":
		d.Done = done
	}
	return c.render(v, "supervisor/feedback.html", d)
}

// loadFeedback reads the record of the path's id with the names of its
// rubric's flags. Another supervisor's record is NOT_FOUND, shown as the
// not-found page.
func (c *Console) loadFeedback(v *View) (*feedbackData, error) {
	v.Title, v.Nav = "supervisor.record.title", supervisorNavInbox
	if v.Who.Role == "admin" {
		v.Nav = supervisorNavTeam
	}
	id, err := pathID(v, "id")
	if err != nil {
		return nil, err
	}
	resp, err := v.API.Feedback.GetFeedback(v.Ctx, &qav1.GetFeedbackRequest{Id: id})
	if err != nil {
		return nil, err
	}
	rec := resp.GetRecord()
	rv := rec.GetReview()
	d := &feedbackData{
		Rec: rec, Review: rv, Grade: v.gradeLabel(rec.GetGrade()), GradeClass: gradeClasses[rec.GetGrade()],
		Dims: rv.GetRatings(), Chat: newConversation(v, resp.GetTranscript(), resp.GetAgentNames(), nil), SupersededBy: resp.GetSupersededById(),
		DisputeClosesAt: resp.GetDisputeClosesAt(), OpenDisputeID: resp.GetOpenDisputeId(), Disputable: resp.GetDisputable(),
		Mine: v.Who.Role == "supervisor", AgentName: resp.GetAgentNames()[rec.GetAgentId()],
	}
	if len(rv.GetFlags()) > 0 {
		rubric, err := v.API.Rubric.GetRubric(v.Ctx, &qav1.GetRubricRequest{Version: rv.GetRubricVersion()})
		if err != nil {
			return nil, err
		}
		d.Flags = namedFlags(rv.GetFlags(), rubric.GetRubric())
	}
	return d, nil
}

// namedFlags gives each raised flag its rubric entry (name and
// description); a key the rubric lacks keeps its key as its name.
func namedFlags(keys []string, r *qav1.Rubric) []*qav1.CriticalFlag {
	byKey := map[string]*qav1.CriticalFlag{}
	for _, f := range r.GetFlags() {
		byKey[f.GetKey()] = f
	}
	out := make([]*qav1.CriticalFlag, len(keys))
	for i, k := range keys {
		if f, ok := byKey[k]; ok {
			out[i] = f
		} else {
			out[i] = &qav1.CriticalFlag{Key: k, Name: k}
		}
	}
	return out
}

// acknowledgeFeedback records that the supervisor read the record, with
// their coaching note.
func (c *Console) acknowledgeFeedback(v *View) error {
	id, err := pathID(v, "id")
	if err != nil {
		return err
	}
	note := v.R.PostFormValue("note")
	if _, err := v.API.Feedback.AcknowledgeFeedback(v.Ctx, &qav1.AcknowledgeFeedbackRequest{Id: id, Note: note}); err != nil {
		return c.refusedOnRecord(v, err, func(d *feedbackData) { d.Form, d.Note = "ack", note })
	}
	http.Redirect(v.W, v.R, "/feedback/"+strconv.FormatInt(id, 10)+"?done=ack#ack", http.StatusSeeOther)
	return nil
}

// openDispute contests the record's review; a different inspector
// re-scores it and a new record follows.
func (c *Console) openDispute(v *View) error {
	id, err := pathID(v, "id")
	if err != nil {
		return err
	}
	// The review is the record's own, read again rather than taken from
	// the form: the record may have been replaced since the page was shown.
	rec, err := v.API.Feedback.GetFeedback(v.Ctx, &qav1.GetFeedbackRequest{Id: id})
	if err != nil {
		return err
	}
	reason := v.R.PostFormValue("reason")
	if _, err := v.API.Feedback.OpenDispute(v.Ctx, &qav1.OpenDisputeRequest{ReviewId: rec.GetRecord().GetReview().GetId(), Reason: reason}); err != nil {
		return c.refusedOnRecord(v, err, func(d *feedbackData) { d.Form, d.Reason = "dispute", reason })
	}
	http.Redirect(v.W, v.R, "/feedback/"+strconv.FormatInt(id, 10)+"?done=dispute#dispute", http.StatusSeeOther)
	return nil
}

// refusedOnRecord shows the record again with the services' message next
// to the form that was refused; keep restores what the visitor typed.
// Errors that are not about the input (not found, unavailable) are the
// error page.
func (c *Console) refusedOnRecord(v *View, err error, keep func(*feedbackData)) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists:
	default:
		return err
	}
	d, lerr := c.loadFeedback(v)
	if lerr != nil {
		return lerr
	}
	keep(d)
	d.Errors = FieldErrors(err)
	if len(d.Errors) == 0 {
		// A refusal without field detail (the window closed, a dispute
		// already open) belongs to the form as a whole.
		d.Errors = map[string]string{"": strings.TrimSpace(st.Message())}
	}
	return c.renderCode(v, httpStatus(st.Code()), "supervisor/feedback.html", d)
}
