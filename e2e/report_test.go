package e2e

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// tQuantile975 is Student's t quantile t(0.975, df) from a printed table,
// independent of the server's distribution code.
// Six decimals: a t interval reaching far outside 0..100 (checked raw)
// is wide enough for three decimals' error to show.
var tQuantile975 = map[int]float64{1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 6: 2.446912, 7: 2.364624, 8: 2.306004, 9: 2.262157}

// ciTolerance covers the table's rounding.
const ciTolerance = 0.01

// minReviews is qad's default --report-min-reviews.
const minReviews = 3

// scored is a final review as the test planned it.
type scored struct {
	agent, week string
	e           expected
}

// summaryWant is what a report's Summary should say about reviews over
// weeks, computed here from the submitted ratings.
type summaryWant struct {
	reviews, critical int
	mean, sd          float64
	ci, rawCI         *[2]float64 // shown (clamped to 0..100) and as computed
	tooFew            bool
	dims              map[string][2]float64 // key → rated, mean percent; rated ones only
	trend             []*qav1.WeekPoint
	slope             float64
	failing, flags    map[string]int
}

func wantSummary(t *testing.T, reviews []scored, weeks []string) summaryWant {
	t.Helper()
	s := summaryWant{dims: map[string][2]float64{}, failing: map[string]int{}, flags: map[string]int{}}
	var sum float64
	for _, r := range reviews {
		if !slices.Contains(weeks, r.week) {
			continue
		}
		s.reviews++
		sum += r.e.score
		if r.e.critical {
			s.critical++
		}
		for _, f := range r.e.flags {
			s.flags[f]++
		}
	}
	if s.reviews > 0 {
		s.mean = sum / float64(s.reviews)
	}
	var ss float64
	dimSum := map[string]float64{}
	dimN := map[string]int{}
	for _, r := range reviews {
		if !slices.Contains(weeks, r.week) {
			continue
		}
		ss += (r.e.score - s.mean) * (r.e.score - s.mean)
		for k, p := range r.e.percent {
			dimSum[k] += p
			dimN[k]++
			if r.e.failing[k] {
				s.failing[k]++
			}
		}
	}
	if s.reviews >= 2 {
		s.sd = math.Sqrt(ss / float64(s.reviews-1))
		q, ok := tQuantile975[s.reviews-1]
		if !ok {
			t.Fatalf("no t quantile for df %d in the table", s.reviews-1)
		}
		half := q * s.sd / math.Sqrt(float64(s.reviews))
		s.ci = &[2]float64{math.Max(0, s.mean-half), math.Min(100, s.mean+half)}
		s.rawCI = &[2]float64{s.mean - half, s.mean + half}
	}
	s.tooFew = s.reviews < minReviews
	// A dimension nobody rated is left out, not shown with a mean of 0.
	for _, k := range dimensionKeys {
		if dimN[k] > 0 {
			s.dims[k] = [2]float64{float64(dimN[k]), dimSum[k] / float64(dimN[k])}
		}
	}
	// Trend, and the least-squares slope of weekly means over the weeks
	// with reviews against the week's position in the range.
	var xs, ys []float64
	for i, wk := range weeks {
		p := &qav1.WeekPoint{Week: wk}
		var wsum float64
		for _, r := range reviews {
			if r.week == wk {
				p.Reviews++
				wsum += r.e.score
			}
		}
		if p.Reviews > 0 {
			p.Mean = wsum / float64(p.Reviews)
			xs, ys = append(xs, float64(i)), append(ys, p.Mean)
		}
		s.trend = append(s.trend, p)
	}
	if len(xs) >= 2 {
		var mx, my float64
		for i := range xs {
			mx += xs[i] / float64(len(xs))
			my += ys[i] / float64(len(xs))
		}
		var sxy, sxx float64
		for i := range xs {
			sxy += (xs[i] - mx) * (ys[i] - my)
			sxx += (xs[i] - mx) * (xs[i] - mx)
		}
		s.slope = sxy / sxx
	}
	return s
}

func checkSummary(t *testing.T, what string, got *qav1.Summary, want summaryWant) {
	t.Helper()
	if int(got.GetReviews()) != want.reviews || int(got.GetCritical()) != want.critical || !near(got.GetMean(), want.mean) ||
		!near(got.GetStdDev(), want.sd) || !near(got.GetSlope(), want.slope) {
		t.Errorf("%s: reviews %d critical %d mean %v sd %v slope %v; want %d %d %v %v %v", what, got.GetReviews(), got.GetCritical(),
			got.GetMean(), got.GetStdDev(), got.GetSlope(), want.reviews, want.critical, want.mean, want.sd, want.slope)
	}
	switch ci := got.GetCi95(); {
	case want.ci == nil && ci != nil:
		t.Errorf("%s: 95%% CI %v with %d reviews; want none", what, ci, want.reviews)
	case want.ci != nil && (ci == nil || math.Abs(ci.GetLow()-want.ci[0]) > ciTolerance || math.Abs(ci.GetHigh()-want.ci[1]) > ciTolerance):
		t.Errorf("%s: 95%% CI %v; want %.3f..%.3f", what, ci, want.ci[0], want.ci[1])
	case want.ci != nil && (math.Abs(ci.GetRawLow()-want.rawCI[0]) > ciTolerance || math.Abs(ci.GetRawHigh()-want.rawCI[1]) > ciTolerance ||
		ci.GetClamped() != (*want.ci != *want.rawCI)):
		t.Errorf("%s: 95%% CI %v; want raw %.3f..%.3f, clamped %v", what, ci, want.rawCI[0], want.rawCI[1], *want.ci != *want.rawCI)
	}
	if got.GetTooFewReviews() != want.tooFew || got.GetMinReviews() != minReviews {
		t.Errorf("%s: too_few_reviews %v min_reviews %d with %d reviews; want %v %d", what, got.GetTooFewReviews(), got.GetMinReviews(), want.reviews, want.tooFew, minReviews)
	}
	gotDims := map[string][2]float64{}
	for _, d := range got.GetDimensions() {
		gotDims[d.GetKey()] = [2]float64{float64(d.GetRated()), d.GetMean()}
	}
	if len(gotDims) != len(want.dims) {
		t.Errorf("%s: dimensions %v; want %v", what, gotDims, want.dims)
	}
	for k, w := range want.dims {
		if g, ok := gotDims[k]; !ok || g[0] != w[0] || !near(g[1], w[1]) {
			t.Errorf("%s: dimension %s rated %v mean %v; want %v %v", what, k, g[0], g[1], w[0], w[1])
		}
	}
	if len(got.GetTrend()) != len(want.trend) {
		t.Fatalf("%s: trend %v; want %v", what, got.GetTrend(), want.trend)
	}
	for i, p := range got.GetTrend() {
		w := want.trend[i]
		if p.GetWeek() != w.GetWeek() || p.GetReviews() != w.GetReviews() || !near(p.GetMean(), w.GetMean()) {
			t.Errorf("%s: trend point %d %v; want %v", what, i, p, w)
		}
	}
}

// checkIssues compares the team's issue counts, most frequent first.
func checkIssues(t *testing.T, what string, got []*qav1.IssueCount, want map[string]int, reviews int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v; want %v", what, got, want)
	}
	for i, c := range got {
		if n, ok := want[c.GetKey()]; !ok || int(c.GetCount()) != n || !near(c.GetShare(), float64(n)/float64(reviews)) {
			t.Errorf("%s: %v; want count %d of %d reviews", what, c, want[c.GetKey()], reviews)
		}
		if i > 0 && c.GetCount() > got[i-1].GetCount() {
			t.Errorf("%s: not most frequent first: %v", what, got)
		}
	}
}

// TestReportNumbers: final reviews over three weeks for the two agents of
// a team, one of them disputed and re-scored, one draft left open; the
// agent and team reports must show what this test computes itself from
// the submitted ratings.
func TestReportNumbers(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { reportNumbers(t, b.dsn) })
	}
}

func reportNumbers(t *testing.T, dsn string) {
	w := newWorld(t, dsn, defaultOrg)
	w.setupGRPC()
	picks := map[string]map[string][]*qav1.Pick{} // week → agent → assigned picks
	for _, wk := range []string{"2026-W41", "2026-W42", "2026-W43"} {
		w.pushWeek(wk, 3)
		all := w.runWeek(wk)
		picks[wk] = map[string][]*qav1.Pick{"a1": picksOf(t, all, "a1"), "a2": picksOf(t, all, "a2"), "b1": picksOf(t, all, "b1")}
	}
	plan := []struct {
		agent, week string
		n           int
		spec        string
		flags       []string
	}{
		{"a1", "2026-W41", 0, "attitude=5,knowledge=4,efficiency=4,communication=5,compliance=4", nil},
		{"a1", "2026-W41", 1, "attitude=3,knowledge=2,efficiency=3,communication=3,compliance=3", nil},
		{"a1", "2026-W42", 0, "attitude=4,knowledge=na,efficiency=3,communication=4,compliance=5", nil},
		{"a1", "2026-W43", 0, "attitude=4,knowledge=5,efficiency=4,communication=4,compliance=3", nil},
		{"a2", "2026-W41", 0, "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4", nil},
		{"a2", "2026-W42", 1, "attitude=5,knowledge=5,efficiency=5,communication=5,compliance=5", []string{"false_promise"}},
		{"a2", "2026-W43", 0, "attitude=2,knowledge=3,efficiency=2,communication=3,compliance=2", []string{"privacy_leak", "false_promise"}},
		{"b1", "2026-W42", 0, "attitude=1,knowledge=1,efficiency=1,communication=1,compliance=1", []string{"abusive_language"}},
	}
	var counted []scored
	for _, r := range plan {
		rv := w.finalize(picks[r.week][r.agent][r.n], r.spec, r.flags...).GetReview()
		e := expect(t, r.spec, r.flags...)
		checkReview(t, fmt.Sprintf("%s %s #%d", r.agent, r.week, r.n), rv, e)
		if r.agent != "b1" {
			counted = append(counted, scored{r.agent, r.week, e})
		}
	}

	// A review disputed and re-scored: only the re-score counts, the
	// retracted review's flag included.
	contested := w.finalize(picks["2026-W43"]["a2"][1], "attitude=4,knowledge=5,efficiency=na,communication=3,compliance=4", "false_promise").GetReview()
	d, err := w.c.feedback.OpenDispute(w.as("sup-a"), &qav1.OpenDisputeRequest{ReviewId: contested.GetId(), Reason: "the tone was fine"})
	if err != nil {
		t.Fatalf("OpenDispute: %v", err)
	}
	reSpec := "attitude=5,knowledge=5,efficiency=na,communication=4,compliance=4"
	if _, err := w.c.review.SubmitReview(w.as(d.GetDispute().GetAssigneeId()), &qav1.SubmitReviewRequest{
		ItemId: contested.GetItemId(), Ratings: ratingsProto(t, reSpec), Final: true,
	}); err != nil {
		t.Fatalf("re-score: %v", err)
	}
	counted = append(counted, scored{"a2", "2026-W43", expect(t, reSpec)})
	// A draft never counts.
	draftItem := picks["2026-W42"]["a2"][0]
	if _, err := w.c.review.SubmitReview(w.as(draftItem.GetInspectorId()), &qav1.SubmitReviewRequest{
		ItemId: draftItem.GetId(), Ratings: ratingsProto(t, "attitude=0,knowledge=0,efficiency=0,communication=0,compliance=0"),
	}); err != nil {
		t.Fatalf("draft: %v", err)
	}

	// Team: 8 reviews, df 7 (t = 2.365); a1 and a2: 4 each, df 3.
	weeks := []string{"2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"}
	byAgent := func(agent string) []scored {
		var out []scored
		for _, r := range counted {
			if r.agent == agent {
				out = append(out, r)
			}
		}
		return out
	}
	for _, agent := range []string{"a1", "a2"} {
		rep := &qav1.GetAgentReportResponse{}
		unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", agent, "--weeks", "5", "--last-week", "2026-W44"), rep)
		if r := rep.GetReport(); r.GetAgentId() != agent || r.GetTeamId() != "team-a" || !slices.Equal(r.GetWeeks(), weeks) {
			t.Errorf("report of %s: agent %s team %s weeks %v", agent, r.GetAgentId(), r.GetTeamId(), r.GetWeeks())
		}
		want := wantSummary(t, byAgent(agent), weeks)
		checkSummary(t, "report of "+agent, rep.GetReport().GetSummary(), want)
		// The plan gives a1 an interval inside 0..100 and a2 one clamped at 0.
		if want.ci == nil || (agent == "a1") != (want.ci[0] > 0 && want.ci[1] < 100) {
			t.Fatalf("the plan's CI for %s is %v", agent, want.ci)
		}
	}
	// A shorter range leaves the earlier weeks out.
	short := &qav1.GetAgentReportResponse{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", "a1", "--weeks", "2", "--last-week", "2026-W44"), short)
	checkSummary(t, "a1 over 2 weeks", short.GetReport().GetSummary(), wantSummary(t, byAgent("a1"), weeks[3:]))
	// a1's one review of 2026-W42 marked knowledge N/A: the report leaves
	// knowledge out, and one review is too few for a mean.
	one := &qav1.GetAgentReportResponse{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", "a1", "--weeks", "1", "--last-week", "2026-W42"), one)
	if want := wantSummary(t, byAgent("a1"), weeks[2:3]); want.reviews != 1 || len(want.dims) != len(dimensionKeys)-1 || !want.tooFew {
		t.Fatalf("the plan's a1 in 2026-W42: %+v", want)
	} else {
		checkSummary(t, "a1 in 2026-W42", one.GetReport().GetSummary(), want)
	}
	oneText := w.qactlOK("sup-a", "report", "agent", "a1", "--weeks", "1", "--last-week", "2026-W42")
	if !strings.Contains(oneText, "(n=1, too few reviews: fewer than 3;") || strings.Contains(oneText, "knowledge") {
		t.Errorf("a1 in 2026-W42, text: want n=1 marked too few and no knowledge line:\n%s", oneText)
	}
	// a2's interval reaches below 0: the text shows it clamped and gives
	// the t interval (its bounds are checked above, to the t table's
	// precision).
	a2Text := w.qactlOK("sup-a", "report", "agent", "a2", "--weeks", "5", "--last-week", "2026-W44")
	if !regexp.MustCompile(`\(n=4; 95% CI 0\.00–\d+\.\d\d clamped to 0–100, t interval -\d+\.\d\d to \d+\.\d\d\)`).MatchString(a2Text) {
		t.Errorf("a2's text should show n=4 and the interval clamped at 0 with the t interval:\n%s", a2Text)
	}

	teamWant := wantSummary(t, counted, weeks)
	if teamWant.reviews != 8 || teamWant.ci == nil || teamWant.ci[0] <= 0 || teamWant.ci[1] >= 100 {
		t.Fatalf("the plan should count 8 team reviews with an unclamped CI, got %d %v", teamWant.reviews, teamWant.ci)
	}
	for _, who := range []string{"sup-a", "qa-lead"} {
		rep := &qav1.GetTeamReportResponse{}
		unmarshalJSON(t, w.qactlOK(who, "--json", "report", "team", "team-a", "--weeks", "5", "--last-week", "2026-W44"), rep)
		tr := rep.GetReport()
		if tr.GetTeamId() != "team-a" || !slices.Equal(tr.GetWeeks(), weeks) || len(tr.GetAgents()) != 2 {
			t.Fatalf("team report as %s: %v", who, tr)
		}
		checkSummary(t, "team-a as "+who, tr.GetSummary(), teamWant)
		for i, agent := range []string{"a1", "a2"} {
			if tr.GetAgents()[i].GetAgentId() != agent {
				t.Errorf("team agent %d is %s, want %s", i, tr.GetAgents()[i].GetAgentId(), agent)
			}
			checkSummary(t, "team-a's "+agent+" as "+who, tr.GetAgents()[i].GetSummary(), wantSummary(t, byAgent(agent), weeks))
		}
		checkIssues(t, "failing dimensions", tr.GetFailingDimensions(), teamWant.failing, teamWant.reviews)
		checkIssues(t, "critical flags", tr.GetCriticalFlags(), teamWant.flags, teamWant.reviews)
	}
	if teamWant.flags["false_promise"] != 2 || teamWant.flags["privacy_leak"] != 1 || len(teamWant.flags) != 2 {
		t.Fatalf("the plan's flags: %v", teamWant.flags)
	}

	// The text form charts the weekly trend: each week's mean with a bar
	// for weeks with reviews scoring above 0, a dash for empty weeks.
	out := w.qactlOK("sup-a", "report", "agent", "a1", "--weeks", "5", "--last-week", "2026-W44")
	for _, p := range wantSummary(t, byAgent("a1"), weeks).trend {
		i := slices.IndexFunc(strings.Split(out, "\n"), func(l string) bool {
			if p.GetReviews() == 0 {
				return strings.Contains(l, p.GetWeek()) && strings.Contains(l, "—")
			}
			return strings.Contains(l, p.GetWeek()) && strings.Contains(l, fmt.Sprintf("%.2f", p.GetMean())) &&
				strings.Contains(l, "█") == (p.GetMean() >= 5)
		})
		if i < 0 {
			t.Errorf("report text lacks a trend line for %s (%d reviews):\n%s", p.GetWeek(), p.GetReviews(), out)
		}
	}
}
