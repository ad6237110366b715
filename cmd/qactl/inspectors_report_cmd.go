package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// newInspectorsReportCommand is `report inspectors`: each inspector's
// severity, dispute overturns and calibration standing (admin).
func newInspectorsReportCommand(opts *globalOptions) *cobra.Command {
	var weeks int32
	var lastWeek string
	cmd := &cobra.Command{
		Use:   "inspectors [--weeks N] [--last-week W]",
		Short: "Inspectors: severity (points above or below peers, 95% CI), reviews, dispute overturn rate, latest calibration (admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.inspRep.GetInspectorsReport(c.ctx, &qav1.GetInspectorsReportRequest{LastWeek: lastWeek, Weeks: weeks})
				if err != nil || opts.json {
					return resp, err
				}
				_, err = io.WriteString(cmd.OutOrStdout(), formatInspectorsReport(resp))
				return nil, err
			})
		},
	}
	cmd.Flags().Int32Var(&weeks, "weeks", 0, "how many weeks, ending with --last-week (server default 12, at most 104)")
	cmd.Flags().StringVar(&lastWeek, "last-week", "", "last ISO week of the range, e.g. 2026-W47 (default: the current week)")
	return cmd
}

func formatInspectorsReport(r *qav1.GetInspectorsReportResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "inspectors, %s: severity fit over %d final non-critical reviews (residual sd %.2f, df %d)\n",
		weekRange(r.GetWeeks()), r.GetFitReviews(), r.GetResidualSd(), r.GetResidualDf())
	b.WriteString("severity: points above (+, lenient) or below (−, strict) the other inspectors on the same agents\n")
	tw := newTable(&b)
	_, _ = fmt.Fprintln(tw, "ID\tREVIEWS\tAGENTS\tSEVERITY\t95% CI\tOVERTURNED\tCALIBRATION\tNAME")
	for _, in := range r.GetInspectors() {
		sev, ci := "n/a", "n/a"
		if in.Severity != nil {
			sev = fmt.Sprintf("%+.2f", in.GetSeverity())
		}
		if c := in.GetSeverityCi(); c != nil {
			ci = fmt.Sprintf("%+.2f…%+.2f", c.GetLow(), c.GetHigh())
		}
		if in.GetNotIdentifiable() != "" {
			ci += " (" + notIdentifiableText(in.GetNotIdentifiable()) + ")"
		}
		over := "—"
		if in.OverturnRate != nil {
			over = fmt.Sprintf("%d/%d (%.1f%%)", in.GetOverturned(), in.GetReviews()+in.GetDisputed(), 100*in.GetOverturnRate())
		}
		calib := "none"
		if in.GetLatestCalibrationSession() != 0 {
			calib = fmt.Sprintf("#%d", in.GetLatestCalibrationSession())
			if in.LatestCalibrationAgreement != nil {
				calib += fmt.Sprintf(" agreement %.2f", in.GetLatestCalibrationAgreement())
			}
			if in.LatestCalibrationAlpha != nil {
				calib += fmt.Sprintf(" alpha %.3f", in.GetLatestCalibrationAlpha())
			}
			if in.GetUnreliable() {
				calib += " (unreliable)"
			}
		}
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", sanitize(in.GetInspectorId()), in.GetReviews(), in.GetAgents(),
			sev, ci, over, calib, sanitize(in.GetName()))
	}
	_ = tw.Flush()
	return b.String()
}

func notIdentifiableText(reason string) string {
	switch reason {
	case "one_agent":
		return "not identifiable: saw only one agent"
	case "alone_in_component":
		return "not identifiable: shares no agents with other inspectors"
	case "too_few_reviews":
		return "too few reviews for an interval"
	case "no_reviews":
		return "no reviews"
	}
	return sanitize(reason)
}

// writeAdjustment prints the severity-adjusted mean and the reliability
// mark of a summary.
func writeAdjustment(b *strings.Builder, s *qav1.Summary) {
	if s.GetReviews() == 0 {
		return
	}
	switch {
	case s.AdjustedMean != nil:
		fmt.Fprintf(b, "adjusted     %.2f (inspector severity removed)\n", s.GetAdjustedMean())
	case s.GetAdjustmentNote() != "":
		fmt.Fprintf(b, "adjusted     n/a (%s)\n", sanitize(s.GetAdjustmentNote()))
	}
	if s.GetUnreliable() {
		fmt.Fprintf(b, "unreliable   latest calibration alpha below 0.667 for %s\n", sanitize(strings.Join(s.GetUnreliableInspectors(), ", ")))
	}
}
