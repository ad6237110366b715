package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// The workload commands: an inspector's queue, and an admin moving open
// items between inspectors.

func newReviewQueueCommand(opts *globalOptions) *cobra.Command {
	var req qav1.ListQueueRequest
	var all bool
	cmd := &cobra.Command{
		Use:   "queue [--week W] [--status assigned|disputed] [--page-token T] [--limit N] [--all]",
		Short: "List the items assigned to you, re-scorings of disputes included, in id order, one page or --all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				items, next, err := listPages(req.GetPageToken(), all, func(token string) ([]*qav1.Pick, string, error) {
					page := proto.CloneOf(&req)
					page.PageToken = token
					resp, err := c.review.ListQueue(c.ctx, page)
					return resp.GetItems(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return nil, err
				}
				if err := printPicks(cmd.OutOrStdout(), items, opts.json); err != nil {
					return nil, err
				}
				if next != "" && !opts.json {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "more items: --page-token %s, or --all\n", next)
				}
				return nil, nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Week, "week", "", "only items of this ISO week, e.g. 2026-W47")
	f.StringVar(&req.Status, "status", "", "only assigned items, or only disputed ones (re-scorings)")
	pageFlags(f, &req.PageToken, &req.PageSize, &all, "items")
	return cmd
}

func newReviewReassignCommand(opts *globalOptions) *cobra.Command {
	var req qav1.ReassignItemsRequest
	cmd := &cobra.Command{
		Use:   "reassign (ID | --from INSPECTOR) (--to INSPECTOR | --pool) [--reason TEXT]",
		Short: "Move one open item, or all of an inspector's, to another inspector or back to the pool (admin)",
		Long: "Moves one open item (assigned, in the pool, or a disputed re-scoring), or with --from\n" +
			"every open item of that inspector, to the active inspector --to, or with --pool back to\n" +
			"the pool: there the assignment rules give each item to the least loaded eligible inspector\n" +
			"other than the one it leaves, as on release, and it waits in the pool only if no one may\n" +
			"take it. An item never goes to its agent's own supervisor, a re-scoring never to the\n" +
			"author of the review it contests, and finalised items never move. Drafts stay with their\n" +
			"author. Each move is in the audit trail (pick.reassign, or dispute.reassign).\n" +
			"With --from the answer lists what moved and what could not, and why.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			usage := func(format string, a ...any) error {
				return usageError{err: fmt.Errorf(format, a...), command: cmd.CommandPath()}
			}
			switch {
			case len(args) == 1 && (req.FromInspectorId != "" || req.FromPool):
				return usage("give an item ID, --from or --from-pool, only one")
			case req.FromInspectorId != "" && req.FromPool:
				return usage("give --from or --from-pool, not both")
			case len(args) == 0 && req.FromInspectorId == "" && !req.FromPool:
				return usage("give the item ID to move, --from INSPECTOR for all of their open items, or --from-pool")
			case (req.ToInspectorId == "") == !req.ToPool:
				return usage("give one of --to INSPECTOR or --pool")
			}
			if len(args) == 1 {
				id, err := parseID(cmd, args[0], "`review queue` or `sample list`")
				if err != nil {
					return err
				}
				req.ItemId = id
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.ReassignItems(c.ctx, &req)
				if err != nil || opts.json {
					return resp, err
				}
				return nil, printReassigned(cmd.OutOrStdout(), resp)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.FromInspectorId, "from", "", "move every open item of this inspector (assigned and disputed)")
	f.BoolVar(&req.FromPool, "from-pool", false, "move every item waiting in the pool (e.g. picks of a week run before any inspector was added)")
	f.StringVar(&req.ToInspectorId, "to", "", "the active inspector to take the items")
	f.BoolVar(&req.ToPool, "pool", false, "back to the pool: the assignment rules choose another inspector")
	f.StringVar(&req.Reason, "reason", "", "why, for the audit trail")
	return cmd
}

// printReassigned lists the moved items as they are now, then the ones
// that stayed with the reason.
func printReassigned(w io.Writer, resp *qav1.ReassignItemsResponse) error {
	if _, err := fmt.Fprintf(w, "moved %d items\n", len(resp.GetMoved())); err != nil {
		return err
	}
	if len(resp.GetMoved()) > 0 {
		if err := printPicks(w, resp.GetMoved(), false); err != nil {
			return err
		}
	}
	if len(resp.GetNotMoved()) == 0 {
		return nil
	}
	_, _ = fmt.Fprintf(w, "\nnot moved: %d items\n", len(resp.GetNotMoved()))
	t := newTable(w)
	_, _ = fmt.Fprintln(t, "ID\tAGENT\tINSPECTOR\tSTATUS\tWHY")
	for _, u := range resp.GetNotMoved() {
		p := u.GetItem()
		_, _ = fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\n", p.GetId(), sanitize(p.GetAgentId()), sanitize(orDash(p.GetInspectorId())),
			sanitize(p.GetStatus()), sanitize(u.GetReason()))
	}
	return t.Flush()
}

// orDash shows an empty value (no inspector: the pool) as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
