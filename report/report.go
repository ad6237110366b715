// Package report aggregates finalised reviews into scorecards (SPEC §2
// step 6): per agent and per team, the number reviewed, the mean score
// with a 95% confidence interval, per-dimension averages and the trend
// over weeks; per team, the dimensions most often failing and the critical
// flags most often raised (共性问题). It is pure: no SQL, gRPC, I/O or
// clock.
//
// Statistics are over reviews: each review counts once, whatever its
// agent's volume. The confidence interval is Student's t interval of the
// mean; it is reported as computed (it may reach below 0 or above 100 when
// reviews are few or spread) and, separately, clamped to the score range
// [0, 100], with a flag saying whether clamping changed it, so that no
// reader mistakes a clamped (0, 100) for a computed one. A dimension every
// review marked N/A is left out rather than shown with a mean of 0. A
// mean resting on fewer reviews than Options.MinReviews is marked
// TooFewReviews. The trend's slope is an ordinary least-squares line through
// the weekly means of the weeks that have reviews, each week one point.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"qa-sampling/isoweek"

	"gonum.org/v1/gonum/stat/distuv"
)

// Score range, for clamping confidence intervals.
const (
	minScore = 0
	maxScore = 100
)

// MaxWeeks bounds Weeks' n: about 19 years, far beyond any report range.
const MaxWeeks = 1000

// Dimension is one dimension of a finalised review.
type Dimension struct {
	Key     string
	Percent float64 // 100·value/max; ignored when NA
	NA      bool
	Failing bool // the dimension alone would not pass
}

// Review is a finalised review as reports need it.
type Review struct {
	AgentID    string
	Week       string // ISO week "2026-W47"; lexical order is time order
	Score      float64
	Critical   bool
	Flags      []string // critical flags raised
	Dimensions []Dimension
}

// Interval is a confidence interval; OK is false when it cannot be
// computed (fewer than two reviews).
type Interval struct {
	// RawLow and RawHigh are the t interval as computed, unclamped.
	RawLow, RawHigh float64
	// Low and High are the raw bounds clamped to the score range [0, 100].
	Low, High float64
	// Clamped is whether clamping changed a bound.
	Clamped bool
	OK      bool
}

// DefaultMinReviews is the Options.MinReviews of Agent and Team: with
// fewer than three reviews a mean's t interval is too wide to act on.
const DefaultMinReviews = 3

// Options tune a report.
type Options struct {
	// MinReviews is the fewest reviews a mean may rest on before its
	// Summary is marked TooFewReviews; 0 or 1 marks none with reviews.
	MinReviews int
}

// WeekPoint is one week of a trend. Mean is 0, and meaningless, when
// Reviews is 0; CI95 is the week's own interval (OK from two reviews on),
// so a chart can show how far each week's mean can be trusted.
type WeekPoint struct {
	Week    string
	Reviews int
	Mean    float64
	CI95    Interval
}

// DimensionAverage is the mean Percent of a dimension over the Rated
// reviews that rated it (not N/A); Rated is at least 1.
type DimensionAverage struct {
	Key   string
	Rated int
	Mean  float64
}

// Count is how many reviews show an issue, and which share of the reviews
// considered that is.
type Count struct {
	Key   string
	Count int
	Share float64
}

// Summary describes a set of reviews.
type Summary struct {
	Reviews int
	Mean    float64 // 0 when Reviews is 0
	// TooFewReviews is whether Mean rests on fewer than Options.MinReviews
	// reviews (or on none).
	TooFewReviews bool
	// CI95 is mean ± t(0.975, n−1)·s/√n, raw and clamped to [0, 100].
	CI95     Interval
	StdDev   float64 // sample standard deviation (n−1); 0 when Reviews < 2
	Critical int     // reviews with a critical finding
	// Dimensions are sorted by key; a dimension appears when any review
	// rated it (not N/A).
	Dimensions []DimensionAverage
	// Trend has one point per requested week, in order, including weeks
	// without reviews.
	Trend []WeekPoint
	// Slope is the least-squares change of the weekly mean per week, over
	// the weeks that have reviews; 0 with fewer than two such weeks.
	Slope float64
}

// AgentReport is one agent's scorecard.
type AgentReport struct {
	AgentID string
	Summary
}

// TeamReport is a team's scorecard.
type TeamReport struct {
	TeamID string
	// Summary is over all the team's reviews.
	Summary
	// Agents are sorted by AgentID, one per distinct agent passed in,
	// including agents without reviews.
	Agents []AgentReport
	// FailingDimensions counts, for each dimension ever failing, the
	// reviews in which it was Failing; most frequent first, ties by key.
	FailingDimensions []Count
	// CriticalFlags counts, for each flag ever raised, the reviews that
	// raised it; most frequent first, ties by key.
	CriticalFlags []Count
}

// Weeks returns the n ISO weeks ending with last, oldest first:
// Weeks("2026-W02", 3) is [2025-W52 2026-W01 2026-W02].
func Weeks(last string, n int) ([]string, error) {
	w, err := isoweek.Parse(last)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > MaxWeeks {
		return nil, fmt.Errorf("weeks: n must be 1..%d, got %d", MaxWeeks, n)
	}
	out := make([]string, n)
	for i := n - 1; i >= 0; i-- {
		if !w.Valid() {
			return nil, errors.New("weeks: the range starts before year 1")
		}
		out[i] = w.String()
		w = w.Prev()
	}
	return out, nil
}

// Agent reports on agentID's reviews in weeks, which should be distinct
// consecutive weeks, oldest first (as Weeks returns them): the slope
// takes a week's position as its time. Reviews of other agents or other
// weeks are ignored. Means resting on fewer than DefaultMinReviews
// reviews are marked.
func Agent(agentID string, weeks []string, reviews []Review) AgentReport {
	return Options{MinReviews: DefaultMinReviews}.Agent(agentID, weeks, reviews)
}

// Team reports on the reviews of the agents agentIDs in weeks (see Agent)
// as a whole and agent by agent, with the team's most common failing
// dimensions and critical flags. Reviews of other agents or other weeks
// are ignored. Means resting on fewer than DefaultMinReviews reviews are
// marked.
func Team(teamID string, agentIDs []string, weeks []string, reviews []Review) TeamReport {
	return Options{MinReviews: DefaultMinReviews}.Team(teamID, agentIDs, weeks, reviews)
}

// Agent is the package's Agent with o's options.
func (o Options) Agent(agentID string, weeks []string, reviews []Review) AgentReport {
	return o.Team("", []string{agentID}, weeks, reviews).Agents[0]
}

// Team is the package's Team with o's options.
func (o Options) Team(teamID string, agentIDs []string, weeks []string, reviews []Review) TeamReport {
	ids := slices.Clone(agentIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)

	t := newTally(ids, weeks)
	for i := range reviews {
		t.add(&reviews[i])
	}

	dimOrder := t.dims.sortedIDs()
	tq := tQuantiles{}
	// One allocation for the trends of the team and every agent.
	points := make([]WeekPoint, (len(ids)+1)*len(weeks))
	trend := func(i int) []WeekPoint { return points[i*len(weeks) : (i+1)*len(weeks) : (i+1)*len(weeks)] }
	out := TeamReport{
		TeamID:            teamID,
		Summary:           t.team.summary(weeks, trend(len(ids)), t.dims.keys, dimOrder, tq, o.MinReviews),
		Agents:            make([]AgentReport, len(ids)),
		FailingDimensions: t.dims.counts(t.team.n),
		CriticalFlags:     t.flags.counts(t.team.n),
	}
	for i, id := range ids {
		out.Agents[i] = AgentReport{AgentID: id, Summary: t.agents[i].summary(weeks, trend(i), t.dims.keys, dimOrder, tq, o.MinReviews)}
	}
	return out
}

// tally accumulates reviews for Team.
type tally struct {
	agentIndex map[string]int
	weekIndex  map[string]int
	team       group
	agents     []group // by position in the sorted agent ids
	dims       keyTable
	flags      keyTable
	ids        []int // dimension ids of the review being added, reused
}

func newTally(agentIDs, weeks []string) *tally {
	t := &tally{
		agentIndex: make(map[string]int, len(agentIDs)),
		weekIndex:  make(map[string]int, len(weeks)),
		agents:     make([]group, len(agentIDs)),
		dims:       newKeyTable(),
		flags:      newKeyTable(),
	}
	for i, id := range agentIDs {
		t.agentIndex[id] = i
	}
	for i, w := range weeks {
		t.weekIndex[w] = i
	}
	t.team.weeks = make([]cell, len(weeks))
	// One allocation for every agent's weekly cells.
	cells := make([]cell, len(agentIDs)*len(weeks))
	for i := range t.agents {
		t.agents[i].weeks = cells[i*len(weeks) : (i+1)*len(weeks) : (i+1)*len(weeks)]
	}
	return t
}

func (t *tally) add(r *Review) {
	a, ok := t.agentIndex[r.AgentID]
	if !ok {
		return
	}
	w, ok := t.weekIndex[r.Week]
	if !ok {
		return
	}
	review := t.team.n + 1 // r's number for keyTable: the team counts every review
	t.ids = t.ids[:0]
	for j := range r.Dimensions {
		d := &r.Dimensions[j]
		id := t.dims.id(d.Key, j)
		t.ids = append(t.ids, id)
		if d.Failing && !d.NA {
			t.dims.countOnce(id, review)
		}
	}
	for j, f := range r.Flags {
		t.flags.countOnce(t.flags.id(f, j), review)
	}
	t.team.add(r, w, t.ids, len(t.dims.keys))
	t.agents[a].add(r, w, t.ids, len(t.dims.keys))
}

// group accumulates one Summary.
type group struct {
	n        int
	mean, m2 float64 // Welford's running mean and sum of squared deviations
	critical int
	weeks    []cell    // by requested week
	dims     []dimCell // by dimension id
}

// cell is one week's scores: their sum gives the mean, Welford's running
// mean and m2 the spread.
type cell struct {
	n           int
	sum         float64
	runMean, m2 float64
}

// dimCell is one dimension's ratings.
type dimCell struct {
	rated int
	sum   float64
}

// add counts r, of requested week w, whose dimensions have ids; nDims is
// the number of dimension ids known so far.
func (g *group) add(r *Review, w int, ids []int, nDims int) {
	// Welford's update is stable where the sum of squares cancels.
	g.n++
	d := r.Score - g.mean
	g.mean += d / float64(g.n)
	g.m2 += d * (r.Score - g.mean)
	if r.Critical {
		g.critical++
	}
	c := &g.weeks[w]
	c.n++
	c.sum += r.Score
	cd := r.Score - c.runMean
	c.runMean += cd / float64(c.n)
	c.m2 += cd * (r.Score - c.runMean)
	if len(g.dims) < nDims {
		g.dims = append(g.dims, make([]dimCell, nDims-len(g.dims))...)
	}
	for j, id := range ids {
		if d := &r.Dimensions[j]; !d.NA {
			c := &g.dims[id]
			c.rated++
			c.sum += d.Percent
		}
	}
}

// summary turns g into a Summary, with trend (len(weeks) points) as its
// Trend; dimOrder lists dimension ids in key order; a mean over fewer than
// minReviews reviews is marked.
func (g *group) summary(weeks []string, trend []WeekPoint, dimKeys []string, dimOrder []int, tq tQuantiles, minReviews int) Summary {
	s := Summary{Reviews: g.n, Mean: g.mean, Critical: g.critical, Trend: trend, TooFewReviews: g.n == 0 || g.n < minReviews}
	if g.n >= 2 {
		s.StdDev = math.Sqrt(g.m2 / float64(g.n-1))
		s.CI95 = tq.interval(s.Mean, s.StdDev, g.n)
	}
	for i, w := range weeks {
		c := g.weeks[i]
		s.Trend[i] = WeekPoint{Week: w, Reviews: c.n}
		if c.n > 0 {
			s.Trend[i].Mean = c.sum / float64(c.n)
		}
		if c.n >= 2 {
			s.Trend[i].CI95 = tq.interval(s.Trend[i].Mean, math.Sqrt(c.m2/float64(c.n-1)), c.n)
		}
	}
	s.Slope = slope(s.Trend)
	rated := 0
	for _, c := range g.dims {
		if c.rated > 0 {
			rated++
		}
	}
	if rated == 0 {
		return s
	}
	s.Dimensions = make([]DimensionAverage, 0, rated)
	for _, id := range dimOrder {
		if id >= len(g.dims) || g.dims[id].rated == 0 {
			continue
		}
		c := g.dims[id]
		s.Dimensions = append(s.Dimensions, DimensionAverage{Key: dimKeys[id], Rated: c.rated, Mean: c.sum / float64(c.rated)})
	}
	return s
}

// clampedInterval is the interval [low, high] as computed and clamped to
// the score range.
func clampedInterval(low, high float64) Interval {
	in := Interval{RawLow: low, RawHigh: high, Low: max(low, minScore), High: min(high, maxScore), OK: true}
	in.Clamped = in.Low != low || in.High != high
	return in
}

// slope is the least-squares slope of Mean against the position in trend,
// over the points with reviews.
func slope(trend []WeekPoint) float64 {
	var n, sx, sy float64
	for i, p := range trend {
		if p.Reviews > 0 {
			n++
			sx += float64(i)
			sy += p.Mean
		}
	}
	if n < 2 {
		return 0
	}
	mx, my := sx/n, sy/n
	var sxy, sxx float64
	for i, p := range trend {
		if p.Reviews > 0 {
			dx := float64(i) - mx
			sxy += dx * (p.Mean - my)
			sxx += dx * dx
		}
	}
	return sxy / sxx
}

// tQuantiles caches t(0.975, df) by degrees of freedom: a team report
// needs one per agent, and agents share few distinct review counts.
type tQuantiles map[int]float64

// interval is the t interval of a mean of n ≥ 2 scores with sample
// standard deviation sd.
func (tq tQuantiles) interval(mean, sd float64, n int) Interval {
	half := tq.at(n-1) * sd / math.Sqrt(float64(n))
	return clampedInterval(mean-half, mean+half)
}

func (tq tQuantiles) at(df int) float64 {
	q, ok := tq[df]
	if !ok {
		q = distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(0.975)
		tq[df] = q
	}
	return q
}

// keyTable numbers dimension or flag keys in order of first appearance,
// and counts in how many reviews each key occurs.
type keyTable struct {
	index map[string]int
	keys  []string // by id
	count []int    // by id
	last  []int    // by id: the review that last counted it
}

func newKeyTable() keyTable { return keyTable{index: make(map[string]int)} }

// id returns key's id. guess is tried first: reviews list dimensions in
// rubric order, so the j-th key of a review is usually the key numbered j,
// and a string comparison is cheaper than a map lookup.
func (t *keyTable) id(key string, guess int) int {
	if guess < len(t.keys) && t.keys[guess] == key {
		return guess
	}
	if id, ok := t.index[key]; ok {
		return id
	}
	id := len(t.keys)
	t.index[key] = id
	t.keys = append(t.keys, key)
	t.count = append(t.count, 0)
	t.last = append(t.last, 0)
	return id
}

// countOnce counts id for review (numbered from 1), once however often
// the review lists it.
func (t *keyTable) countOnce(id, review int) {
	if t.last[id] != review {
		t.last[id] = review
		t.count[id]++
	}
}

// sortedIDs lists the ids in key order.
func (t *keyTable) sortedIDs() []int {
	ids := make([]int, len(t.keys))
	for i := range ids {
		ids[i] = i
	}
	slices.SortFunc(ids, func(a, b int) int { return cmp.Compare(t.keys[a], t.keys[b]) })
	return ids
}

// counts lists the keys counted at least once, most frequent first, ties
// by key, with their share of reviews.
func (t *keyTable) counts(reviews int) []Count {
	var out []Count
	for id, n := range t.count {
		if n > 0 {
			out = append(out, Count{Key: t.keys[id], Count: n, Share: float64(n) / float64(reviews)})
		}
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}
