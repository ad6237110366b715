package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// printTopUpResult is the text of `sample run --top-up`.
func printTopUpResult(w io.Writer, resp *qav1.RunWeekResponse) {
	r, u := resp.GetRun(), resp.GetTopUp()
	_, _ = fmt.Fprintf(w, "top-up %d of run %d for %s (policy version %d): %d picks added from %d chats that arrived since, %d agents short of quota\n"+
		"run now has %d picks (%d by the run, %d by %d top-ups)\n",
		u.GetSeq(), r.GetId(), r.GetWeek(), r.GetPolicyVersion(), u.GetPicks(), u.GetConsidered(), u.GetShortfalls(),
		r.GetTotalPicks(), r.GetPicks(), r.GetTotalPicks()-r.GetPicks(), len(r.GetTopUps()))
}

// shortfallsNow is the run's agents short of quota after its last top-up.
func shortfallsNow(r *qav1.Run) int32 {
	if ups := r.GetTopUps(); len(ups) > 0 {
		return ups[len(ups)-1].GetShortfalls()
	}
	return r.GetShortfalls()
}

func printRuns(w io.Writer, runs []*qav1.Run, loc *time.Location) error {
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "ID\tWEEK\tPOLICY\tTRIGGER\tCOMPLETED\tPICKS\tTOP-UPS\tTOTAL\tSHORT")
	for _, r := range runs {
		_, _ = fmt.Fprintf(t, "%d\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\n", r.GetId(), r.GetWeek(), r.GetPolicyVersion(),
			sanitize(r.GetTrigger()), shortTime(r.GetCompletedAt(), loc), r.GetPicks(), len(r.GetTopUps()), r.GetTotalPicks(), shortfallsNow(r))
	}
	return t.Flush()
}

func printRun(w io.Writer, r *qav1.Run, loc *time.Location) error {
	completed := "not complete"
	if r.GetCompletedAt() != nil {
		completed = formatTimestamp(r.GetCompletedAt(), loc)
	}
	_, _ = fmt.Fprintf(w, "run %d for %s, policy version %d, trigger %s\n"+
		"created %s, completed %s\n"+
		"picks: %d by the run, %d in all with top-ups; %d agents short of quota now\n"+
		"seed %s\nseed commitment %s\n",
		r.GetId(), r.GetWeek(), r.GetPolicyVersion(), sanitize(r.GetTrigger()), formatTimestamp(r.GetCreatedAt(), loc), completed,
		r.GetPicks(), r.GetTotalPicks(), shortfallsNow(r), r.GetSeed(), r.GetSeedCommitment())
	if d := r.GetDisagreement(); d != nil {
		if err := printDisagreement(w, d, "frozen with the run; its top-ups keep it", loc); err != nil {
			return err
		}
	}
	if len(r.GetTopUps()) == 0 {
		_, err := fmt.Fprintln(w, "no top-ups")
		return err
	}
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "TOP-UP\tAT\tTRIGGER\tPICKS\tCHATS READ\tSHORT AFTER")
	for _, u := range r.GetTopUps() {
		_, _ = fmt.Fprintf(t, "%d\t%s\t%s\t%d\t%d\t%d\n", u.GetSeq(), shortTime(u.GetCreatedAt(), loc), sanitize(u.GetTrigger()),
			u.GetPicks(), u.GetConsidered(), u.GetShortfalls())
	}
	return t.Flush()
}

// printDisagreement is the text of a run's (or preview's) rule order
// under check_disagreement, with the weights and what they rest on.
func printDisagreement(w io.Writer, d *qav1.DisagreementOrder, note string, loc *time.Location) error {
	_, _ = fmt.Fprintf(w, "rule order (check_disagreement, %s): %s\n"+
		"weights from %d final reviews of %s..%s finalised before %s, check set version %d:\n",
		note, sanitize(strings.Join(d.GetRules(), ", ")), d.GetReviews(), d.GetFromWeek(), d.GetToWeek(),
		formatTimestamp(d.GetReviewsBefore(), loc), d.GetCheckSetVersion())
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "  CHECK\tDIMENSION\tTP\tFP\tWEIGHT")
	for _, cw := range d.GetWeights() {
		_, _ = fmt.Fprintf(t, "  %s\t%s\t%d\t%d\t%s\n", cw.GetCheck(), sanitize(cw.GetDimension()), cw.GetTp(), cw.GetFp(),
			strconv.FormatFloat(cw.GetWeight(), 'g', -1, 64))
	}
	return t.Flush()
}

// newRunShowCommand is `sample run show ID`.
func newRunShowCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a run with its top-ups",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "sample runs")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.GetRun(c.ctx, &qav1.GetRunRequest{Id: id})
				if err == nil && !opts.json {
					return nil, printRun(cmd.OutOrStdout(), resp.GetRun(), c.location())
				}
				return resp, err
			})
		},
	}
}

// newRunsCommand is `sample runs`.
func newRunsCommand(opts *globalOptions) *cobra.Command {
	var week string
	cmd := &cobra.Command{
		Use:   "runs [--week W]",
		Short: "List runs, newest first, with their top-ups (all pages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.withConn(func(conn *grpc.ClientConn) error {
				client := qav1.NewSamplingServiceClient(conn)
				var all []*qav1.Run
				err := allPages(func(token string) (string, error) {
					ctx, cancel := opts.unaryContext(cmd.Context())
					defer cancel()
					resp, err := client.ListRuns(ctx, &qav1.ListRunsRequest{Week: week, PageSize: 1000, PageToken: token})
					all = append(all, resp.GetRuns()...)
					return resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				if opts.json {
					return jsonLines(cmd.OutOrStdout(), all)
				}
				return printRuns(cmd.OutOrStdout(), all, opts.connLocation(cmd, conn))
			})
		},
	}
	cmd.Flags().StringVar(&week, "week", "", "only this ISO week's runs")
	return cmd
}
