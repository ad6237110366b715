package main

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newReportCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Scorecards of an agent or a team over weeks (supervisor, admin)"}
	var weeks int32
	var lastWeek string
	agent := &cobra.Command{
		Use:   "agent ID [--weeks N] [--last-week W]",
		Short: "One agent: mean score with its 95% CI, dimensions, weekly trend",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.report.GetAgentReport(c.ctx, &qav1.GetAgentReportRequest{AgentId: args[0], LastWeek: lastWeek, Weeks: weeks})
				if err != nil || opts.json {
					return resp, err
				}
				_, err = io.WriteString(cmd.OutOrStdout(), formatAgentReport(resp.GetReport()))
				return nil, err
			})
		},
	}
	team := &cobra.Command{
		Use:   "team ID [--weeks N] [--last-week W]",
		Short: "A team: its summary, each agent, and the common issues (共性问题)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.report.GetTeamReport(c.ctx, &qav1.GetTeamReportRequest{TeamId: args[0], LastWeek: lastWeek, Weeks: weeks})
				if err != nil || opts.json {
					return resp, err
				}
				_, err = io.WriteString(cmd.OutOrStdout(), formatTeamReport(resp.GetReport()))
				return nil, err
			})
		},
	}
	for _, c := range []*cobra.Command{agent, team} {
		c.Flags().Int32Var(&weeks, "weeks", 0, "how many weeks, ending with --last-week (server default 12, at most 104)")
		c.Flags().StringVar(&lastWeek, "last-week", "", "last ISO week of the range, e.g. 2026-W47 (default: the current week)")
	}
	cmd.AddCommand(agent, team, newInspectorsReportCommand(opts))
	return cmd
}

func weekRange(weeks []string) string {
	if len(weeks) == 0 {
		return "no weeks"
	}
	return fmt.Sprintf("weeks %s..%s", sanitize(weeks[0]), sanitize(weeks[len(weeks)-1]))
}

func formatAgentReport(r *qav1.AgentReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "agent %s", sanitize(r.GetAgentId()))
	if r.GetName() != "" {
		fmt.Fprintf(&b, " (%s)", sanitize(r.GetName()))
	}
	if r.GetTeamId() != "" {
		fmt.Fprintf(&b, ", team %s", sanitize(r.GetTeamId()))
	}
	fmt.Fprintf(&b, ", %s\n", weekRange(r.GetWeeks()))
	writeSummary(&b, r.GetSummary())
	writeCheckRates(&b, r.GetCheckRates())
	return b.String()
}

// writeCheckRates prints the automatic checks' rates over all the chats of
// the weeks, each over the chats that check ran on (CHATS: its own
// denominator), "-" for a check that ran on none. Nothing when the report
// came without them (the server was still counting).
func writeCheckRates(b *strings.Builder, rates []*qav1.CheckRate) {
	if len(rates) == 0 {
		return
	}
	b.WriteString("\nautomatic checks over all chats (fired of the chats each ran on):\n")
	tw := newTable(b)
	_, _ = fmt.Fprintln(tw, "  CHECK\tFIRED\tCHATS\tRATE")
	for _, r := range rates {
		rate := "-"
		if r.GetChats() > 0 {
			rate = fmt.Sprintf("%.1f%%", 100*r.GetRate())
		}
		_, _ = fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", sanitize(r.GetCheck()), r.GetFired(), r.GetChats(), rate)
	}
	_ = tw.Flush()
}

func formatTeamReport(r *qav1.TeamReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "team %s, %s\n", sanitize(r.GetTeamId()), weekRange(r.GetWeeks()))
	writeSummary(&b, r.GetSummary())

	b.WriteString("\nagents:\n")
	tw := newTable(&b)
	_, _ = fmt.Fprintln(tw, "  ID\tREVIEWS\tMEAN\t95% CI\tCRITICAL\tNAME")
	for _, a := range r.GetAgents() {
		s := a.GetSummary()
		mean := "n/a"
		if s.GetReviews() > 0 {
			mean = fmt.Sprintf("%.2f", s.GetMean())
			if s.GetTooFewReviews() {
				mean += " (too few reviews)"
			}
			if s.GetUnreliable() {
				mean += " (unreliable)"
			}
			if s.AdjustedMean != nil {
				mean += fmt.Sprintf(", adjusted %.2f", s.GetAdjustedMean())
			}
		}
		ci := "n/a"
		if in := s.GetCi95(); in != nil {
			ci = fmt.Sprintf("%.2f–%.2f", in.GetLow(), in.GetHigh())
			if in.GetClamped() {
				ci += " (clamped)"
			}
		}
		_, _ = fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%d\t%s\n", sanitize(a.GetAgentId()), s.GetReviews(), mean, ci, s.GetCritical(), sanitize(a.GetName()))
	}
	_ = tw.Flush()

	fmt.Fprintf(&b, "\ncommon issues (共性问题) over %d reviews:\n", r.GetSummary().GetReviews())
	issues := func(title string, list []*qav1.IssueCount) {
		fmt.Fprintf(&b, "  %s:", title)
		if len(list) == 0 {
			b.WriteString(" none\n")
			return
		}
		b.WriteByte('\n')
		tw := newTable(&b)
		for _, i := range list {
			_, _ = fmt.Fprintf(tw, "    %s\t%d\t%.1f%%\n", sanitize(i.GetKey()), i.GetCount(), 100*i.GetShare())
		}
		_ = tw.Flush()
	}
	issues("failing dimensions", r.GetFailingDimensions())
	issues("critical flags", r.GetCriticalFlags())
	writeCheckRates(&b, r.GetCheckRates())
	return b.String()
}

// writeSummary prints the statistics of a set of reviews: every mean with
// the number of reviews it rests on, marked when they are fewer than the
// server's minimum; an interval clamped to 0–100 says so and gives the t
// interval as computed.
func writeSummary(b *strings.Builder, s *qav1.Summary) {
	fmt.Fprintf(b, "reviews      %d\n", s.GetReviews())
	if s.GetReviews() == 0 {
		b.WriteString("mean score   n/a (no reviews)\n")
	} else {
		fmt.Fprintf(b, "mean score   %.2f (n=%d", s.GetMean(), s.GetReviews())
		if s.GetTooFewReviews() {
			fmt.Fprintf(b, ", too few reviews: fewer than %d", s.GetMinReviews())
		}
		switch in := s.GetCi95(); {
		case in == nil:
			b.WriteString("; 95% CI n/a with fewer than 2 reviews)\n")
		case in.GetClamped():
			fmt.Fprintf(b, "; 95%% CI %.2f–%.2f clamped to 0–100, t interval %.2f to %.2f)\n", in.GetLow(), in.GetHigh(), in.GetRawLow(), in.GetRawHigh())
		default:
			fmt.Fprintf(b, "; 95%% CI %.2f–%.2f)\n", in.GetLow(), in.GetHigh())
		}
	}
	writeAdjustment(b, s)
	if s.GetReviews() > 1 {
		fmt.Fprintf(b, "std dev      %.2f\n", s.GetStdDev())
	}
	fmt.Fprintf(b, "critical     %d\n", s.GetCritical())
	if len(s.GetDimensions()) > 0 {
		b.WriteString("dimensions rated (mean % of scale):\n")
		tw := newTable(b)
		for _, d := range s.GetDimensions() {
			if d.GetRated() == 0 { // nobody rated it: no mean to show
				continue
			}
			_, _ = fmt.Fprintf(tw, "  %s\t%.2f\t(n=%d)\n", sanitize(d.GetKey()), d.GetMean(), d.GetRated())
		}
		_ = tw.Flush()
	}
	if len(s.GetTrend()) > 0 {
		b.WriteString("weekly trend (reviews, mean, bar 0..100):\n")
		b.WriteString(trendChart(s.GetTrend()))
		weeksWithReviews := 0
		for _, p := range s.GetTrend() {
			if p.GetReviews() > 0 {
				weeksWithReviews++
			}
		}
		if weeksWithReviews >= 2 {
			fmt.Fprintf(b, "slope        %+.1f per week\n", s.GetSlope())
		} else {
			b.WriteString("slope        n/a with fewer than 2 weeks of reviews\n")
		}
	}
}

// chartWidth is the bar length of a mean of 100.
const chartWidth = 30

// trendChart draws one line per week: week, reviews, mean and a bar of █
// proportional to the mean on 0..100; a week without reviews shows "—".
func trendChart(points []*qav1.WeekPoint) string {
	var b strings.Builder
	for _, p := range points {
		if p.GetReviews() == 0 {
			fmt.Fprintf(&b, "  %-8s  %3d  %6s\n", sanitize(p.GetWeek()), 0, "—")
			continue
		}
		mean := min(max(p.GetMean(), 0), 100)
		bar := strings.Repeat("█", int(math.Round(mean*chartWidth/100)))
		line := fmt.Sprintf("  %-8s  %3d  %6.2f  %s", sanitize(p.GetWeek()), p.GetReviews(), p.GetMean(), bar)
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteByte('\n')
	}
	return b.String()
}
