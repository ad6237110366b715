package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func printPicks(w io.Writer, picks []*qav1.Pick, asJSON bool) error {
	if asJSON {
		return jsonLines(w, picks)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ID\tEXTERNAL_ID\tAGENT\tREASON\tRANK\tKEY\tINSPECTOR\tSTATUS")
	for _, p := range picks {
		inspector := p.GetInspectorId()
		if inspector == "" {
			inspector = "-"
		}
		agent, reason, key := sanitize(p.GetAgentId()), sanitize(p.GetReason()), sanitize(p.GetKey())
		if p.GetKind() == "calibration" {
			// Blind: the server sends no agent; say so rather than leave a gap.
			agent, reason, key = "(hidden)", fmt.Sprintf("calibration:%d", p.GetSessionId()), "-"
		}
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.GetId(), sanitize(p.GetExternalId()), agent,
			reason, p.GetRank(), key, sanitize(inspector), sanitize(p.GetStatus()))
	}
	return tw.Flush()
}

func newSampleCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "sample", Short: "Run, preview and list weekly samples (admin)"}
	var week string
	var dryRun, topUp bool
	run := &cobra.Command{
		Use:   "run --week 2026-W47 [--dry-run | --top-up]",
		Short: "Sample an ISO week (once per week and policy version), preview it, or top up its run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun && topUp {
				return usageError{err: errors.New("--dry-run and --top-up do not go together (a dry run of a run week previews its top-up)"), command: cmd.CommandPath()}
			}
			if dryRun {
				return opts.call(cmd, func(c clients) (proto.Message, error) {
					resp, err := c.sampling.PreviewWeek(c.ctx, &qav1.PreviewWeekRequest{Week: week})
					if err == nil && !opts.json {
						err = printPicks(cmd.OutOrStdout(), resp.GetPicks(), false)
						if d := resp.GetDisagreement(); d != nil && err == nil {
							note := "as a run made now would take it"
							if resp.GetTopUpOfRun() != 0 {
								note = "the run's, frozen with it"
							}
							err = printDisagreement(cmd.OutOrStdout(), d, note, c.location())
						}
						if resp.GetTopUpOfRun() != 0 {
							_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s has run %d under policy version %d: a top-up now would add %d picks, leaving %d agents short of quota; nothing stored\n"+
								"seed commitment %s\n",
								resp.GetWeek(), resp.GetTopUpOfRun(), resp.GetPolicyVersion(), len(resp.GetPicks()), len(resp.GetShortfalls()), resp.GetSeedCommitment())
							return nil, err
						}
						_, _ = fmt.Fprintf(cmd.OutOrStdout(), "preview of %s under policy version %d: %d picks, %d agents short of quota; nothing stored\n"+
							"seed commitment %s (the run uses this seed and reveals it)\n",
							resp.GetWeek(), resp.GetPolicyVersion(), len(resp.GetPicks()), len(resp.GetShortfalls()), resp.GetSeedCommitment())
						return nil, err
					}
					return resp, err
				})
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.RunWeek(c.ctx, &qav1.RunWeekRequest{Week: week, TopUp: topUp})
				if err == nil && !opts.json && topUp {
					printTopUpResult(cmd.OutOrStdout(), resp)
					return nil, nil
				}
				if err == nil && !opts.json {
					r := resp.GetRun()
					state := "already existed"
					if resp.GetCreated() {
						state = "created"
					}
					_, _ = fmt.Fprintf(cmd.OutOrStdout(), "run %d for %s (policy version %d) %s: %d picks, %d agents short of quota, seed %s\n"+
						"seed commitment %s\n",
						r.GetId(), r.GetWeek(), r.GetPolicyVersion(), state, r.GetPicks(), r.GetShortfalls(), r.GetSeed(), r.GetSeedCommitment())
					return nil, nil
				}
				return resp, err
			})
		},
	}
	run.Flags().StringVar(&week, "week", "", "ISO week, e.g. 2026-W47")
	run.Flags().BoolVar(&dryRun, "dry-run", false, "compute the picks and store nothing (for a run week: what a top-up would add)")
	run.Flags().BoolVar(&topUp, "top-up", false, "top up the week's run with the chats that arrived since it (or its last top-up)")
	_ = run.MarkFlagRequired("week")
	run.AddCommand(newRunShowCommand(opts))

	var f qav1.ListPicksRequest
	list := &cobra.Command{
		Use:   "list --week W [--agent A] [--reason R] [--inspector I] [--status S]",
		Short: "List picks with their inspector and status (all pages)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.withConn(func(conn *grpc.ClientConn) error {
				client := qav1.NewSamplingServiceClient(conn)
				var all []*qav1.Pick
				req := &f
				req.PageSize = 1000
				err := allPages(func(token string) (string, error) {
					req.PageToken = token
					ctx, cancel := opts.unaryContext(cmd.Context()) // --timeout is per page
					defer cancel()
					resp, err := client.ListPicks(ctx, req)
					all = append(all, resp.GetPicks()...)
					return resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				return printPicks(cmd.OutOrStdout(), all, opts.json)
			})
		},
	}
	list.Flags().StringVar(&f.Week, "week", "", "ISO week")
	list.Flags().StringVar(&f.AgentId, "agent", "", "only this agent's picks")
	list.Flags().StringVar(&f.Reason, "reason", "", "random or a rule name")
	list.Flags().StringVar(&f.InspectorId, "inspector", "", "only this inspector's picks")
	list.Flags().StringVar(&f.Status, "status", "", "assigned, pool or skipped")
	cmd.AddCommand(run, list, newRunsCommand(opts))
	return cmd
}
