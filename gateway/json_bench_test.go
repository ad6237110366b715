package gateway

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	qav1 "qa-sampling/proto/qa/v1"
)

// teamReport is shaped like the scoring benchmark's admin team report:
// 2,000 agents × 12 weeks, five dimensions, a trend point per week.
func teamReport() *qav1.GetTeamReportResponse {
	rng := rand.New(rand.NewPCG(1, 1))
	ci := func(m float64) *qav1.ConfidenceInterval {
		return &qav1.ConfidenceInterval{Low: m - rng.Float64()*9, High: m + rng.Float64()*9, RawLow: m - 10, RawHigh: m + 10}
	}
	var weeks []string
	for w := range 12 {
		weeks = append(weeks, fmt.Sprintf("2026-W%02d", 37+w))
	}
	summary := func() *qav1.Summary {
		mean := 60 + rng.Float64()*40
		s := &qav1.Summary{Reviews: 60, Mean: mean, Ci95: ci(mean), StdDev: rng.Float64() * 15, Slope: rng.Float64() - 0.5, MinReviews: 5}
		for _, k := range []string{"attitude", "knowledge", "efficiency", "communication", "compliance"} {
			s.Dimensions = append(s.Dimensions, &qav1.DimensionAverage{Key: k, Rated: 59, Mean: 1 + rng.Float64()*4})
		}
		for _, w := range weeks {
			m := 60 + rng.Float64()*40
			s.Trend = append(s.Trend, &qav1.WeekPoint{Week: w, Reviews: 5, Mean: m, Ci95: ci(m)})
		}
		return s
	}
	r := &qav1.TeamReport{TeamId: "team-1", Weeks: weeks, Summary: summary()}
	for a := range 2000 {
		r.Agents = append(r.Agents, &qav1.AgentReport{AgentId: fmt.Sprintf("agent-%04d", a), Name: fmt.Sprintf("客服%04d", a),
			TeamId: "team-1", Weeks: weeks, Summary: summary()})
	}
	return &qav1.GetTeamReportResponse{Report: r}
}

// BenchmarkTeamReportJSON: rendering the admin team report's answer,
// with marshalJSON and with protojson.
func BenchmarkTeamReportJSON(b *testing.B) {
	r := teamReport()
	b.Run("marshalJSON", func(b *testing.B) {
		for b.Loop() {
			if _, err := marshalJSON(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		for b.Loop() {
			if _, err := protojson.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
