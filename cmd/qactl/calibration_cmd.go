package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// The calibration commands: an admin's sessions (create, list, show,
// close) and their results, which a session's inspectors may also read
// once it is revealed.

func newCalibrationCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "calibration", Short: "Calibration sessions: the same chats scored blind by several inspectors, and how far they agree"}

	var req qav1.CreateCalibrationRequest
	var due string
	create := &cobra.Command{
		Use:   "create --transcript EXTERNAL_ID ... --inspector ID ... [--benchmark ID] [--name TEXT] [--due DATE]",
		Short: "Start a session on the active rubric (admin): each inspector and the benchmark get one item per chat",
		Long: "Puts one or more stored chats, picked or not, before the inspectors and the benchmark\n" +
			"reviewer. Each gets one item per chat in their queue (`review queue`, marked calibration)\n" +
			"and scores it with `review show` and `review submit`, blind: the agent is hidden, and no one\n" +
			"sees another's ratings until everyone has finalised or an admin closes the session.\n" +
			"Calibration reviews never create feedback and never count in reports or disputes.\n" +
			"--due takes RFC 3339 or a date (the end of that day in the programme's time zone).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dueAt, err := timeFlag("due", due)
			if err != nil {
				return usageError{err: err, command: cmd.CommandPath()}
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				if dueAt.date {
					y, m, d := dueAt.at.Date()
					req.Due = timestamppb.New(time.Date(y, m, d+1, 0, 0, 0, 0, c.location()))
				} else {
					req.Due = dueAt.in(time.UTC)
				}
				resp, err := c.calib.CreateCalibration(c.ctx, &req)
				if err != nil || opts.json {
					return resp.GetSession(), err
				}
				return nil, printSession(cmd.OutOrStdout(), resp.GetSession(), c.location())
			})
		},
	}
	f := create.Flags()
	f.StringSliceVar(&req.ExternalIds, "transcript", nil, "a chat's external id; repeat (or comma-separate) for more")
	f.StringSliceVar(&req.InspectorIds, "inspector", nil, "an inspector who scores; repeat for more")
	f.StringVar(&req.BenchmarkId, "benchmark", "", "the reference reviewer (an inspector not among --inspector)")
	f.StringVar(&req.Name, "name", "", "the session's name (default: Calibration DATE)")
	f.StringVar(&due, "due", "", "a deadline shown to the inspectors")

	var listReq qav1.ListCalibrationsRequest
	var all bool
	list := &cobra.Command{
		Use:   "list [--status open|complete|closed] [--page-token T] [--limit N] [--all]",
		Short: "List sessions, newest first: all for an admin, your own for an inspector",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				sessions, next, err := listPages(listReq.GetPageToken(), all, func(token string) ([]*qav1.CalibrationSession, string, error) {
					page := proto.CloneOf(&listReq)
					page.PageToken = token
					resp, err := c.calib.ListCalibrations(c.ctx, page)
					return resp.GetSessions(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return nil, err
				}
				if opts.json {
					return nil, jsonLines(cmd.OutOrStdout(), sessions)
				}
				if err := printCalibrations(cmd.OutOrStdout(), sessions, c.location()); err != nil {
					return nil, err
				}
				if next != "" {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "more sessions: --page-token %s, or --all\n", next)
				}
				return nil, nil
			})
		},
	}
	list.Flags().StringVar(&listReq.Status, "status", "", "only sessions open, complete (everyone finalised) or closed")
	pageFlags(list.Flags(), &listReq.PageToken, &listReq.PageSize, &all, "sessions")

	idCommand := func(use, short string, do func(c clients, id int64) (proto.Message, func(io.Writer, *time.Location) error, error)) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := parseID(cmd, args[0], "`calibration list`")
				if err != nil {
					return err
				}
				return opts.call(cmd, func(c clients) (proto.Message, error) {
					m, text, err := do(c, id)
					if err != nil || opts.json {
						return m, err
					}
					return nil, text(cmd.OutOrStdout(), c.location())
				})
			},
		}
	}
	show := idCommand("show ID", "Print a session and each participant's progress", func(c clients, id int64) (proto.Message, func(io.Writer, *time.Location) error, error) {
		resp, err := c.calib.GetCalibration(c.ctx, &qav1.GetCalibrationRequest{Id: id})
		return resp.GetSession(), func(w io.Writer, loc *time.Location) error { return printSession(w, resp.GetSession(), loc) }, err
	})
	closeCmd := idCommand("close ID", "Close a session (admin): unfinished items leave the queues and the ratings are revealed", func(c clients, id int64) (proto.Message, func(io.Writer, *time.Location) error, error) {
		resp, err := c.calib.CloseCalibration(c.ctx, &qav1.CloseCalibrationRequest{Id: id})
		return resp.GetSession(), func(w io.Writer, loc *time.Location) error { return printSession(w, resp.GetSession(), loc) }, err
	})
	results := idCommand("results ID", "Print a session's results: ratings per chat and dimension, agreement, bias, Krippendorff's alpha", func(c clients, id int64) (proto.Message, func(io.Writer, *time.Location) error, error) {
		resp, err := c.calib.GetCalibrationResults(c.ctx, &qav1.GetCalibrationResultsRequest{Id: id})
		return resp, func(w io.Writer, _ *time.Location) error { return printResults(w, resp) }, err
	})
	results.Long = "For admins always; for the session's inspectors once everyone has finalised or an admin\n" +
		"closed it. Agreement is 1 − |r − r_bench| / max against the benchmark's rating (the other\n" +
		"inspectors' mean without a benchmark); bias is the mean signed deviation in rating points\n" +
		"(positive: more lenient). A rating 30% of the scale or more away is marked with *.\n" +
		"Alpha is Krippendorff's over every participant, N/A and unfinished reviews missing:\n" +
		"≥ 0.800 reliable, ≥ 0.667 tentative, below unreliable."
	cmd.AddCommand(create, list, show, closeCmd, results)
	return cmd
}

func printCalibrations(w io.Writer, sessions []*qav1.CalibrationSession, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tCHATS\tINSPECTORS\tBENCHMARK\tDONE\tDUE\tCREATED")
	for _, s := range sessions {
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%d/%d\t%s\t%s\n", s.GetId(), sanitize(s.GetName()), sanitize(s.GetStatus()),
			len(s.GetExternalIds()), len(s.GetInspectorIds()), orDash(s.GetBenchmarkId()), s.GetFinalised(), s.GetItems(),
			orDash(shortTime(s.GetDue(), loc)), shortTime(s.GetCreatedAt(), loc))
	}
	return tw.Flush()
}

func printSession(w io.Writer, s *qav1.CalibrationSession, loc *time.Location) error {
	var b strings.Builder
	fmt.Fprintf(&b, "calibration session %d: %s\n", s.GetId(), sanitize(s.GetName()))
	fmt.Fprintf(&b, "status %s (%d of %d items final), rubric version %d, created by %s at %s\n", sanitize(s.GetStatus()),
		s.GetFinalised(), s.GetItems(), s.GetRubricVersion(), sanitize(s.GetCreatedBy()), shortTime(s.GetCreatedAt(), loc))
	if s.GetDue() != nil {
		fmt.Fprintf(&b, "due %s\n", shortTime(s.GetDue(), loc))
	}
	if s.GetClosedAt() != nil {
		fmt.Fprintf(&b, "closed by %s at %s\n", sanitize(s.GetClosedBy()), shortTime(s.GetClosedAt(), loc))
	}
	fmt.Fprintf(&b, "chats: %s\n", sanitize(strings.Join(s.GetExternalIds(), ", ")))
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "PARTICIPANT\tROLE\tFINAL")
	for _, p := range s.GetProgress() {
		role := "inspector"
		if p.GetBenchmark() {
			role = "benchmark"
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%d/%d\n", sanitize(p.GetInspectorId()), role, p.GetFinalised(), p.GetItems())
	}
	_ = tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtOpt prints an optional number, "-" when absent.
func fmtOpt(f *float64, format string) string {
	if f == nil || math.IsNaN(*f) {
		return "-"
	}
	return fmt.Sprintf(format, *f)
}

func ratingText(r *qav1.CalibrationRating) string {
	switch {
	case r == nil:
		return "-"
	case r.GetMissing():
		return "…"
	case r.GetNa():
		return "n/a"
	}
	s := fmt.Sprint(r.GetValue())
	if r.GetDeviates() {
		s += "*"
	}
	return s
}

func printResults(w io.Writer, resp *qav1.GetCalibrationResultsResponse) error {
	s, res := resp.GetSession(), resp.GetResults()
	var b strings.Builder
	fmt.Fprintf(&b, "calibration session %d: %s (%s, %d of %d items final)\n\n", s.GetId(), sanitize(s.GetName()),
		sanitize(s.GetStatus()), s.GetFinalised(), s.GetItems())
	a := res.GetAlpha()
	b.WriteString("Krippendorff's alpha\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "  OVER\tALPHA\tVERDICT\tPAIRABLE")
	for _, row := range []struct {
		name string
		a    *qav1.Alpha
	}{{"ratings (interval)", a.GetInterval()}, {"ratings (ordinal)", a.GetOrdinal()},
		{"critical flags (nominal)", a.GetFlagsNominal()}, {"scores (interval)", a.GetScoreInterval()}} {
		v := "-"
		if row.a.Value != nil {
			v = fmt.Sprintf("%.3f", row.a.GetValue())
		}
		_, _ = fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\n", row.name, v, row.a.GetVerdict(), row.a.GetPairable())
	}
	_ = tw.Flush()

	b.WriteString("\ninspectors\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "  INSPECTOR\tFINAL\tAGREEMENT\tBIAS\tBIAS %\tSCORE BIAS\tAGAINST")
	for _, r := range res.GetInspectors() {
		name := sanitize(r.GetInspectorId())
		if r.GetBenchmark() {
			name += " (benchmark)"
		}
		_, _ = fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\t%s\t%s\n", name, r.GetFinalised(), fmtOpt(r.MeanAgreement, "%.3f"),
			fmtOpt(r.Bias, "%+.2f"), fmtOpt(r.BiasPercent, "%+.1f"), fmtOpt(r.ScoreBias, "%+.1f"), r.GetReference())
	}
	_ = tw.Flush()

	b.WriteString("\nratings (* = 30% of the scale or more from the reference; … = not finalised)\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	header := "  CHAT\tDIMENSION\tMAX"
	for _, id := range s.GetInspectorIds() {
		header += "\t" + sanitize(id)
	}
	if s.GetBenchmarkId() != "" {
		header += "\tBENCHMARK"
	}
	_, _ = fmt.Fprintln(tw, header+"\tAGREEMENT")
	for _, u := range res.GetUnits() {
		line := fmt.Sprintf("  %s\t%s\t%d", sanitize(u.GetExternalId()), sanitize(u.GetDimension()), u.GetMax())
		var sum float64
		var n int
		for _, r := range u.GetRatings() {
			line += "\t" + ratingText(r)
			if r.Agreement != nil {
				sum += r.GetAgreement()
				n++
			}
		}
		if s.GetBenchmarkId() != "" {
			line += "\t" + ratingText(u.GetBenchmark())
		}
		agreement := "-"
		if n > 0 {
			agreement = fmt.Sprintf("%.2f", sum/float64(n))
		}
		_, _ = fmt.Fprintln(tw, line+"\t"+agreement)
	}
	_ = tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}
