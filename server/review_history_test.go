package server

import (
	"context"
	"maps"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestFinishedWorkReadOnly: an inspector opens their finalised item read
// only and lists their finalised reviews, newest first and paged; no other
// inspector or supervisor sees them.
func TestFinishedWorkReadOnly(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	// Finalise every queued item, remembering whose review is whose.
	mine := map[string][]int64{}
	var lastItem *qav1.Pick
	var lastInspector context.Context
	for id, ctx := range e.inspectors {
		q, err := e.review.ListQueue(ctx, &qav1.ListQueueRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range q.GetItems() {
			resp, err := e.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: it.GetId(), Ratings: fullRatings(),
				Strengths: []string{"polite"}, Final: true})
			if err != nil {
				t.Fatal(err)
			}
			mine[id] = append(mine[id], resp.GetReview().GetId())
			lastItem, lastInspector = it, ctx
		}
	}
	if !slices.ContainsFunc(slices.Collect(maps.Values(mine)), func(ids []int64) bool { return len(ids) > 1 }) {
		t.Fatalf("no inspector finalised two reviews (%v); the paging below needs one", mine)
	}

	opened, err := e.review.OpenItem(lastInspector, &qav1.OpenItemRequest{Id: lastItem.GetId()})
	if err != nil {
		t.Fatalf("OpenItem of a finalised item: %v", err)
	}
	rv := opened.GetReview()
	if rv.GetStatus() != "final" || rv.GetScoreText() != "83.75" || opened.GetDraft() != nil ||
		opened.GetTranscript().GetExternalId() != lastItem.GetExternalId() || opened.GetRubric().GetVersion() != rv.GetRubricVersion() {
		t.Fatalf("finalised item opened as %v", opened)
	}
	_, err = e.review.SubmitReview(lastInspector, &qav1.SubmitReviewRequest{ItemId: lastItem.GetId(), Ratings: fullRatings()})
	wantCode(t, err, codes.FailedPrecondition)
	for id, ctx := range e.inspectors {
		if id != lastItem.GetInspectorId() {
			_, err := e.review.OpenItem(ctx, &qav1.OpenItemRequest{Id: lastItem.GetId()})
			wantCode(t, err, codes.NotFound)
		}
	}

	for id, ctx := range e.inspectors {
		want := slices.Clone(mine[id])
		slices.Reverse(want)
		var got []int64
		token := ""
		for {
			page, err := e.review.ListReviews(ctx, &qav1.ListReviewsRequest{PageSize: 1, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.GetReviews() {
				if r.GetInspectorId() != id || r.GetScoreText() != "83.75" || r.GetGrade() != "good" {
					t.Fatalf("%s's history holds %v", id, r)
				}
				got = append(got, r.GetId())
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s's history = %v, want %v (newest first)", id, got, want)
		}
		for other := range e.inspectors {
			if other != id {
				_, err := e.review.ListReviews(ctx, &qav1.ListReviewsRequest{InspectorId: other})
				wantCode(t, err, codes.PermissionDenied)
			}
		}
	}
	all, err := e.review.ListReviews(e.admin, &qav1.ListReviewsRequest{InspectorId: lastItem.GetInspectorId()})
	if err != nil || len(all.GetReviews()) != len(mine[lastItem.GetInspectorId()]) {
		t.Fatalf("admin's view of %s: %v, %v", lastItem.GetInspectorId(), all, err)
	}
	_, err = e.review.ListReviews(e.supA, &qav1.ListReviewsRequest{})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.review.ListReviews(e.admin, &qav1.ListReviewsRequest{PageSize: -1})
	wantField(t, err, "page_size")
}
