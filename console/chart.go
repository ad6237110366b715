package console

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	qav1 "qa-sampling/proto/qa/v1"
)

// The weekly chart: each week's mean score as a point with its 95%
// interval as a whisker, drawn on the server as SVG (no script, no
// library). Weeks without reviews leave a gap; a week of one review has a
// point but no whisker. The chart names itself (<title>, <desc>) and each
// point says its figures on hover; the page puts the same figures in a
// table beside it.

// Geometry of the chart, in SVG user units (the SVG scales to its box).
const (
	chartWidth  = 720
	chartHeight = 260
	chartLeft   = 44
	chartRight  = 12
	chartTop    = 14
	chartBottom = 40
	// chartMaxLabels is the most week labels that fit under the axis.
	chartMaxLabels = 13
	// A phone gets a narrower drawing with fewer labels, so its text
	// stays readable rather than shrinking with a wide one.
	chartPhoneWidth     = 360
	chartPhoneMaxLabels = 6
	// chartCap is half a whisker cap's width.
	chartCap = 6
)

// weekChart is what the "weekchart" partial draws.
type weekChart struct {
	// ID prefixes the ids of the title and description.
	ID            string
	Width, Height int
	// The plot area.
	Left, Right, Top, Bottom float64
	Title, Desc              string
	YTicks, XTicks           []chartTick
	Points                   []chartPoint
	// Line joins the weeks that have reviews, in order ("x,y x,y").
	Line string
	// MeanY is the range's mean as a dashed line; HasMean false without
	// reviews.
	MeanY   float64
	HasMean bool
	// Empty: no week has reviews.
	Empty bool
	// Phone is the same chart drawn narrow; the stylesheet shows one of
	// the two.
	Phone *weekChart
}

type chartTick struct {
	Pos   float64
	Label string
}

// chartPoint is one week with reviews.
type chartPoint struct {
	X, Y float64
	// Low and High are the whisker's ends; Whisker false without an
	// interval (one review).
	Low, High float64
	Whisker   bool
	// CapLeft and CapRight are the ends of the whisker's caps.
	CapLeft, CapRight float64
	// Label says the week's figures in words (the point's <title>).
	Label string
}

// chartY places a 0..100 score on the plot.
func chartY(score float64) float64 {
	score = min(max(score, 0), 100)
	return round1(chartTop + (100-score)/100*(chartHeight-chartTop-chartBottom))
}

// round1 keeps a tenth of a unit: finer does not show, and the SVG stays
// short.
func round1(f float64) float64 { return math.Round(f*10) / 10 }

// shortWeek is "W46" of "2026-W46".
func shortWeek(w string) string {
	if i := strings.LastIndex(w, "-"); i >= 0 {
		return w[i+1:]
	}
	return w
}

// newWeekChart draws trend (oldest first); mean is the range's mean,
// drawn when reviews > 0.
func newWeekChart(v *View, id string, trend []*qav1.WeekPoint, mean float64, reviews int32) weekChart {
	c := drawWeekChart(v, id, trend, mean, reviews, chartWidth, chartMaxLabels)
	phone := drawWeekChart(v, id+"-phone", trend, mean, reviews, chartPhoneWidth, chartPhoneMaxLabels)
	c.Phone = &phone
	return c
}

// drawWeekChart draws the chart width units wide with at most maxLabels
// week labels.
func drawWeekChart(v *View, id string, trend []*qav1.WeekPoint, mean float64, reviews int32, width, maxLabels int) weekChart {
	c := weekChart{
		ID: id, Width: width, Height: chartHeight,
		Left: chartLeft, Right: float64(width - chartRight), Top: chartTop, Bottom: chartHeight - chartBottom,
		Title: v.T("supervisor.chart.title"),
	}
	for s := 0; s <= 100; s += 20 {
		c.YTicks = append(c.YTicks, chartTick{Pos: chartY(float64(s)), Label: strconv.Itoa(s)})
	}
	n := len(trend)
	step := 1
	if n > maxLabels {
		step = (n + maxLabels - 1) / maxLabels
	}
	slot := (c.Right - c.Left) / float64(max(n, 1))
	var line []string
	var withReviews int
	var last *qav1.WeekPoint
	for i, p := range trend {
		x := round1(c.Left + (float64(i)+0.5)*slot)
		// Label every step-th week counting back from the newest, so the
		// newest week is always labelled.
		if (n-1-i)%step == 0 {
			c.XTicks = append(c.XTicks, chartTick{Pos: x, Label: shortWeek(p.GetWeek())})
		}
		if p.GetReviews() == 0 {
			continue
		}
		withReviews++
		last = p
		pt := chartPoint{X: x, Y: chartY(p.GetMean()), Label: v.weekPointLabel(p), CapLeft: x - chartCap, CapRight: x + chartCap}
		if ci := p.GetCi95(); ci != nil {
			pt.Whisker, pt.Low, pt.High = true, chartY(ci.GetLow()), chartY(ci.GetHigh())
		}
		c.Points = append(c.Points, pt)
		line = append(line, fmt.Sprintf("%g,%g", pt.X, pt.Y))
	}
	c.Line = strings.Join(line, " ")
	c.Empty = withReviews == 0
	if reviews > 0 {
		c.HasMean, c.MeanY = true, chartY(mean)
	}
	switch {
	case c.Empty:
		c.Desc = fmt.Sprintf(v.T("supervisor.chart.desc_empty"), n)
	default:
		c.Desc = fmt.Sprintf(v.T("supervisor.chart.desc"), n, withReviews, v.weekPointLabel(last))
	}
	return c
}

// weekPointLabel says a week's figures: "2026-W46: 83.8 (95%: 70.1–97.5), 5 reviews".
func (v *View) weekPointLabel(p *qav1.WeekPoint) string {
	if ci := p.GetCi95(); ci != nil {
		return fmt.Sprintf(v.T("supervisor.chart.point_ci"), p.GetWeek(), p.GetMean(), ci.GetLow(), ci.GetHigh(), p.GetReviews())
	}
	return fmt.Sprintf(v.T("supervisor.chart.point"), p.GetWeek(), p.GetMean(), p.GetReviews())
}
