package main

import (
	"cmp"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// checkStatsCommands are checks report, rerun, rerun-status and reruns.
func checkStatsCommands(opts *globalOptions) []*cobra.Command {
	var weeks int32
	var lastWeek string
	report := &cobra.Command{
		Use:   "report [--weeks N] [--last-week 2026-W48]",
		Short: "Per check: how often it fired over all chats, and its precision and recall against inspectors' final ratings",
		Long: "Each check is compared with the inspectors' final rating of its dimension (the check set's\n" +
			"dimensions; attitude and efficiency by default): a rating below half the scale is a failure, N/A is\n" +
			"left out. tp fired on a failure, fp fired on a pass, fn missed a failure, tn stayed silent on a pass;\n" +
			"precision = tp/(tp+fp), recall = tp/(tp+fn). A check with low precision is noisy: tune its phrases.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := qav1.NewCheckReportServiceClient(c.conn).GetCheckReport(c.ctx,
					&qav1.GetCheckReportRequest{Weeks: weeks, LastWeek: lastWeek})
				if err != nil || opts.json {
					return resp, err
				}
				return nil, printCheckReport(cmd.OutOrStdout(), resp)
			})
		},
	}
	report.Flags().Int32Var(&weeks, "weeks", 0, "how many weeks, ending with --last-week (default 12)")
	report.Flags().StringVar(&lastWeek, "last-week", "", "the last ISO week (default the current one)")

	var week string
	var wait bool
	rerun := &cobra.Command{
		Use:   "rerun --week 2026-W48 [--wait]",
		Short: "Recompute a week's checks under the newest check set, as a background job (admin)",
		Long: "The job checks the week's chats in batches; each batch's results are stored with the job's\n" +
			"progress, so after a crash or restart qad continues where it stopped. Each hit records the check\n" +
			"set version that computed it. --wait follows the progress until the job ends.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				client := qav1.NewCheckReportServiceClient(c.conn)
				resp, err := client.StartCheckRerun(c.ctx, &qav1.StartCheckRerunRequest{Week: week})
				if err != nil {
					return nil, err
				}
				job := resp.GetRerun()
				for wait && job.GetStatus() == "running" {
					if !opts.json {
						_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "re-run %d: %d of %d\n", job.GetId(), job.GetDone(), job.GetTotal())
					}
					select {
					case <-c.ctx.Done():
						return nil, c.ctx.Err()
					case <-time.After(500 * time.Millisecond):
					}
					got, err := client.GetCheckRerun(c.ctx, &qav1.GetCheckRerunRequest{Id: job.GetId()})
					if err != nil {
						return nil, err
					}
					job = got.GetRerun()
				}
				if opts.json {
					return job, nil
				}
				return nil, printReruns(cmd.OutOrStdout(), []*qav1.CheckRerun{job}, c.location())
			})
		},
	}
	rerun.Flags().StringVar(&week, "week", "", "the ISO week, e.g. 2026-W48")
	rerun.Flags().BoolVar(&wait, "wait", false, "follow the job until it ends")
	_ = rerun.MarkFlagRequired("week")

	status := &cobra.Command{
		Use:   "rerun-status ID",
		Short: "Show a check re-run's progress",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`checks reruns`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := qav1.NewCheckReportServiceClient(c.conn).GetCheckRerun(c.ctx, &qav1.GetCheckRerunRequest{Id: id})
				if err != nil || opts.json {
					return resp.GetRerun(), err
				}
				return nil, printReruns(cmd.OutOrStdout(), []*qav1.CheckRerun{resp.GetRerun()}, c.location())
			})
		},
	}
	var limit int32
	list := &cobra.Command{
		Use:   "reruns [--limit N]",
		Short: "List check re-runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := qav1.NewCheckReportServiceClient(c.conn).ListCheckReruns(c.ctx, &qav1.ListCheckRerunsRequest{Limit: limit})
				if err != nil || opts.json {
					return resp, err
				}
				return nil, printReruns(cmd.OutOrStdout(), resp.GetReruns(), c.location())
			})
		},
	}
	list.Flags().Int32Var(&limit, "limit", 0, "at most this many (default 20)")
	return []*cobra.Command{report, rerun, status, list}
}

func printCheckReport(w io.Writer, r *qav1.GetCheckReportResponse) error {
	if len(r.GetWeeks()) > 0 {
		_, _ = fmt.Fprintf(w, "weeks %s..%s, check set version %d: %d chats checked, %d final reviews\n\n",
			r.GetWeeks()[0], r.GetWeeks()[len(r.GetWeeks())-1], r.GetCheckSetVersion(), r.GetChats(), r.GetReviews())
	}
	// CHATS is each check's own denominator: the chats it ran on, fewer
	// than the header's where a version of the set had it off.
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "CHECK\tDIMENSION\tFIRED\tCHATS\tRATE\tPRECISION\tRECALL\tTP\tFP\tFN\tTN")
	for _, c := range r.GetChecks() {
		rate := "-"
		if c.GetChats() > 0 {
			rate = fmt.Sprintf("%.1f%%", 100*c.GetRate())
		}
		_, _ = fmt.Fprintf(t, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", sanitize(c.GetCheck()), sanitize(c.GetDimension()),
			c.GetFired(), c.GetChats(), rate, optionalShare(c.GetPrecision(), c.GetHasPrecision()),
			optionalShare(c.GetRecall(), c.GetHasRecall()), c.GetTp(), c.GetFp(), c.GetFn(), c.GetTn())
	}
	return t.Flush()
}

func optionalShare(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func printReruns(w io.Writer, jobs []*qav1.CheckRerun, loc *time.Location) error {
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "ID\tWEEK\tVERSION\tSTATUS\tDONE\tTOTAL\tCHANGED\tBY\tSTARTED\tFINISHED\tREPLICA")
	for _, j := range jobs {
		status := j.GetStatus()
		if j.GetError() != "" {
			status += ": " + sanitize(j.GetError())
		}
		finished := "-"
		if j.GetFinishedAt() != nil {
			finished = formatTimestamp(j.GetFinishedAt(), loc)
		}
		// The replica holding a running job, with its lease's end; the
		// last one that worked it otherwise.
		replica := cmp.Or(sanitize(j.GetOwner()), "-")
		if j.GetLeaseExpiresAt() != nil {
			replica += " (lease until " + formatTimestamp(j.GetLeaseExpiresAt(), loc) + ")"
		}
		_, _ = fmt.Fprintf(t, "%d\t%s\t%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", j.GetId(), sanitize(j.GetWeek()), j.GetCheckSetVersion(),
			status, j.GetDone(), j.GetTotal(), j.GetChanged(), sanitize(j.GetCreatedBy()), formatTimestamp(j.GetCreatedAt(), loc), finished, replica)
	}
	return t.Flush()
}
