package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// checkProto fails the test when got is not want.
func checkProto(t *testing.T, what string, want, got proto.Message) {
	t.Helper()
	if !proto.Equal(want, got) {
		t.Errorf("%s:\n got %s\nwant %s", what, protojson.Format(got), protojson.Format(want))
	}
}

func TestParseRatings(t *testing.T) {
	got, err := parseRatings([]string{"attitude=4", "knowledge=na, efficiency=0", "communication=NA,compliance=+5"})
	if err != nil {
		t.Fatal(err)
	}
	want := []*qav1.DimensionRating{
		{Key: "attitude", Value: 4},
		{Key: "knowledge", Na: true},
		{Key: "efficiency", Value: 0},
		{Key: "communication", Na: true},
		{Key: "compliance", Value: 5},
	}
	checkProto(t, "parseRatings", &qav1.SubmitReviewRequest{Ratings: want}, &qav1.SubmitReviewRequest{Ratings: got})

	for _, tc := range []struct{ in, wantErr string }{
		{"attitude=x", `--rating attitude=x: the rating must be a whole number 0..max or na`},
		{"attitude=-1", `--rating attitude=-1: the rating must be a whole number 0..max or na`},
		{"attitude=4.5", `--rating attitude=4.5: the rating must be a whole number 0..max or na`},
		{"attitude=99999999999", `--rating attitude=99999999999: the rating must be a whole number 0..max or na`},
		{"attitude", `--rating "attitude": want KEY=N or KEY=na, e.g. attitude=4`},
		{"=4", `--rating "=4": want KEY=N or KEY=na, e.g. attitude=4`},
		{"attitude=", `--rating "attitude=": want KEY=N or KEY=na, e.g. attitude=4`},
		{"attitude=4,attitude=5", `--rating: dimension "attitude" is rated twice`},
	} {
		if _, err := parseRatings([]string{tc.in}); err == nil || err.Error() != tc.wantErr {
			t.Errorf("parseRatings(%q) error %v, want %q", tc.in, err, tc.wantErr)
		}
	}

	comments, err := parseRatingComments([]string{"efficiency=slow, but right", "attitude="})
	if err != nil || len(comments) != 2 || comments[0] != (keyText{"efficiency", "slow, but right"}) || comments[1] != (keyText{"attitude", ""}) {
		t.Errorf("parseRatingComments = %v, %v", comments, err)
	}
	for _, bad := range [][]string{{"efficiency"}, {"=text"}, {"a=1", "a=2"}} {
		if _, err := parseRatingComments(bad); err == nil || !strings.HasPrefix(err.Error(), "--rating-comment") {
			t.Errorf("parseRatingComments(%q) error %v, want one naming --rating-comment", bad, err)
		}
	}
}

func testRubric() *qav1.Rubric {
	dim := func(key, name string, weight float64) *qav1.Dimension {
		return &qav1.Dimension{Key: key, Name: name, Weight: weight, Max: 5, AllowNa: true, Criteria: "criteria of " + key}
	}
	compliance := dim("compliance", "流程遵循", 15)
	compliance.AllowNa, compliance.Critical = false, true
	return &qav1.Rubric{
		Version: 1, Name: "default",
		Dimensions: []*qav1.Dimension{
			dim("attitude", "服务态度", 25), dim("knowledge", "专业知识", 20), dim("efficiency", "解决效率", 20),
			dim("communication", "沟通技巧", 20), compliance,
		},
		Flags: []*qav1.CriticalFlag{
			{Key: "abusive_language", Name: "辱骂客户"}, {Key: "privacy_leak", Name: "泄露客户信息"}, {Key: "false_promise", Name: "违规承诺"},
		},
		Thresholds: &qav1.GradeThresholds{Excellent: 90, Good: 80, Pass: 70},
	}
}

func testDraft() *qav1.Review {
	return &qav1.Review{
		Id: 12, ItemId: 17, AgentId: "a1", InspectorId: "insp-1", RubricVersion: 1, Status: "draft", Week: "2026-W47",
		Ratings: []*qav1.DimensionRating{
			{Key: "attitude", Value: 3, Comment: "greeted late", Max: 5, Name: "服务态度"},
			{Key: "knowledge", Value: 4, Max: 5},
		},
		Flags:     []string{"privacy_leak"},
		Comment:   "first pass",
		Strengths: []string{"polite"},
		UpdatedAt: timestamppb.New(time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)),
	}
}

func TestMergeDraft(t *testing.T) {
	comment := "good overall"
	edit := reviewEdit{
		ratings:        []*qav1.DimensionRating{{Key: "attitude", Value: 4}, {Key: "efficiency", Value: 3}, {Key: "communication", Na: true}},
		ratingComments: []keyText{{"efficiency", "slow, but right"}},
		flags:          []string{"false_promise", "privacy_leak"},
		comment:        &comment,
		strengths:      []string{"quick"},
		suggestions:    []string{"confirm the date"},
	}
	draft := testDraft()
	before := proto.CloneOf(draft)
	got, err := mergeDraft(17, draft, edit)
	if err != nil {
		t.Fatal(err)
	}
	want := &qav1.SubmitReviewRequest{
		ItemId: 17,
		Ratings: []*qav1.DimensionRating{
			{Key: "attitude", Value: 4, Comment: "greeted late"}, // the comment stays
			{Key: "knowledge", Value: 4},
			{Key: "efficiency", Value: 3, Comment: "slow, but right"},
			{Key: "communication", Na: true},
		},
		Flags:       []string{"privacy_leak", "false_promise"},
		Comment:     "good overall",
		Strengths:   []string{"polite", "quick"},
		Suggestions: []string{"confirm the date"},
	}
	checkProto(t, "merge", want, got)
	if !proto.Equal(draft, before) {
		t.Errorf("mergeDraft changed the draft it was given")
	}

	// Nothing given: the draft is submitted as it is, output-only fields dropped.
	got, err = mergeDraft(17, testDraft(), reviewEdit{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetComment() != "first pass" || len(got.GetFlags()) != 1 || got.GetRatings()[0].GetMax() != 0 || got.GetRatings()[0].GetName() != "" {
		t.Errorf("unchanged draft became %v", got)
	}

	// --clear-flags, a NA switched back to a number, and no draft at all.
	got, _ = mergeDraft(17, testDraft(), reviewEdit{clearFlags: true, flags: []string{"abusive_language"}})
	if want := []string{"abusive_language"}; !slices.Equal(got.GetFlags(), want) {
		t.Errorf("--clear-flags --flag abusive_language: flags %v, want %v", got.GetFlags(), want)
	}
	got, _ = mergeDraft(17, &qav1.Review{Ratings: []*qav1.DimensionRating{{Key: "attitude", Na: true}}}, reviewEdit{ratings: []*qav1.DimensionRating{{Key: "attitude", Value: 2}}})
	if r := got.GetRatings()[0]; r.GetNa() || r.GetValue() != 2 {
		t.Errorf("attitude=na then attitude=2: %v", r)
	}
	got, err = mergeDraft(9, nil, reviewEdit{ratings: []*qav1.DimensionRating{{Key: "knowledge", Value: 1}}, strengths: []string{"s"}})
	if err != nil || got.GetItemId() != 9 || len(got.GetRatings()) != 1 || got.GetComment() != "" || !slices.Equal(got.GetStrengths(), []string{"s"}) {
		t.Errorf("without a draft: %v, %v", got, err)
	}

	// A comment on a dimension rated nowhere would send a rating of 0.
	_, err = mergeDraft(17, testDraft(), reviewEdit{ratingComments: []keyText{{"compliance", "x"}}})
	if err == nil || !strings.HasPrefix(err.Error(), "--rating-comment compliance: the dimension is not rated") {
		t.Errorf("comment on an unrated dimension: error %v", err)
	}
}

func TestCheckEdit(t *testing.T) {
	rubric := testRubric()
	ok := reviewEdit{ratings: []*qav1.DimensionRating{{Key: "attitude", Value: 5}, {Key: "knowledge", Na: true}}, flags: []string{"privacy_leak"}}
	if err := checkEdit(ok, rubric); err != nil {
		t.Errorf("valid edit: %v", err)
	}
	for _, tc := range []struct {
		edit    reviewEdit
		wantErr string
	}{
		{reviewEdit{ratings: []*qav1.DimensionRating{{Key: "speed", Value: 3}}},
			"--rating speed: rubric version 1 has no such dimension; it has attitude, knowledge, efficiency, communication, compliance"},
		{reviewEdit{ratings: []*qav1.DimensionRating{{Key: "attitude", Value: 6}}}, "--rating attitude=6: the scale is 0..5"},
		{reviewEdit{ratings: []*qav1.DimensionRating{{Key: "compliance", Na: true}}}, "--rating compliance=na: this dimension may not be marked N/A"},
		{reviewEdit{flags: []string{"rude"}}, "--flag rude: rubric version 1 has no such critical flag; it has abusive_language, privacy_leak, false_promise"},
		{reviewEdit{ratingComments: []keyText{{"speed", "x"}}}, "--rating-comment speed: rubric version 1 has no such dimension; it has attitude, knowledge, efficiency, communication, compliance"},
	} {
		if err := checkEdit(tc.edit, rubric); err == nil || err.Error() != tc.wantErr {
			t.Errorf("checkEdit error %v, want %q", err, tc.wantErr)
		}
	}
}

func reviewFake() *fakeQA {
	return &fakeQA{
		items: map[int64]*qav1.OpenItemResponse{
			17: {
				Item:       &qav1.Pick{Id: 17, ExternalId: "c-9", AgentId: "a1", Reason: "complaint", InspectorId: "insp-1", Status: "assigned"},
				Transcript: storedTranscript(),
				Rubric:     testRubric(),
				Draft:      testDraft(),
			},
		},
		submitted: &qav1.Review{Id: 12, AgentId: "a1", InspectorId: "insp-1", RubricVersion: 1, Week: "2026-W47",
			Score: 87.5, ScoreText: "87.50", Grade: "good"},
	}
}

func TestReviewSubmitMergesWithTheDraft(t *testing.T) {
	fake := reviewFake()
	addr := startFakeQA(t, fake)

	res := runQactl(t, "", "--addr", addr, "review", "submit", "17",
		"--rating", "attitude=4", "--rating", "efficiency=3,communication=na", "--rating", "compliance=2",
		"--rating-comment", "efficiency=slow, but right", "--flag", "false_promise", "--comment", "good overall",
		"--strength", "quick", "--suggestion", "confirm the date", "--suggestion", "say goodbye", "--final")
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
	want := &qav1.SubmitReviewRequest{
		ItemId: 17,
		Ratings: []*qav1.DimensionRating{
			{Key: "attitude", Value: 4, Comment: "greeted late"},
			{Key: "knowledge", Value: 4},
			{Key: "efficiency", Value: 3, Comment: "slow, but right"},
			{Key: "communication", Na: true},
			{Key: "compliance", Value: 2},
		},
		Flags:       []string{"privacy_leak", "false_promise"},
		Comment:     "good overall",
		Strengths:   []string{"polite", "quick"},
		Suggestions: []string{"confirm the date", "say goodbye"},
		Final:       true,
	}
	if len(fake.submits) != 1 {
		t.Fatalf("%d SubmitReview calls, want 1", len(fake.submits))
	}
	checkProto(t, "submitted", want, fake.submits[0])
	for _, line := range []string{
		"review 12 of item 17 (agent a1, week 2026-W47), rubric version 1: final\n",
		"  attitude       4/5     80%                        greeted late\n",
		"  communication  n/a\n",
		"  compliance     2/5     40%      failing,CRITICAL\n",
		"  critical flags: privacy_leak; false_promise\n",
		"  suggestions: confirm the date; say goodbye\n",
		"score 87.50  grade good\n",
		"feedback 31 sent to supervisor sup-1\n",
	} {
		if !strings.Contains(res.stdout, line) {
			t.Errorf("output lacks %q:\n%s", line, res.stdout)
		}
	}

	// A draft: not scored, and says what is left to rate.
	res = runQactl(t, "", "--addr", addr, "review", "submit", "17", "--rating", "compliance=5", "--clear-flags")
	if res.code != exitOK {
		t.Fatalf("draft: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	if got := fake.submits[1]; got.GetFinal() || len(got.GetFlags()) != 0 || len(got.GetRatings()) != 3 {
		t.Errorf("draft submitted %v", got)
	}
	for _, line := range []string{"  unrated: efficiency, communication\n", "draft saved; not scored until --final\n"} {
		if !strings.Contains(res.stdout, line) {
			t.Errorf("draft output lacks %q:\n%s", line, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "grade") {
		t.Errorf("a draft shows a score:\n%s", res.stdout)
	}

	// --json: one line, the Review.
	res = runQactl(t, "", "--addr", addr, "--json", "review", "submit", "17", "--rating", "efficiency=5,communication=4,compliance=5", "--final")
	if res.code != exitOK || strings.Count(res.stdout, "\n") != 1 {
		t.Fatalf("--json: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
	var review map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &review); err != nil {
		t.Fatalf("--json output is not JSON: %v", err)
	}
	if review["id"] != "12" || review["status"] != "final" || review["score"] != 87.5 || review["grade"] != "good" {
		t.Errorf("--json review %v", review)
	}
	if v, ok := review["finalized_at"]; !ok || v != nil {
		t.Errorf("finalized_at = %v, %v; want present and null", v, ok)
	}
}

func TestReviewSubmitRejectsBadFlagsLocally(t *testing.T) {
	fake := reviewFake()
	addr := startFakeQA(t, fake)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rating", "attitude=x"}, "qactl: --rating attitude=x: the rating must be a whole number 0..max or na\n"},
		{[]string{"--rating", "attitude"}, `qactl: --rating "attitude": want KEY=N or KEY=na`},
		{[]string{"--rating-comment", "attitude"}, `qactl: --rating-comment "attitude": want KEY=TEXT`},
		{[]string{"--rating", "speed=3"}, "qactl: --rating speed: rubric version 1 has no such dimension"},
		{[]string{"--rating", "attitude=7"}, "qactl: --rating attitude=7: the scale is 0..5"},
		{[]string{"--flag", "rude"}, "qactl: --flag rude: rubric version 1 has no such critical flag"},
		{[]string{"--rating-comment", "efficiency=x"}, "qactl: --rating-comment efficiency: the dimension is not rated"},
	} {
		res := runQactl(t, "", append([]string{"--addr", addr, "review", "submit", "17"}, tc.args...)...)
		if res.code != exitUsage || !strings.HasPrefix(res.stderr, tc.want) || !strings.Contains(res.stderr, "Run 'qactl review submit --help'") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, res.code, res.stderr, tc.want)
		}
	}
	if len(fake.submits) != 0 {
		t.Errorf("bad flags reached SubmitReview: %v", fake.submits)
	}
	if len(fake.opened) != 4 {
		t.Errorf("OpenItem called %d times; syntax errors should not call the server at all", len(fake.opened))
	}

	res := runQactl(t, "", "--addr", addr, "review", "submit", "18", "--rating", "attitude=3")
	if res.code != exitRPC || res.stderr != "qactl: NOT_FOUND: item 18 not found\n" {
		t.Errorf("unknown item: exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestReviewShow(t *testing.T) {
	fake := reviewFake()
	item := fake.items[17]
	item.Dispute = &qav1.Dispute{Id: 3, ReviewId: 9, Status: "open", OpenedBy: "sup-1", Reason: "the customer\nasked twice",
		OpenedAt: timestamppb.New(time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC))}
	item.DisputedReview = &qav1.Review{Id: 9, InspectorId: "insp-2", Status: "final", ScoreText: "71.25", Grade: "pass",
		Ratings: []*qav1.DimensionRating{{Key: "attitude", Value: 2, Max: 5, Percent: 40, Failing: true}}}
	addr := startFakeQA(t, fake)

	res := runQactl(t, "", "--addr", addr, "review", "show", "17")
	if res.code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{
		"item 17: agent a1, week 2026-W47, reason complaint, status assigned\n",
		"external_id:    c-9\n",
		"first response: 15s\n",
		"] customer: where is ⏎ my parcel?\\u001b[2J\n",
		"] agent(a2): it ships today\n",
		"rubric version 1 (default)\n",
		"KEY            WEIGHT  SCALE  N/A      CRITICAL  NAME\n",
		"attitude       25      0..5   allowed  -         服务态度\n",
		"compliance     15      0..5   no       yes       流程遵循\n",
		"  attitude: criteria of attitude\n",
		"  abusive_language  辱骂客户\n  privacy_leak      泄露客户信息\n",
		"the customer ⏎ asked twice\n",
		"contested review 9 by insp-2: score 71.25  grade pass\n",
		"  attitude   2/5     40%      failing\n",
		"  attitude   3/5                     greeted late\n",
		"  knowledge  4/5\n",
		"  critical flags: privacy_leak\n",
		"  unrated: efficiency, communication, compliance\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}

	res = runQactl(t, "", "--addr", addr, "--json", "review", "show", "17")
	var decoded struct {
		Item   map[string]any `json:"item"`
		Rubric map[string]any `json:"rubric"`
		Draft  map[string]any `json:"draft"`
	}
	if res.code != exitOK || strings.Count(res.stdout, "\n") != 1 || json.Unmarshal([]byte(res.stdout), &decoded) != nil {
		t.Fatalf("--json: exit %d, stdout %q", res.code, res.stdout)
	}
	if decoded.Item["id"] != "17" || decoded.Rubric["version"] != "1" || decoded.Draft["status"] != "draft" {
		t.Errorf("--json: %s", res.stdout)
	}

	res = runQactl(t, "", "--addr", addr, "review", "show", "x")
	if res.code != exitUsage || !strings.HasPrefix(res.stderr, "qactl: ID \"x\" is not a number from `review queue`") {
		t.Errorf("bad id: exit %d, stderr %q", res.code, res.stderr)
	}
}
