package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newRubricCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rubric",
		Short: "Read the scoring rubric; create and activate versions (admin)",
		Long: "A rubric file is the Rubric message as JSON with the API's field names, e.g.\n" +
			`  {"name": "2027", "dimensions": [{"key": "attitude", "name": "服务态度", "weight": 25, "max": 5, "allow_na": true}, ...],` + "\n" +
			`   "flags": [{"key": "abusive_language", "name": "辱骂客户"}], "thresholds": {"excellent": 90, "good": 80, "pass": 70}}` + "\n" +
			"`qactl --json rubric get` prints one to start from.",
	}
	// printRubric returns r for --json, or prints it for a person.
	printRubric := func(cmd *cobra.Command, c clients, r *qav1.Rubric, headline string) (proto.Message, error) {
		if opts.json {
			return r, nil
		}
		var b strings.Builder
		if headline != "" {
			b.WriteString(headline + "\n")
		}
		writeRubric(&b, r)
		t := r.GetThresholds()
		fmt.Fprintf(&b, "grades: excellent ≥ %g, good ≥ %g, pass ≥ %g, below: needs_improvement; critical: fail\n", t.GetExcellent(), t.GetGood(), t.GetPass())
		fmt.Fprintf(&b, "%s, %s; created by %s at %s\n", yesNo(r.GetActive(), "active", "not active"),
			yesNo(r.GetLocked(), "locked (reviews use it)", "not used by any review yet"), sanitize(r.GetCreatedBy()), shortTime(r.GetCreatedAt(), c.location()))
		_, err := io.WriteString(cmd.OutOrStdout(), b.String())
		return nil, err
	}

	var version int64
	get := &cobra.Command{
		Use:   "get [--version N]",
		Short: "Print the active rubric, or --version N",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.rubric.GetRubric(c.ctx, &qav1.GetRubricRequest{Version: version})
				if err != nil {
					return nil, err
				}
				return printRubric(cmd, c, resp.GetRubric(), "")
			})
		},
	}
	get.Flags().Int64Var(&version, "version", 0, "a stored version; 0 for the active one")

	list := &cobra.Command{
		Use:   "list",
		Short: "List every rubric version, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				var rubrics []*qav1.Rubric
				err := allPages(func(token string) (string, error) {
					resp, err := c.rubric.ListRubrics(c.ctx, &qav1.ListRubricsRequest{PageSize: 1000, PageToken: token})
					rubrics = append(rubrics, resp.GetRubrics()...)
					return resp.GetNextPageToken(), err
				})
				if err != nil {
					return nil, err
				}
				return nil, printRubrics(cmd.OutOrStdout(), rubrics, opts.json, opts.textLocation(c))
			})
		},
	}

	var file string
	var activate bool
	create := &cobra.Command{
		Use:   "create --file rubric.json [--activate]",
		Short: "Validate a rubric and store it as a new version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r qav1.Rubric
			if err := readProtoJSON(cmd, file, &r); err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.rubric.CreateRubric(c.ctx, &qav1.CreateRubricRequest{Rubric: &r, Activate: activate})
				if err != nil {
					return nil, err
				}
				return printRubric(cmd, c, resp.GetRubric(), fmt.Sprintf("stored rubric version %d", resp.GetRubric().GetVersion()))
			})
		},
	}
	create.Flags().StringVarP(&file, "file", "f", "", "rubric JSON file, - for standard input")
	create.Flags().BoolVar(&activate, "activate", false, "make it the version new reviews are scored against")
	_ = create.MarkFlagRequired("file")

	activateCmd := &cobra.Command{
		Use:   "activate VERSION",
		Short: "Make a version the one new reviews are scored against",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseID(cmd, args[0], "`rubric list`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.rubric.ActivateRubric(c.ctx, &qav1.ActivateRubricRequest{Version: v})
				if err != nil || opts.json {
					return resp.GetRubric(), err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "rubric version %d is active; drafts keep the version they started on\n", resp.GetRubric().GetVersion())
				return nil, err
			})
		},
	}
	cmd.AddCommand(get, list, create, activateCmd)
	return cmd
}

func printRubrics(w io.Writer, rubrics []*qav1.Rubric, asJSON bool, loc *time.Location) error {
	if asJSON {
		return jsonLines(w, rubrics)
	}
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "VERSION\tACTIVE\tLOCKED\tDIMENSIONS\tFLAGS\tCREATED\tCREATED_BY\tNAME")
	for _, r := range rubrics {
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", r.GetVersion(), yesNo(r.GetActive(), "yes", "-"), yesNo(r.GetLocked(), "yes", "-"),
			len(r.GetDimensions()), len(r.GetFlags()), shortTime(r.GetCreatedAt(), loc), sanitize(r.GetCreatedBy()), sanitize(r.GetName()))
	}
	return tw.Flush()
}

// writeRubric prints the dimensions and critical flags of r. Names go in
// the last column: wide characters would misalign anything after them.
func writeRubric(w io.Writer, r *qav1.Rubric) {
	if r == nil {
		return
	}
	_, _ = fmt.Fprintf(w, "rubric version %d", r.GetVersion())
	if r.GetName() != "" {
		_, _ = fmt.Fprintf(w, " (%s)", sanitize(r.GetName()))
	}
	_, _ = fmt.Fprintln(w)
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "KEY\tWEIGHT\tSCALE\tN/A\tCRITICAL\tNAME")
	for _, d := range r.GetDimensions() {
		_, _ = fmt.Fprintf(tw, "%s\t%g\t0..%d\t%s\t%s\t%s\n", sanitize(d.GetKey()), d.GetWeight(), d.GetMax(),
			yesNo(d.GetAllowNa(), "allowed", "no"), yesNo(d.GetCritical(), "yes", "-"), sanitize(d.GetName()))
	}
	_ = tw.Flush()
	for _, d := range r.GetDimensions() {
		if d.GetCriteria() != "" {
			_, _ = fmt.Fprintf(w, "  %s: %s\n", sanitize(d.GetKey()), sanitize(d.GetCriteria()))
		}
	}
	if len(r.GetFlags()) > 0 {
		_, _ = fmt.Fprintln(w, "critical flags (红线), any one makes the score 0:")
		tw := newTable(w)
		for _, f := range r.GetFlags() {
			_, _ = fmt.Fprintf(tw, "  %s\t%s\t%s\n", sanitize(f.GetKey()), sanitize(f.GetName()), sanitize(f.GetDescription()))
		}
		_ = tw.Flush()
	}
}
