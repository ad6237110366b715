package report

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// scores makes one review per score for agent in week.
func scores(agent, week string, ss ...float64) []Review {
	out := make([]Review, len(ss))
	for i, s := range ss {
		out[i] = Review{AgentID: agent, Week: week, Score: s}
	}
	return out
}

func TestMeanAndConfidenceInterval(t *testing.T) {
	weeks := []string{"2026-W10"}
	tests := []struct {
		name           string
		scores         []float64
		mean, sd       float64
		low, high, tol float64
	}{
		// Mean 80; squared deviations 100+0+100+25+25 = 250; s² = 250/4 = 62.5,
		// s = 7.9057; s/√5 = 3.5355; t(0.975, 4) = 2.776 → ±9.815.
		{"n=5", []float64{70, 80, 90, 85, 75}, 80, math.Sqrt(62.5), 80 - 2.776*math.Sqrt(62.5/5), 80 + 2.776*math.Sqrt(62.5/5), 0.01},
		// Mean 80; squared deviations 400+225+100+25+0+25+100+225+400+0 = 1500;
		// s² = 1500/9; s/√10 = 4.0825; t(0.975, 9) = 2.262 → ±9.235.
		{"n=10", []float64{60, 65, 70, 75, 80, 85, 90, 95, 100, 80}, 80, math.Sqrt(1500.0 / 9),
			80 - 2.262*math.Sqrt(1500.0/90), 80 + 2.262*math.Sqrt(1500.0/90), 0.01},
		// Mean 290/3 = 96.667, s = 5.7735, s/√3 = 3.3333, t(0.975, 2) = 4.303 →
		// ±14.343: the upper end, 111.01, is clamped to 100.
		{"clamped at 100", []float64{100, 100, 90}, 290.0 / 3, math.Sqrt(100.0 / 3), 290.0/3 - 4.303*math.Sqrt(100.0/9), 100, 0.01},
		{"no spread", []float64{75, 75}, 75, 0, 75, 75, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Agent("a", weeks, scores("a", weeks[0], tt.scores...)).Summary
			if s.Reviews != len(tt.scores) || !near(s.Mean, tt.mean, 1e-9) || !near(s.StdDev, tt.sd, 1e-9) {
				t.Errorf("reviews %d, mean %v, sd %v; want %d, %v, %v", s.Reviews, s.Mean, s.StdDev, len(tt.scores), tt.mean, tt.sd)
			}
			if !s.CI95.OK || !near(s.CI95.Low, tt.low, tt.tol) || !near(s.CI95.High, tt.high, tt.tol) {
				t.Errorf("CI95 = %+v, want [%.3f, %.3f]", s.CI95, tt.low, tt.high)
			}
		})
	}
}

// The case: three reviews whose t interval is (−54.8, 149.9) were
// shown as (0, 100) with nothing saying so.
func TestClampedIntervalSaysSo(t *testing.T) {
	weeks := []string{"2026-W10"}
	// Mean 140/3 = 46.667; s² = (2177.8 + 177.8 + 1111.1) / 2 = 1733.3,
	// s = 41.633; s/√3 = 24.037; t(0.975, 2) = 4.303 → ±103.42:
	// (−56.76, 150.09).
	s := Agent("a", weeks, scores("a", weeks[0], 0, 60, 80)).Summary
	in := s.CI95
	if !in.OK || !in.Clamped || in.Low != 0 || in.High != 100 {
		t.Errorf("CI95 = %+v; want shown as 0..100 and marked clamped", in)
	}
	if !near(in.RawLow, -56.76, 0.01) || !near(in.RawHigh, 150.09, 0.01) {
		t.Errorf("raw interval %.2f..%.2f; want the t interval −56.76..150.09", in.RawLow, in.RawHigh)
	}
	// Mean 85, s = 5, ±12.42: (72.58, 97.42).
	inside := Agent("a", weeks, scores("a", weeks[0], 80, 85, 90)).CI95
	if inside.Clamped || inside.RawLow != inside.Low || inside.RawHigh != inside.High {
		t.Errorf("interval within 0..100: %+v; want raw = shown, not clamped", inside)
	}
}

func TestTooFewReviewsForAMean(t *testing.T) {
	weeks := []string{"2026-W10"}
	rs := append(scores("few", weeks[0], 80, 90), scores("enough", weeks[0], 70, 80, 90)...)
	tr := Team("t", []string{"few", "enough", "none"}, weeks, rs)
	for _, a := range tr.Agents {
		if want := a.AgentID != "enough"; a.TooFewReviews != want {
			t.Errorf("%s with %d reviews: TooFewReviews %v; want %v below the default minimum %d", a.AgentID, a.Reviews, a.TooFewReviews, want, DefaultMinReviews)
		}
	}
	if tr.TooFewReviews {
		t.Errorf("team of 5 reviews marked too few")
	}
	strict := Options{MinReviews: 6}.Team("t", []string{"few", "enough"}, weeks, rs)
	if !strict.TooFewReviews || !strict.Agents[0].TooFewReviews || !strict.Agents[1].TooFewReviews {
		t.Errorf("minimum 6: team %v, agents %v %v; want all too few", strict.TooFewReviews, strict.Agents[0].TooFewReviews, strict.Agents[1].TooFewReviews)
	}
	if lax := (Options{MinReviews: 1}).Agent("few", weeks, rs); lax.TooFewReviews {
		t.Errorf("minimum 1: 2 reviews marked too few")
	}
}

func TestTooFewForAnInterval(t *testing.T) {
	weeks := []string{"2026-W10"}
	one := Agent("a", weeks, scores("a", "2026-W10", 88)).Summary
	if one.Reviews != 1 || one.Mean != 88 || one.StdDev != 0 || one.CI95.OK {
		t.Errorf("one review: %+v; want mean 88, no spread, no interval", one)
	}
	none := Agent("a", weeks, nil).Summary
	want := Summary{Trend: []WeekPoint{{Week: "2026-W10"}}, TooFewReviews: true}
	if !reflect.DeepEqual(none, want) {
		t.Errorf("no reviews: %+v, want %+v", none, want)
	}
}

func TestTrendAndSlope(t *testing.T) {
	weeks := []string{"2026-W01", "2026-W02", "2026-W03", "2026-W04", "2026-W05"}
	var rs []Review
	rs = append(rs, scores("a", "2026-W01", 70, 80)...)
	rs = append(rs, scores("a", "2026-W03", 85)...)
	rs = append(rs, scores("a", "2026-W04", 80)...)
	rs = append(rs, scores("a", "2025-W52", 0)...) // before the range
	rs = append(rs, scores("a", "2026-W06", 0)...) // after it
	rs = append(rs, scores("b", "2026-W02", 0)...) // another agent
	s := Agent("a", weeks, rs).Summary
	// The week of two reviews (70, 80) has its own interval: 75 ± t(0.975, 1)·√50/√2,
	// clamped at 100; weeks of one review or none have none.
	half := 12.706204736174698 * math.Sqrt(50) / math.Sqrt(2)
	w01 := Interval{RawLow: 75 - half, RawHigh: 75 + half, Low: 75 - half, High: 100, Clamped: true, OK: true}
	want := []WeekPoint{
		{"2026-W01", 2, 75, w01}, {"2026-W02", 0, 0, Interval{}}, {"2026-W03", 1, 85, Interval{}}, {"2026-W04", 1, 80, Interval{}}, {"2026-W05", 0, 0, Interval{}},
	}
	if len(s.Trend) != len(want) {
		t.Fatalf("Trend = %v, want %v", s.Trend, want)
	}
	for i, p := range s.Trend {
		w := want[i]
		if p.Week != w.Week || p.Reviews != w.Reviews || p.Mean != w.Mean || p.CI95.OK != w.CI95.OK || p.CI95.Clamped != w.CI95.Clamped ||
			!near(p.CI95.RawLow, w.CI95.RawLow, 1e-9) || !near(p.CI95.RawHigh, w.CI95.RawHigh, 1e-9) ||
			!near(p.CI95.Low, w.CI95.Low, 1e-9) || !near(p.CI95.High, w.CI95.High, 1e-9) {
			t.Errorf("Trend[%d] = %+v, want %+v", i, p, w)
		}
	}
	if s.Reviews != 4 || s.Mean != 78.75 {
		t.Errorf("reviews %d mean %v, want 4 and 78.75: reviews outside the weeks or of others are ignored", s.Reviews, s.Mean)
	}
	// Points (0, 75), (2, 85), (3, 80): x̄ = 5/3, ȳ = 80;
	// Σdx·dy = (−5/3)(−5) + (1/3)(5) + (4/3)(0) = 10; Σdx² = 42/9; slope = 15/7.
	if !near(s.Slope, 15.0/7, 1e-12) {
		t.Errorf("Slope = %v, want 15/7", s.Slope)
	}

	single := Agent("a", weeks, scores("a", "2026-W02", 60, 90)).Summary
	if single.Slope != 0 {
		t.Errorf("one week with reviews: Slope = %v, want 0", single.Slope)
	}
	down := Agent("a", weeks, append(scores("a", "2026-W01", 90), scores("a", "2026-W05", 70)...)).Summary
	if !near(down.Slope, -5, 1e-12) {
		t.Errorf("90 then 70 four weeks later: Slope = %v, want −5", down.Slope)
	}
}

func TestDimensionAverages(t *testing.T) {
	weeks := []string{"2026-W10"}
	rs := []Review{
		{AgentID: "a", Week: "2026-W10", Score: 80, Dimensions: []Dimension{
			{Key: "knowledge", Percent: 80}, {Key: "attitude", Percent: 100}, {Key: "efficiency", NA: true},
		}},
		{AgentID: "a", Week: "2026-W10", Score: 60, Dimensions: []Dimension{
			{Key: "knowledge", Percent: 40, Failing: true}, {Key: "attitude", NA: true}, {Key: "efficiency", NA: true},
		}},
		// A different order of the same keys.
		{AgentID: "a", Week: "2026-W10", Score: 70, Dimensions: []Dimension{
			{Key: "attitude", Percent: 60, Failing: true}, {Key: "knowledge", Percent: 60, Failing: true},
		}},
	}
	got := Agent("a", weeks, rs).Dimensions
	want := []DimensionAverage{
		{Key: "attitude", Rated: 2, Mean: 80},  // (100 + 60) / 2; N/A left out
		{Key: "knowledge", Rated: 3, Mean: 60}, // (80 + 40 + 60) / 3
		// efficiency, always N/A, is left out: no "mean 0" for it.
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Dimensions = %+v, want %+v", got, want)
	}
}

func TestTeam(t *testing.T) {
	weeks := []string{"2026-W09", "2026-W10"}
	dims := func(failing ...string) []Dimension {
		var ds []Dimension
		for _, k := range []string{"attitude", "knowledge", "compliance"} {
			ds = append(ds, Dimension{Key: k, Percent: 80, Failing: slices.Contains(failing, k)})
		}
		return ds
	}
	rs := []Review{
		{AgentID: "b", Week: "2026-W09", Score: 90, Dimensions: dims()},
		{AgentID: "a", Week: "2026-W10", Score: 0, Critical: true, Flags: []string{"privacy_leak", "abusive_language"}, Dimensions: dims("knowledge")},
		{AgentID: "b", Week: "2026-W10", Score: 60, Dimensions: dims("knowledge", "compliance")},
		{AgentID: "a", Week: "2026-W09", Score: 0, Critical: true, Flags: []string{"privacy_leak"}, Dimensions: dims("attitude")},
		{AgentID: "b", Week: "2026-W10", Score: 70, Dimensions: dims("compliance")},
		// Listed twice in one review, counted once.
		{AgentID: "b", Week: "2026-W10", Score: 0, Critical: true, Flags: []string{"false_promise", "false_promise"},
			Dimensions: append(dims("compliance"), Dimension{Key: "compliance", Failing: true})},
		// Ignored: not a team member, not in the weeks.
		{AgentID: "z", Week: "2026-W10", Score: 0, Critical: true, Flags: []string{"privacy_leak"}, Dimensions: dims("attitude")},
		{AgentID: "a", Week: "2026-W08", Score: 0, Critical: true, Flags: []string{"privacy_leak"}, Dimensions: dims("attitude")},
	}
	tr := Team("t1", []string{"c", "b", "a", "b"}, weeks, rs)
	if tr.TeamID != "t1" || tr.Reviews != 6 || tr.Critical != 3 || !near(tr.Mean, 220.0/6, 1e-9) {
		t.Errorf("team: id %q, reviews %d, critical %d, mean %v; want t1, 6, 3, 36.67", tr.TeamID, tr.Reviews, tr.Critical, tr.Mean)
	}
	var agents []string
	for _, a := range tr.Agents {
		agents = append(agents, a.AgentID)
	}
	if !reflect.DeepEqual(agents, []string{"a", "b", "c"}) {
		t.Errorf("agents %v, want a b c: sorted, deduplicated, with c who has no review", agents)
	}
	if a := tr.Agents[0]; a.Reviews != 2 || a.Critical != 2 || a.Mean != 0 {
		t.Errorf("agent a: %+v", a.Summary)
	}
	if b := tr.Agents[1]; b.Reviews != 4 || b.Mean != 55 || b.Trend[0].Reviews != 1 || b.Trend[1].Mean != 130.0/3 {
		t.Errorf("agent b: %+v", b.Summary)
	}
	if c := tr.Agents[2]; c.Reviews != 0 || len(c.Trend) != 2 || c.CI95.OK || c.Dimensions != nil {
		t.Errorf("agent c: %+v", c.Summary)
	}
	wantFailing := []Count{{"compliance", 3, 0.5}, {"knowledge", 2, 2.0 / 6}, {"attitude", 1, 1.0 / 6}}
	if !reflect.DeepEqual(tr.FailingDimensions, wantFailing) {
		t.Errorf("FailingDimensions = %v, want %v", tr.FailingDimensions, wantFailing)
	}
	// abusive_language and false_promise tie at 1: by key.
	wantFlags := []Count{{"privacy_leak", 2, 2.0 / 6}, {"abusive_language", 1, 1.0 / 6}, {"false_promise", 1, 1.0 / 6}}
	if !reflect.DeepEqual(tr.CriticalFlags, wantFlags) {
		t.Errorf("CriticalFlags = %v, want %v", tr.CriticalFlags, wantFlags)
	}
	if got := Agent("b", weeks, rs); !reflect.DeepEqual(got, tr.Agents[1]) {
		t.Errorf("Agent(b) = %+v, want the team report's entry %+v", got, tr.Agents[1])
	}
}

func TestEmptyTeam(t *testing.T) {
	tr := Team("t", nil, []string{"2026-W10"}, scores("a", "2026-W10", 80))
	if tr.Reviews != 0 || len(tr.Agents) != 0 || tr.FailingDimensions != nil || tr.CriticalFlags != nil {
		t.Errorf("team without agents: %+v", tr)
	}
}

// TestTeamMatchesDirectComputation compares Team on random data with a
// plain two-pass computation per agent and for the team: the mean, spread
// and interval, the trend, the dimension averages and the common issues.
func TestTeamMatchesDirectComputation(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	weeks, _ := Weeks("2026-W05", 8)
	agents := []string{"a1", "a2", "a3", "a4", "a5", "a6"}
	keys := []string{"attitude", "knowledge", "efficiency", "compliance"}
	var rs []Review
	for range 300 {
		r := Review{
			AgentID: agents[rng.IntN(len(agents))], Week: weeks[rng.IntN(len(weeks))],
			Score: float64(rng.IntN(10001)) / 100,
		}
		// Some of the keys, in any order, each at most once.
		for _, i := range rng.Perm(len(keys))[:rng.IntN(len(keys)+1)] {
			p := float64(rng.IntN(11)) * 10
			na := rng.IntN(5) == 0
			r.Dimensions = append(r.Dimensions, Dimension{Key: keys[i], Percent: p, NA: na, Failing: !na && p < 70})
		}
		for _, i := range rng.Perm(3)[:rng.IntN(4)] {
			if rng.IntN(4) == 0 {
				r.Flags = append(r.Flags, []string{"privacy_leak", "false_promise", "abusive_language"}[i])
			}
		}
		r.Critical = len(r.Flags) > 0
		rs = append(rs, r)
	}
	// a7's reviews all fall in one week, leaving gaps in its trend; z is
	// not in the team.
	rs = append(rs, scores("a7", weeks[3], 40, 90)...)
	rs = append(rs, scores("z", weeks[0], 10)...)
	agents = append(agents, "a7")
	tr := Team("t", agents, weeks, rs)
	check := func(name string, got Summary, keep func(Review) bool) {
		var xs []float64
		critical := 0
		weekScores := make(map[string][]float64)
		type dimSum struct {
			rated int
			sum   float64
		}
		dims := make(map[string]*dimSum)
		for _, r := range rs {
			if !keep(r) {
				continue
			}
			xs = append(xs, r.Score)
			if r.Critical {
				critical++
			}
			weekScores[r.Week] = append(weekScores[r.Week], r.Score)
			for _, d := range r.Dimensions {
				if dims[d.Key] == nil {
					dims[d.Key] = &dimSum{}
				}
				if !d.NA {
					dims[d.Key].rated++
					dims[d.Key].sum += d.Percent
				}
			}
		}
		mean, sd := meanSD(xs)
		if got.Reviews != len(xs) || !near(got.Mean, mean, 1e-9) || !near(got.StdDev, sd, 1e-9) {
			t.Errorf("%s: n %d mean %v sd %v; direct: %d %v %v", name, got.Reviews, got.Mean, got.StdDev, len(xs), mean, sd)
		}
		if got.Critical != critical {
			t.Errorf("%s: %d critical, direct %d", name, got.Critical, critical)
		}
		if len(got.Trend) != len(weeks) {
			t.Fatalf("%s: %d trend points, want %d", name, len(got.Trend), len(weeks))
		}
		for i, p := range got.Trend {
			wm, _ := meanSD(weekScores[weeks[i]])
			if p.Week != weeks[i] || p.Reviews != len(weekScores[weeks[i]]) || !near(p.Mean, wm, 1e-9) {
				t.Errorf("%s: trend point %d = %+v; direct: %s, %d reviews, mean %v", name, i, p, weeks[i], len(weekScores[weeks[i]]), wm)
			}
		}
		var wantDims []DimensionAverage
		for _, k := range slices.Sorted(maps.Keys(dims)) {
			if d := dims[k]; d.rated > 0 { // nobody rated it: left out
				wantDims = append(wantDims, DimensionAverage{Key: k, Rated: d.rated, Mean: d.sum / float64(d.rated)})
			}
		}
		if len(got.Dimensions) != len(wantDims) {
			t.Errorf("%s: Dimensions = %+v; direct %+v", name, got.Dimensions, wantDims)
		} else {
			for i, d := range got.Dimensions {
				if w := wantDims[i]; d.Key != w.Key || d.Rated != w.Rated || !near(d.Mean, w.Mean, 1e-9) {
					t.Errorf("%s: Dimensions = %+v; direct %+v", name, got.Dimensions, wantDims)
					break
				}
			}
		}
		if len(xs) < 2 {
			return
		}
		// Student's t quantile by bisection of its CDF, independent of the
		// code under test's quantile.
		half := tQuantileByBisection(len(xs)-1) * sd / math.Sqrt(float64(len(xs)))
		if !near(got.CI95.Low, max(mean-half, 0), 1e-6) || !near(got.CI95.High, min(mean+half, 100), 1e-6) ||
			!near(got.CI95.RawLow, mean-half, 1e-6) || !near(got.CI95.RawHigh, mean+half, 1e-6) ||
			got.CI95.Clamped != (mean-half < 0 || mean+half > 100) {
			t.Errorf("%s: CI %+v, direct ±%v around %v", name, got.CI95, half, mean)
		}
	}
	check("team", tr.Summary, func(r Review) bool { return r.AgentID != "z" })
	if len(tr.Agents) != len(agents) {
		t.Fatalf("%d agent reports, want %d", len(tr.Agents), len(agents))
	}
	for _, a := range tr.Agents {
		check(a.AgentID, a.Summary, func(r Review) bool { return r.AgentID == a.AgentID })
	}

	// The common issues: in how many of the team's reviews each key fails
	// or is raised, most first, ties by key.
	failing, raised := map[string]int{}, map[string]int{}
	team := 0
	for _, r := range rs {
		if r.AgentID == "z" {
			continue
		}
		team++
		for _, d := range r.Dimensions {
			if d.Failing {
				failing[d.Key]++
			}
		}
		for _, f := range r.Flags {
			raised[f]++
		}
	}
	counts := func(m map[string]int) []Count {
		var out []Count
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, Count{Key: k, Count: m[k], Share: float64(m[k]) / float64(team)})
		}
		slices.SortStableFunc(out, func(a, b Count) int { return b.Count - a.Count })
		return out
	}
	if want := counts(failing); len(want) == 0 || !reflect.DeepEqual(tr.FailingDimensions, want) {
		t.Errorf("FailingDimensions = %v; direct %v", tr.FailingDimensions, want)
	}
	if want := counts(raised); len(want) == 0 || !reflect.DeepEqual(tr.CriticalFlags, want) {
		t.Errorf("CriticalFlags = %v; direct %v", tr.CriticalFlags, want)
	}
}

func meanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// tQuantileByBisection finds t with P(T ≤ t) = 0.975 for df degrees of
// freedom, integrating the density with Simpson's rule.
func tQuantileByBisection(df int) float64 {
	nu := float64(df)
	lg1, _ := math.Lgamma((nu + 1) / 2)
	lg2, _ := math.Lgamma(nu / 2)
	c := math.Exp(lg1-lg2) / math.Sqrt(nu*math.Pi)
	density := func(x float64) float64 { return c * math.Pow(1+x*x/nu, -(nu+1)/2) }
	// P(0 ≤ T ≤ x), by Simpson's rule.
	mass := func(x float64) float64 {
		const n = 2000
		h := x / n
		s := density(0) + density(x)
		for i := 1; i < n; i++ {
			s += float64(2+2*(i%2)) * density(float64(i)*h)
		}
		return s * h / 3
	}
	lo, hi := 0.0, 20.0
	for range 60 {
		mid := (lo + hi) / 2
		if mass(mid) < 0.475 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

func TestWeeks(t *testing.T) {
	tests := []struct {
		last string
		n    int
		want []string
	}{
		{"2026-W47", 1, []string{"2026-W47"}},
		{"2026-W47", 3, []string{"2026-W45", "2026-W46", "2026-W47"}},
		// 2025 has 52 ISO weeks.
		{"2026-W02", 3, []string{"2025-W52", "2026-W01", "2026-W02"}},
		// 2020 (a leap year starting on a Wednesday) and 2026 (starting on a
		// Thursday) have 53.
		{"2021-W02", 4, []string{"2020-W52", "2020-W53", "2021-W01", "2021-W02"}},
		{"2027-W01", 2, []string{"2026-W53", "2027-W01"}},
	}
	for _, tt := range tests {
		got, err := Weeks(tt.last, tt.n)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Weeks(%s, %d) = %v, %v; want %v", tt.last, tt.n, got, err, tt.want)
		}
	}
	// 104 weeks back from 2026-W10 crosses 2025 (52) and 2024 (52).
	got, err := Weeks("2026-W10", 104)
	if err != nil || len(got) != 104 || got[0] != "2024-W11" || !slices.IsSorted(got) {
		t.Errorf("Weeks(2026-W10, 104) starts %v (err %v), want 2024-W11 and sorted", got[:1], err)
	}
	for _, bad := range []struct {
		last string
		n    int
	}{
		{"2025-W53", 1}, // 2025 has 52 weeks
		{"2026-47", 1},
		{"", 1},
		{"2026-W47", 0},
		{"2026-W47", -1},
		{"2026-W47", MaxWeeks + 1},
		{"0001-W02", 3}, // before year 1
	} {
		if got, err := Weeks(bad.last, bad.n); err == nil {
			t.Errorf("Weeks(%q, %d) = %v, want an error", bad.last, bad.n, got)
		}
	}
}

// BenchmarkTeam is a large team's quarter: 2,000 agents × 12 weeks × 5
// reviews, five dimensions each.
func BenchmarkTeam(b *testing.B) {
	const agents, nWeeks, perWeek = 2000, 12, 5
	weeks, err := Weeks("2026-W12", nWeeks)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, agents)
	for i := range ids {
		ids[i] = fmt.Sprintf("agent-%04d", i)
	}
	keys := []string{"attitude", "knowledge", "efficiency", "communication", "compliance"}
	flags := []string{"abusive_language", "privacy_leak", "false_promise"}
	// Shuffle who and when, then build the reviews in that order: rows come
	// from the store in finalisation order, interleaving agents and weeks,
	// and each row's slices are allocated as it is read.
	type slot struct{ agent, week int }
	var slots []slot
	for a := range agents {
		for w := range nWeeks {
			for range perWeek {
				slots = append(slots, slot{a, w})
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(slots), func(i, j int) { slots[i], slots[j] = slots[j], slots[i] })
	reviews := make([]Review, 0, len(slots))
	for _, s := range slots {
		r := Review{AgentID: ids[s.agent], Week: weeks[s.week], Score: float64(rng.IntN(10001)) / 100}
		r.Dimensions = make([]Dimension, len(keys))
		for i, k := range keys {
			p := float64(rng.IntN(6)) * 20
			r.Dimensions[i] = Dimension{Key: k, Percent: p, NA: rng.IntN(20) == 0, Failing: p < 70}
		}
		if rng.IntN(50) == 0 {
			r.Critical, r.Score, r.Flags = true, 0, []string{flags[rng.IntN(len(flags))]}
		}
		reviews = append(reviews, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tr := Team("t", ids, weeks, reviews)
		if tr.Reviews != len(reviews) {
			b.Fatalf("%d reviews, want %d", tr.Reviews, len(reviews))
		}
	}
}
