package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newDisputeCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "dispute", Short: "Contest a final review of one of your agents (supervisor)"}
	var reason string
	open := &cobra.Command{
		Use:   "open REVIEW_ID --reason TEXT",
		Short: "Open a dispute; another inspector re-scores the conversation",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "a feedback record's review")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.feedback.OpenDispute(c.ctx, &qav1.OpenDisputeRequest{ReviewId: id, Reason: reason})
				if err != nil || opts.json {
					return resp.GetDispute(), err
				}
				d := resp.GetDispute()
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "dispute %d opened on review %d (item %d, agent %s); assigned to %s for re-scoring\n",
					d.GetId(), d.GetReviewId(), d.GetItemId(), sanitize(d.GetAgentId()), sanitize(d.GetAssigneeId()))
				return nil, err
			})
		},
	}
	open.Flags().StringVar(&reason, "reason", "", "what the review got wrong")
	_ = open.MarkFlagRequired("reason")

	var state string
	list := &cobra.Command{
		Use:   "list [--status open|resolved]",
		Short: "List disputes on your agents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				var disputes []*qav1.Dispute
				err := allPages(func(token string) (string, error) {
					resp, err := c.feedback.ListDisputes(c.ctx, &qav1.ListDisputesRequest{Status: state, PageSize: 1000, PageToken: token})
					disputes = append(disputes, resp.GetDisputes()...)
					return resp.GetNextPageToken(), err
				})
				if err != nil {
					return nil, err
				}
				return nil, printDisputes(cmd.OutOrStdout(), disputes, opts.json, opts.textLocation(c))
			})
		},
	}
	list.Flags().StringVar(&state, "status", "", "open or resolved; both if empty")
	cmd.AddCommand(open, list)
	return cmd
}

func printDisputes(w io.Writer, disputes []*qav1.Dispute, asJSON bool, loc *time.Location) error {
	if asJSON {
		return jsonLines(w, disputes)
	}
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "ID\tREVIEW\tITEM\tAGENT\tSTATUS\tASSIGNEE\tOPENED\tRESOLVED_BY\tREASON")
	for _, d := range disputes {
		resolution := "-"
		if d.GetResolutionReviewId() != 0 {
			resolution = "review " + strconv.FormatInt(d.GetResolutionReviewId(), 10)
		}
		_, _ = fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.GetId(), d.GetReviewId(), d.GetItemId(), sanitize(d.GetAgentId()),
			sanitize(d.GetStatus()), sanitize(d.GetAssigneeId()), shortTime(d.GetOpenedAt(), loc), resolution,
			strings.TrimSpace(sanitize(d.GetReason())))
	}
	return tw.Flush()
}
