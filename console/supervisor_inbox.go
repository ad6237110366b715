package console

import (
	"net/url"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// Page sizes of the inbox's two lists.
const (
	inboxUnackedPage = 50
	inboxAckedPage   = 20
)

// recordRow is a feedback record in a list.
type recordRow struct {
	ID         int64
	AgentID    string
	AgentName  string
	Week       string
	Score      string
	Grade      string
	GradeClass string
	Coaching   bool
	Example    bool
	// Rescore: the record replaces one a dispute retracted.
	Rescore bool
	// Disputed: an open dispute contests the record's review; a new
	// record follows when it is re-scored. Replaced: that has happened.
	Disputed, Replaced bool
	Created            *timestamppb.Timestamp
	Acked              *timestamppb.Timestamp
	Note               string
}

// recordRowsDisputed marks the records whose review a dispute contests
// (open) or had re-scored (replaced).
func (v *View) recordRowsDisputed(recs []*qav1.FeedbackRecord, disputed map[int64]disputeState) []recordRow {
	out := make([]recordRow, len(recs))
	for i, r := range recs {
		state := disputed[r.GetReview().GetId()]
		out[i] = recordRow{
			Disputed: state == disputeOpen, Replaced: state == disputeReplaced,
			ID: r.GetId(), AgentID: r.GetAgentId(), AgentName: r.GetAgentName(), Week: r.GetWeek(), Score: r.GetScoreText(),
			Grade: v.gradeLabel(r.GetGrade()), GradeClass: gradeClasses[r.GetGrade()],
			Coaching: r.GetCoachingRequired(), Example: r.GetShareAsExample(), Rescore: r.GetSupersedesId() != 0,
			Created: r.GetCreatedAt(), Acked: r.GetAcknowledgedAt(), Note: r.GetCoachingNote(),
		}
	}
	return out
}

// inboxData is the inbox: records to acknowledge first, newest on top,
// then the acknowledged ones.
type inboxData struct {
	Unacked []recordRow
	Acked   []recordRow
	// Older* link to the next page of each list; "" on its last page.
	OlderUnacked, OlderAcked string
	// Paged: a later page is shown; Live is then nil (new records arrive
	// on the first page).
	Paged bool
	Live  *inboxLive
}

// inboxLive is what inbox.js needs to add new records as they arrive.
type inboxLive struct {
	// Cursor is the newest record on the page: the stream sends the
	// records after it, so none written since the page was read is lost.
	Cursor string `json:"cursor"`
	// Zone is the programme's time zone, for the new rows' times.
	Zone   string            `json:"zone"`
	Grades map[string]string `json:"grades"`
	// Classes style each grade's badge.
	Classes  map[string]string `json:"classes"`
	Announce string            `json:"announce"`
	// AnnounceMany says how many arrived at once.
	AnnounceMany string            `json:"announceMany"`
	States       map[string]string `json:"states"`
}

func (c *Console) inboxPage(v *View) error {
	v.Title, v.Nav = "supervisor.inbox.title", supervisorNavInbox
	q := v.R.URL.Query()
	unackedToken, ackedToken := q.Get("u"), q.Get("a")
	unacked, err := v.API.Feedback.ListFeedback(v.Ctx, &qav1.ListFeedbackRequest{
		Unacknowledged: true, NewestFirst: true, PageSize: inboxUnackedPage, PageToken: unackedToken,
	})
	if err != nil {
		return err
	}
	acked, err := v.API.Feedback.ListFeedback(v.Ctx, &qav1.ListFeedbackRequest{
		Acknowledged: true, NewestFirst: true, PageSize: inboxAckedPage, PageToken: ackedToken,
	})
	if err != nil {
		return err
	}
	disputed, err := openlyDisputedReviews(v)
	if err != nil {
		return err
	}
	d := inboxData{
		Unacked: v.recordRowsDisputed(unacked.GetRecords(), disputed), Acked: v.recordRowsDisputed(acked.GetRecords(), disputed),
		Paged: unackedToken != "" || ackedToken != "",
	}
	if next := unacked.GetNextPageToken(); next != "" {
		d.OlderUnacked = inboxURL(next, ackedToken, "")
	}
	if next := acked.GetNextPageToken(); next != "" {
		d.OlderAcked = inboxURL(unackedToken, next, "acked")
	}
	if !d.Paged {
		// Every record is in one of the lists, so the newest of their
		// first pages is the newest of all.
		var cursor int64
		for _, rows := range [][]recordRow{d.Unacked, d.Acked} {
			if len(rows) > 0 {
				cursor = max(cursor, rows[0].ID)
			}
		}
		d.Live = &inboxLive{
			Cursor: strconv.FormatInt(cursor, 10), Zone: v.Zone.String(), Grades: v.gradeLabels(), Classes: gradeClasses,
			Announce: v.T("supervisor.inbox.announce"), AnnounceMany: v.T("supervisor.inbox.announce_many"),
			States: map[string]string{
				"connecting": v.T("supervisor.inbox.state.connecting"), "live": v.T("supervisor.inbox.state.live"),
				"retrying": v.T("supervisor.inbox.state.retrying"), "stopped": v.T("supervisor.inbox.state.stopped"),
			},
		}
	}
	return c.render(v, "supervisor/inbox.html", d)
}

// inboxURL is the inbox at the given pages of its two lists.
func inboxURL(unackedToken, ackedToken, fragment string) string {
	q := url.Values{}
	if unackedToken != "" {
		q.Set("u", unackedToken)
	}
	if ackedToken != "" {
		q.Set("a", ackedToken)
	}
	out := "/inbox"
	if len(q) > 0 {
		out += "?" + q.Encode()
	}
	if fragment != "" {
		out += "#" + fragment
	}
	return out
}

// disputeState is where a dispute left the review it contests.
type disputeState int

const (
	disputeNone     disputeState = iota
	disputeOpen                  // waiting for the re-score
	disputeReplaced              // re-scored: a new record replaces it
)

// openlyDisputedReviews are the reviews the visitor's disputes contest,
// open or re-scored: one call for the whole page, newest first (the
// first 1000 are enough to mark a page's records).
func openlyDisputedReviews(v *View) (map[int64]disputeState, error) {
	resp, err := v.API.Feedback.ListDisputes(v.Ctx, &qav1.ListDisputesRequest{PageSize: 1000})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]disputeState, len(resp.GetDisputes()))
	for _, d := range resp.GetDisputes() {
		switch {
		case d.GetStatus() == "open":
			out[d.GetReviewId()] = disputeOpen
		case d.GetResolutionReviewId() != 0 && d.GetResolutionReviewId() != d.GetReviewId():
			out[d.GetReviewId()] = disputeReplaced
		}
	}
	return out, nil
}
