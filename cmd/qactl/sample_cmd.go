package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

// jsonLine prints m as one line of protojson with the API's field names,
// zero values included so every record has every field.
func jsonLine(w io.Writer, m proto.Message) error {
	data, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// jsonLines prints each of ms as a jsonLine.
func jsonLines[M proto.Message](w io.Writer, ms []M) error {
	for _, m := range ms {
		if err := jsonLine(w, m); err != nil {
			return err
		}
	}
	return nil
}

func printPicks(w io.Writer, picks []*qav1.Pick, asJSON bool) error {
	if asJSON {
		return jsonLines(w, picks)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ID\tEXTERNAL_ID\tAGENT\tREASON\tRANK\tINSPECTOR\tSTATUS")
	for _, p := range picks {
		inspector := p.GetInspectorId()
		if inspector == "" {
			inspector = "-"
		}
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", p.GetId(), sanitize(p.GetExternalId()), sanitize(p.GetAgentId()),
			p.GetReason(), p.GetRank(), sanitize(inspector), p.GetStatus())
	}
	return tw.Flush()
}

func newInspectorCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "inspector", Short: "Register and list QA inspectors (admin)"}
	var name string
	var inactive bool
	add := &cobra.Command{
		Use:   "add ID --name NAME",
		Short: "Register or update an inspector; ID is their token's subject",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			active := !inactive
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				return c.sampling.UpsertInspector(c.ctx, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: args[0], Name: name, Active: &active}})
			})
		},
	}
	add.Flags().StringVar(&name, "name", "", "the inspector's name")
	add.Flags().BoolVar(&inactive, "inactive", false, "register as inactive, or deactivate: no new items, their calls are refused, their open items go to others (listed as returned_items)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List inspectors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				all := &qav1.ListInspectorsResponse{}
				err := allPages(func(token string) (string, error) {
					resp, err := c.sampling.ListInspectors(c.ctx, &qav1.ListInspectorsRequest{PageSize: 1000, PageToken: token})
					all.Inspectors = append(all.Inspectors, resp.GetInspectors()...)
					return resp.GetNextPageToken(), err
				})
				return all, err
			})
		},
	}
	cmd.AddCommand(add, list)
	return cmd
}

func newPolicyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Read and change the sampling policy (admin)",
		Long: "The policy is JSON with the API's field names, e.g.\n" +
			`  {"random_per_agent": 3, "targeted_per_agent": 2, "new_hire_days": 90, "new_hire_extra": 2,` + "\n" +
			`   "rules": ["complaint", "low_csat", "escalated", "vip", "long_handle_time"],` + "\n" +
			`   "time_zone": "Asia/Shanghai", "handle_time_percentile": 0.9}` + "\n" +
			"`policy get` prints it (as JSON with --json); `policy set --file F` stores a new version.",
	}
	var version int64
	get := &cobra.Command{
		Use:   "get",
		Short: "Print the newest policy, or --version N",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.GetPolicy(c.ctx, &qav1.GetPolicyRequest{Version: version})
				return resp.GetPolicy(), err
			})
		},
	}
	get.Flags().Int64Var(&version, "version", 0, "a stored version; 0 for the newest")
	var file string
	set := &cobra.Command{
		Use:   "set --file policy.json",
		Short: "Validate a policy and store it as a new version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p qav1.Policy
			if err := readProtoJSON(cmd, file, &p); err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.UpdatePolicy(c.ctx, &qav1.UpdatePolicyRequest{Policy: &p})
				return resp.GetPolicy(), err
			})
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "policy JSON file, - for standard input")
	_ = set.MarkFlagRequired("file")
	cmd.AddCommand(get, set)
	return cmd
}

func newSampleCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "sample", Short: "Run, preview and list weekly samples (admin)"}
	var week string
	var dryRun bool
	run := &cobra.Command{
		Use:   "run --week 2026-W47 [--dry-run]",
		Short: "Sample an ISO week (once per week and policy version), or preview it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun {
				return opts.call(cmd, func(c clients) (proto.Message, error) {
					resp, err := c.sampling.PreviewWeek(c.ctx, &qav1.PreviewWeekRequest{Week: week})
					if err == nil && !opts.json {
						err = printPicks(cmd.OutOrStdout(), resp.GetPicks(), false)
						_, _ = fmt.Fprintf(cmd.OutOrStdout(), "preview of %s under policy version %d: %d picks, %d agents short of quota; nothing stored\n",
							resp.GetWeek(), resp.GetPolicyVersion(), len(resp.GetPicks()), len(resp.GetShortfalls()))
						return nil, err
					}
					return resp, err
				})
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.RunWeek(c.ctx, &qav1.RunWeekRequest{Week: week})
				if err == nil && !opts.json {
					r := resp.GetRun()
					state := "already existed"
					if resp.GetCreated() {
						state = "created"
					}
					_, _ = fmt.Fprintf(cmd.OutOrStdout(), "run %d for %s (policy version %d) %s: %d picks, %d agents short of quota, seed %s\n",
						r.GetId(), r.GetWeek(), r.GetPolicyVersion(), state, r.GetPicks(), r.GetShortfalls(), r.GetSeed())
					return nil, nil
				}
				return resp, err
			})
		},
	}
	run.Flags().StringVar(&week, "week", "", "ISO week, e.g. 2026-W47")
	run.Flags().BoolVar(&dryRun, "dry-run", false, "compute the picks and store nothing")
	_ = run.MarkFlagRequired("week")

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
	cmd.AddCommand(run, list)
	return cmd
}

func newReviewCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "An inspector's queue: list, release, skip, show, submit (inspector)"}
	queue := &cobra.Command{
		Use:   "queue",
		Short: "List the items assigned to you",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.withConn(func(conn *grpc.ClientConn) error {
				var items []*qav1.Pick
				err := allPages(func(token string) (string, error) {
					ctx, cancel := opts.unaryContext(cmd.Context()) // --timeout is per page
					defer cancel()
					resp, err := qav1.NewReviewServiceClient(conn).ListQueue(ctx, &qav1.ListQueueRequest{PageSize: 1000, PageToken: token})
					items = append(items, resp.GetItems()...)
					return resp.GetNextPageToken(), err
				})
				if err != nil {
					return err
				}
				return printPicks(cmd.OutOrStdout(), items, opts.json)
			})
		},
	}
	release := &cobra.Command{
		Use:   "release ID",
		Short: "Put one of your items back into the pool",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`review queue`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.review.ReleaseItem(c.ctx, &qav1.ReleaseItemRequest{Id: id})
				return resp.GetItem(), err
			})
		},
	}
	var reason string
	skip := &cobra.Command{
		Use:   "skip ID --reason R",
		Short: "Skip one of your items (spam, wrong_agent, not_reviewable, ...); a replacement is brought in if one is left",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`review queue`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.review.SkipItem(c.ctx, &qav1.SkipItemRequest{Id: id, Reason: reason})
				if err == nil && !opts.json {
					if resp.GetReplacement() != nil {
						_, _ = fmt.Fprintf(cmd.OutOrStdout(), "skipped %d; replaced by %d (%s, %s)\n", id,
							resp.GetReplacement().GetId(), sanitize(resp.GetReplacement().GetExternalId()), resp.GetReplacement().GetReason())
					} else {
						_, _ = fmt.Fprintf(cmd.OutOrStdout(), "skipped %d; no replacement left for this agent, week and reason\n", id)
					}
					return nil, nil
				}
				return resp, err
			})
		},
	}
	skip.Flags().StringVar(&reason, "reason", "", "why: spam, wrong_agent, not_reviewable, or free text")
	_ = skip.MarkFlagRequired("reason")
	cmd.AddCommand(queue, release, skip, newReviewShowCommand(opts), newReviewSubmitCommand(opts))
	return cmd
}

// clients are the service clients of one connection, with a call context.
type clients struct {
	ctx      context.Context
	sampling qav1.SamplingServiceClient
	review   qav1.ReviewServiceClient
	feedback qav1.FeedbackServiceClient
	rubric   qav1.RubricServiceClient
	report   qav1.ReportServiceClient
	audit    qav1.AuditServiceClient
}

func newClients(ctx context.Context, conn *grpc.ClientConn) clients {
	return clients{
		ctx:      ctx,
		sampling: qav1.NewSamplingServiceClient(conn),
		review:   qav1.NewReviewServiceClient(conn),
		feedback: qav1.NewFeedbackServiceClient(conn),
		rubric:   qav1.NewRubricServiceClient(conn),
		report:   qav1.NewReportServiceClient(conn),
		audit:    qav1.NewAuditServiceClient(conn),
	}
}

// call dials, runs one unary call and prints what it returns: as a JSON
// line with --json, otherwise as protojson for a person. A nil message
// means the call printed its own text.
func (o *globalOptions) call(cmd *cobra.Command, do func(clients) (proto.Message, error)) error {
	var m proto.Message
	err := o.withConn(func(conn *grpc.ClientConn) error {
		ctx, cancel := o.unaryContext(cmd.Context())
		defer cancel()
		var err error
		m, err = do(newClients(ctx, conn))
		return err
	})
	if err != nil || m == nil {
		return err
	}
	if o.json {
		return jsonLine(cmd.OutOrStdout(), m)
	}
	data, err := protojson.MarshalOptions{UseProtoNames: true, Multiline: true}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(append(data, '\n'))
	return err
}

// withConn dials the server, runs fn and closes the connection.
func (o *globalOptions) withConn(fn func(*grpc.ClientConn) error) error {
	conn, err := o.dial()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	return fn(conn)
}

// readProtoJSON reads --file (or stdin for "-") as the JSON form of m; a
// malformed document is a usage error naming --file.
func readProtoJSON(cmd *cobra.Command, file string, m proto.Message) error {
	in, _, closeInput, err := openInput(file, cmd.InOrStdin())
	if err != nil {
		return err
	}
	defer closeInput()
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(data, m); err != nil {
		return usageError{err: fmt.Errorf("--file: %w", err), command: cmd.CommandPath()}
	}
	return nil
}
