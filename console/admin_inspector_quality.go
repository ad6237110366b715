package console

import (
	"fmt"
	"strings"

	qav1 "qa-sampling/proto/qa/v1"
)

// inspectorQuality is one row of the inspectors page's quality table:
// severity from production reviews, dispute overturns and calibration
// (InspectorReportService), formatted for the page.
type inspectorQuality struct {
	ID, Name        string
	Reviews, Agents int32
	// Severity and CI are in points, signed; empty when not estimated,
	// with Why saying why. Lenient or Strict when the interval excludes 0.
	Severity, CI, Why string
	Lenient, Strict   bool
	// Overturn is "overturned/reviews · rate"; empty without reviews.
	Overturn string
	// Agreement and Alpha are of the latest revealed calibration session;
	// Trend lists the agreement of the last sessions, oldest first.
	Agreement, Alpha, Trend string
	Unreliable              bool
}

// whyNotEstimated names the message of each reason severity is missing.
var whyNotEstimated = map[string]string{
	"one_agent":          "admin.quality.why.one_agent",
	"alone_in_component": "admin.quality.why.alone_in_component",
	"too_few_reviews":    "admin.quality.why.too_few_reviews",
	"no_reviews":         "admin.quality.why.no_reviews",
}

// inspectorQualityOf formats the inspectors report for the page.
func inspectorQualityOf(v *View, r *qav1.GetInspectorsReportResponse) []inspectorQuality {
	var out []inspectorQuality
	for _, in := range r.GetInspectors() {
		q := inspectorQuality{ID: in.GetInspectorId(), Name: in.GetName(), Reviews: in.GetReviews(), Agents: in.GetAgents(),
			Unreliable: in.GetUnreliable()}
		if in.Severity != nil {
			q.Severity = fmt.Sprintf("%+.1f", in.GetSeverity())
		}
		if ci := in.GetSeverityCi(); ci != nil {
			q.CI = fmt.Sprintf("%+.1f … %+.1f", ci.GetLow(), ci.GetHigh())
			q.Lenient, q.Strict = ci.GetLow() > 0, ci.GetHigh() < 0
		}
		if key, ok := whyNotEstimated[in.GetNotIdentifiable()]; ok {
			q.Why = v.T(key)
		}
		if in.OverturnRate != nil {
			q.Overturn = fmt.Sprintf("%d/%d · %.0f%%", in.GetOverturned(), in.GetReviews()+in.GetDisputed(), 100*in.GetOverturnRate())
		}
		if in.LatestCalibrationAgreement != nil {
			q.Agreement = fmt.Sprintf("%.0f%%", 100*in.GetLatestCalibrationAgreement())
		}
		if in.LatestCalibrationAlpha != nil {
			q.Alpha = fmt.Sprintf("%.3f", in.GetLatestCalibrationAlpha())
		}
		var trend []string
		for _, p := range in.GetCalibrationTrend() {
			if p.MeanAgreement != nil {
				trend = append(trend, fmt.Sprintf("%.0f%%", 100*p.GetMeanAgreement()))
			}
		}
		q.Trend = strings.Join(trend, " → ")
		out = append(out, q)
	}
	return out
}
