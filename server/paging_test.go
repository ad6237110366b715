package server

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// pager is one list call seen through the paging convention: the ids of a
// page and its next_page_token.
type pager func(size int32, token string) ([]string, string, error)

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}

func itoa(n int64) string { return fmt.Sprint(n) }

// Every list call pages the same way (AIP-158): walking pages of one item
// gives, in order, exactly what one big page gives, and the last page has
// no token. Before, ListFeedback and ListAuditEvents paged by after_id,
// and ListDisputes, ListQueue, ListRubrics, ListRuns and ListInspectors
// returned everything at once.
func TestEveryListPagesTheSameWay(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	sampling := qav1.NewSamplingServiceClient(e.conn)
	audit := qav1.NewAuditServiceClient(e.conn)

	// Three reviews, so three feedback records; two of them disputed.
	var reviews []int64
	for _, agent := range []string{"agent-a", "agent-a", "agent-b"} {
		item, ctx := e.itemOf(t, agent)
		r, err := e.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
		if err != nil {
			t.Fatal(err)
		}
		reviews = append(reviews, r.GetReview().GetId())
	}
	for _, rv := range reviews[:2] {
		if _, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: rv, Reason: "the greeting was there"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		r, _ := e.rubrics.GetRubric(e.admin, &qav1.GetRubricRequest{})
		r.GetRubric().Name = fmt.Sprint("rubric ", i)
		if _, err := e.rubrics.CreateRubric(e.admin, &qav1.CreateRubricRequest{Rubric: r.GetRubric()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, week := range []string{"2026-W44", "2026-W45"} {
		if _, err := sampling.RunWeek(e.admin, &qav1.RunWeekRequest{Week: week}); err != nil {
			t.Fatal(err)
		}
	}
	// The inspector with the fullest queue.
	var queueOf context.Context
	most := 0
	for _, ctx := range e.inspectors {
		q, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(q.GetItems()); n > most {
			queueOf, most = ctx, n
		}
	}

	lists := map[string]pager{
		"ListFeedback": func(size int32, token string) ([]string, string, error) {
			r, err := e.feedback.ListFeedback(e.admin, &qav1.ListFeedbackRequest{PageSize: size, PageToken: token})
			return ids(r.GetRecords(), func(f *qav1.FeedbackRecord) string { return itoa(f.GetId()) }), r.GetNextPageToken(), err
		},
		"ListAuditEvents": func(size int32, token string) ([]string, string, error) {
			r, err := audit.ListAuditEvents(e.admin, &qav1.ListAuditEventsRequest{PageSize: size, PageToken: token})
			return ids(r.GetEvents(), func(a *qav1.AuditEvent) string { return itoa(a.GetId()) }), r.GetNextPageToken(), err
		},
		"ListDisputes": func(size int32, token string) ([]string, string, error) {
			r, err := e.feedback.ListDisputes(e.admin, &qav1.ListDisputesRequest{PageSize: size, PageToken: token})
			return ids(r.GetDisputes(), func(d *qav1.Dispute) string { return itoa(d.GetId()) }), r.GetNextPageToken(), err
		},
		"ListQueue": func(size int32, token string) ([]string, string, error) {
			r, err := e.review.ListQueue(queueOf, &qav1.ListQueueRequest{PageSize: size, PageToken: token})
			return ids(r.GetItems(), func(p *qav1.Pick) string { return itoa(p.GetId()) }), r.GetNextPageToken(), err
		},
		"ListRubrics": func(size int32, token string) ([]string, string, error) {
			r, err := e.rubrics.ListRubrics(e.admin, &qav1.ListRubricsRequest{PageSize: size, PageToken: token})
			return ids(r.GetRubrics(), func(r *qav1.Rubric) string { return itoa(r.GetVersion()) }), r.GetNextPageToken(), err
		},
		"ListRuns": func(size int32, token string) ([]string, string, error) {
			r, err := sampling.ListRuns(e.admin, &qav1.ListRunsRequest{PageSize: size, PageToken: token})
			return ids(r.GetRuns(), func(r *qav1.Run) string { return itoa(r.GetId()) }), r.GetNextPageToken(), err
		},
		"ListPicks": func(size int32, token string) ([]string, string, error) {
			r, err := sampling.ListPicks(e.admin, &qav1.ListPicksRequest{PageSize: size, PageToken: token})
			return ids(r.GetPicks(), func(p *qav1.Pick) string { return itoa(p.GetId()) }), r.GetNextPageToken(), err
		},
		"ListInspectors": func(size int32, token string) ([]string, string, error) {
			r, err := sampling.ListInspectors(e.admin, &qav1.ListInspectorsRequest{PageSize: size, PageToken: token})
			return ids(r.GetInspectors(), func(i *qav1.Inspector) string { return i.GetId() }), r.GetNextPageToken(), err
		},
	}
	for name, list := range lists {
		t.Run(name, func(t *testing.T) {
			all, next, err := list(1000, "")
			if err != nil || next != "" || len(all) < 2 {
				t.Fatalf("one big page: %v, next %q, %v; want at least 2 items and no token", all, next, err)
			}
			for _, size := range []int32{1, 2} {
				var walked []string
				token := ""
				for range len(all) + 1 {
					page, next, err := list(size, token)
					if err != nil {
						t.Fatalf("page after %q: %v", token, err)
					}
					if len(page) > int(size) || (next != "" && len(page) != int(size)) {
						t.Fatalf("page of %d with size %d, next %q", len(page), size, next)
					}
					walked = append(walked, page...)
					if token = next; token == "" {
						break
					}
				}
				if !slices.Equal(walked, all) {
					t.Errorf("pages of %d: %v; want %v", size, walked, all)
				}
			}
			_, _, err = list(-1, "")
			wantField(t, err, "page_size")
			_, _, err = list(1001, "")
			wantField(t, err, "page_size")
		})
	}
	for name, call := range map[string]func() error{
		"ListFeedback": func() error {
			_, err := e.feedback.ListFeedback(e.admin, &qav1.ListFeedbackRequest{PageToken: "x"})
			return err
		},
		"ListDisputes": func() error {
			_, err := e.feedback.ListDisputes(e.admin, &qav1.ListDisputesRequest{PageToken: "-3"})
			return err
		},
	} {
		t.Run(name+" token", func(t *testing.T) { wantField(t, call(), "page_token") })
	}

	// The deprecated after_id still pages ListFeedback and ListAuditEvents.
	first, err := e.feedback.ListFeedback(e.admin, &qav1.ListFeedbackRequest{PageSize: 1})
	if err != nil || first.GetNextAfterId() != first.GetRecords()[0].GetId() {
		t.Fatalf("next_after_id %d of %v (%v)", first.GetNextAfterId(), first.GetRecords(), err)
	}
	byCursor, err := e.feedback.ListFeedback(e.admin, &qav1.ListFeedbackRequest{PageSize: 1, AfterId: first.GetNextAfterId()})
	byToken, err2 := e.feedback.ListFeedback(e.admin, &qav1.ListFeedbackRequest{PageSize: 1, PageToken: first.GetNextPageToken()})
	if err != nil || err2 != nil || !proto.Equal(byCursor, byToken) {
		t.Fatalf("after_id page %v (%v), page_token page %v (%v)", byCursor, err, byToken, err2)
	}
}

// Every problem of a list request at once, not only the first.
func TestListRequestReportsEveryProblem(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	_, err := e.feedback.ListFeedback(e.admin, &qav1.ListFeedbackRequest{PageSize: -1, Grade: "great", Week: "W47"})
	wantField(t, err, "page_size")
	if got := badRequest(err); !slices.Equal(got, []string{"page_size", "grade", "week"}) {
		t.Errorf("violations %q, want page_size, grade and week", got)
	}
}
