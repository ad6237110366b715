package server

import (
	"testing"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// TestGetFeedbackShowsTheScoredChat: a supervisor reads their agent's
// record with its comments and the chat behind it; another supervisor gets
// NOT_FOUND; a record a dispute replaced points to its successor.
func TestGetFeedbackShowsTheScoredChat(t *testing.T) {
	e := startScoring(t, DefaultConfig())
	item, inspector := e.itemOf(t, "agent-a")
	ratings := fullRatings()
	ratings[0].Comment = "warm greeting"
	final, err := e.review.SubmitReview(inspector, &qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: ratings,
		Strengths: []string{"polite"}, Suggestions: []string{"confirm the date"}, Final: true})
	if err != nil {
		t.Fatal(err)
	}
	recID := final.GetFeedback().GetId()

	got, err := e.feedback.GetFeedback(e.supA, &qav1.GetFeedbackRequest{Id: recID})
	if err != nil {
		t.Fatalf("own agent's record: %v", err)
	}
	rv := got.GetRecord().GetReview()
	if got.GetRecord().GetScoreText() != "83.75" || got.GetRecord().GetGrade() != "good" || len(rv.GetRatings()) != 5 ||
		rv.GetRatings()[0].GetComment() != "warm greeting" || rv.GetStrengths()[0] != "polite" || rv.GetSuggestions()[0] != "confirm the date" {
		t.Fatalf("record read back as %v", got.GetRecord())
	}
	if tr := got.GetTranscript(); tr.GetExternalId() != item.GetExternalId() || len(tr.GetMessages()) == 0 || got.GetSupersededById() != 0 {
		t.Fatalf("transcript %v, superseded by %d", tr, got.GetSupersededById())
	}
	if _, err := e.feedback.GetFeedback(e.admin, &qav1.GetFeedbackRequest{Id: recID}); err != nil {
		t.Fatalf("admin: %v", err)
	}
	_, err = e.feedback.GetFeedback(e.supB, &qav1.GetFeedbackRequest{Id: recID})
	wantCode(t, err, codes.NotFound)
	_, err = e.feedback.GetFeedback(e.supA, &qav1.GetFeedbackRequest{Id: recID + 1000})
	wantCode(t, err, codes.NotFound)
	_, err = e.feedback.GetFeedback(inspector, &qav1.GetFeedbackRequest{Id: recID})
	wantCode(t, err, codes.PermissionDenied)
	// The transcript comes with the record only: GetTranscript stays closed.
	_, err = qav1.NewIngestServiceClient(e.conn).GetTranscript(e.supA, &qav1.GetTranscriptRequest{ExternalId: item.GetExternalId()})
	wantCode(t, err, codes.PermissionDenied)

	// A dispute's re-score replaces the record; the old one points to it.
	d, err := e.feedback.OpenDispute(e.supA, &qav1.OpenDisputeRequest{ReviewId: final.GetReview().GetId(), Reason: "asked twice"})
	if err != nil {
		t.Fatal(err)
	}
	rescored, err := e.review.SubmitReview(e.inspectors[d.GetDispute().GetAssigneeId()],
		&qav1.SubmitReviewRequest{ItemId: item.GetId(), Ratings: fullRatings(), Final: true})
	if err != nil {
		t.Fatal(err)
	}
	next := rescored.GetFeedback().GetId()
	old, err := e.feedback.GetFeedback(e.supA, &qav1.GetFeedbackRequest{Id: recID})
	if err != nil {
		t.Fatal(err)
	}
	if old.GetSupersededById() != next || old.GetRecord().GetReview().GetStatus() != string(store.ReviewRetracted) {
		t.Fatalf("replaced record: superseded by %d (want %d), review %s", old.GetSupersededById(), next, old.GetRecord().GetReview().GetStatus())
	}
	cur, err := e.feedback.GetFeedback(e.supA, &qav1.GetFeedbackRequest{Id: next})
	if err != nil || cur.GetSupersededById() != 0 || cur.GetRecord().GetSupersedesId() != recID {
		t.Fatalf("successor: %v, %v", cur.GetRecord(), err)
	}
}
