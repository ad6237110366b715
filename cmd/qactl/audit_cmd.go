package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newAuditCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit trail (admin)"}
	var req qav1.ListAuditEventsRequest
	var all bool
	list := &cobra.Command{
		Use:   "list [--entity E] [--entity-id ID] [--actor A] [--page-token T] [--limit N] [--all]",
		Short: "List audit events in id order, one page or --all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				var events []*qav1.AuditEvent
				var next string
				err := allPages(func(token string) (string, error) {
					if token != "" {
						req.PageToken = token
					}
					resp, err := c.audit.ListAuditEvents(c.ctx, &req)
					events = append(events, resp.GetEvents()...)
					if next = resp.GetNextPageToken(); !all {
						return "", err
					}
					return next, err
				})
				if err != nil {
					return nil, err
				}
				if err := printAuditEvents(cmd.OutOrStdout(), events, opts.json); err != nil {
					return nil, err
				}
				if next != "" && !all && !opts.json {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "more events: --page-token %s, or --all\n", next)
				}
				return nil, nil
			})
		},
	}
	f := list.Flags()
	f.StringVar(&req.Entity, "entity", "", "rubric, review, feedback or dispute")
	f.StringVar(&req.EntityId, "entity-id", "", "one entity's events (with --entity)")
	f.StringVar(&req.Actor, "actor", "", "only events of this token subject")
	f.StringVar(&req.PageToken, "page-token", "", "continue from a previous page (printed when there are more)")
	f.Int64Var(&req.AfterId, "after", 0, "deprecated: use --page-token; start after this event id")
	f.Int32Var(&req.PageSize, "limit", 0, "events per page (server default 100, at most 1000)")
	f.BoolVar(&all, "all", false, "follow the pages to the last")
	cmd.AddCommand(list)
	return cmd
}

func printAuditEvents(w io.Writer, events []*qav1.AuditEvent, asJSON bool) error {
	if asJSON {
		return jsonLines(w, events)
	}
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tENTITY\tENTITY_ID\tDETAIL")
	for _, e := range events {
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.GetId(), formatTimestamp(e.GetAt(), time.Local), sanitize(e.GetActor()),
			sanitize(e.GetAction()), sanitize(e.GetEntity()), sanitize(e.GetEntityId()), sanitize(e.GetDetail()))
	}
	return tw.Flush()
}
