package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newFeedbackCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "feedback", Short: "Feedback records of your agents: list, show, watch, acknowledge (supervisor)"}
	cmd.AddCommand(newFeedbackListCommand(opts), newFeedbackWatchCommand(opts), newFeedbackAckCommand(opts), newFeedbackShowCommand(opts))
	return cmd
}

func newFeedbackListCommand(opts *globalOptions) *cobra.Command {
	var req qav1.ListFeedbackRequest
	var all bool
	cmd := &cobra.Command{
		Use:   "list [--unacked] [--agent A] [--week W] [--grade G] [--page-token T] [--limit N] [--all]",
		Short: "List feedback records in id order, one page or --all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			return opts.withConn(func(conn *grpc.ClientConn) error {
				client := qav1.NewFeedbackServiceClient(conn)
				var records []*qav1.FeedbackRecord
				var next string
				err := allPages(func(token string) (string, error) {
					if token != "" {
						req.PageToken = token
					}
					ctx, cancel := opts.unaryContext(cmd.Context()) // --timeout is per page
					resp, err := client.ListFeedback(ctx, &req)
					cancel()
					if err != nil {
						return "", err
					}
					if opts.json { // print each page as it comes
						if err := jsonLines(out, resp.GetRecords()); err != nil {
							return "", err
						}
					} else {
						records = append(records, resp.GetRecords()...)
					}
					if next = resp.GetNextPageToken(); !all {
						return "", nil
					}
					return next, nil
				})
				if err != nil || opts.json {
					return err
				}
				if err := printFeedbackTable(out, records, opts.connLocation(cmd, conn)); err != nil {
					return err
				}
				if next != "" && !all {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "more records: --page-token %s, or --all\n", next)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.BoolVar(&req.Unacknowledged, "unacked", false, "only records not acknowledged yet")
	f.StringVar(&req.AgentId, "agent", "", "only this agent's records")
	f.StringVar(&req.Week, "week", "", "only this ISO week, e.g. 2026-W47")
	f.StringVar(&req.Grade, "grade", "", "excellent, good, pass, needs_improvement or fail")
	pageFlags(f, &req.PageToken, &req.PageSize, &all, "records")
	f.Int64Var(&req.AfterId, "after", 0, "deprecated: use --page-token; start after this record id")
	f.StringVar(&req.SupervisorId, "supervisor", "", "admins: only this supervisor's records")
	return cmd
}

func printFeedbackTable(w io.Writer, records []*qav1.FeedbackRecord, loc *time.Location) error {
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "ID\tWEEK\tAGENT\tSCORE\tGRADE\tCOACHING\tACKED")
	for _, r := range records {
		acked := "no"
		if r.GetAcknowledgedAt() != nil {
			acked = shortTime(r.GetAcknowledgedAt(), loc)
		}
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), sanitize(r.GetWeek()), sanitize(r.GetAgentId()),
			sanitize(r.GetScoreText()), sanitize(r.GetGrade()), yesNo(r.GetCoachingRequired(), "yes", "-"), acked)
	}
	return tw.Flush()
}

// feedbackSummary is one line about a record for a person.
func feedbackSummary(r *qav1.FeedbackRecord, loc *time.Location) string {
	s := fmt.Sprintf("feedback %d: %s agent %s, score %s %s", r.GetId(), sanitize(r.GetWeek()), sanitize(r.GetAgentId()),
		sanitize(r.GetScoreText()), sanitize(r.GetGrade()))
	if r.GetCoachingRequired() {
		s += ", coaching required"
	}
	if r.GetShareAsExample() {
		s += ", worth sharing as an example"
	}
	if r.GetSupersedesId() != 0 {
		s += fmt.Sprintf(", supersedes %d after a dispute", r.GetSupersedesId())
	}
	s += fmt.Sprintf(" (review %d)", r.GetReview().GetId())
	if r.GetAcknowledgedAt() != nil {
		s += fmt.Sprintf("; acknowledged %s by %s", shortTime(r.GetAcknowledgedAt(), loc), sanitize(r.GetAcknowledgedBy()))
	}
	return s
}

// Reconnect pauses of `feedback watch`: the first, doubling up to the last.
var watchBackoffFirst, watchBackoffMax = 200 * time.Millisecond, 5 * time.Second

// watchCursorHeader is the WatchFeedback header with the id the stream
// starts after (server/feedback_service.go).
const watchCursorHeader = "x-feedback-after-id"

// resumeHint is the cursor a shutting-down server names in its status.
var resumeHint = regexp.MustCompile(`after_id=(\d+)`)

// feedbackWatch follows WatchFeedback across server restarts.
type feedbackWatch struct {
	client      qav1.FeedbackServiceClient
	req         *qav1.WatchFeedbackRequest // its cursor advances with each record
	asJSON      bool
	loc         *time.Location // of text output
	out, stderr io.Writer
}

// run prints records until ctx ends (nil) or the stream fails with anything
// other than UNAVAILABLE.
func (w *feedbackWatch) run(ctx context.Context) error {
	delay := watchBackoffFirst
	for {
		err := w.follow(ctx, &delay)
		if ctx.Err() != nil {
			return nil // Ctrl-C or SIGTERM
		}
		if !errors.Is(err, io.EOF) && status.Code(err) != codes.Unavailable {
			return err
		}
		if w.req.GetFromNow() {
			// Nothing received yet: resume where the server says it was.
			if m := resumeHint.FindStringSubmatch(status.Convert(err).Message()); m != nil {
				if id, perr := strconv.ParseInt(m[1], 10, 64); perr == nil {
					w.req.AfterId, w.req.FromNow = id, false
				}
			}
		}
		from := "only new records"
		if !w.req.GetFromNow() {
			from = fmt.Sprintf("after id %d", w.req.GetAfterId())
		}
		reason := "the server ended the stream"
		if !errors.Is(err, io.EOF) {
			reason = "UNAVAILABLE: " + status.Convert(err).Message()
		}
		_, _ = fmt.Fprintf(w.stderr, "qactl: feedback stream interrupted (%s); reconnecting in %s, %s\n", sanitize(reason), delay, from)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, watchBackoffMax)
	}
}

// follow opens one stream and prints its records; it returns the error
// that ended it.
func (w *feedbackWatch) follow(ctx context.Context, delay *time.Duration) error {
	stream, err := w.client.WatchFeedback(ctx, w.req)
	if err != nil {
		return err
	}
	if md, _ := stream.Header(); md != nil {
		*delay = watchBackoffFirst // connected: the next outage starts over
		// "From now" is fixed once connected: a reconnect resumes from the
		// cursor the server started at, not from a later now.
		if v := md.Get(watchCursorHeader); len(v) == 1 && w.req.GetFromNow() {
			if id, err := strconv.ParseInt(v[0], 10, 64); err == nil && id >= 0 {
				w.req.AfterId, w.req.FromNow = id, false
			}
		}
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		r := resp.GetRecord()
		if w.asJSON {
			err = jsonLine(w.out, r)
		} else {
			_, err = fmt.Fprintln(w.out, feedbackSummary(r, w.loc))
		}
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		w.req.AfterId, w.req.FromNow = r.GetId(), false
	}
}

func newFeedbackWatchCommand(opts *globalOptions) *cobra.Command {
	req := &qav1.WatchFeedbackRequest{}
	cmd := &cobra.Command{
		Use:   "watch [--after ID] [--agent A]",
		Short: "Print feedback records as they are written, until Ctrl-C",
		Long: "Without --after only records written from now on are printed; with it, every\n" +
			"record after that id first. If the server goes away (UNAVAILABLE), watch reconnects\n" +
			"with backoff and resumes after the last record it printed, so none is missed;\n" +
			"a record may rarely be printed twice. --timeout does not apply to the stream.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.FromNow = !cmd.Flags().Changed("after")
			return opts.withConn(func(conn *grpc.ClientConn) error {
				w := &feedbackWatch{client: qav1.NewFeedbackServiceClient(conn), req: req, asJSON: opts.json,
					loc: time.UTC, out: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr()}
				if !opts.json {
					w.loc = opts.connLocation(cmd, conn)
				}
				// The stream has no deadline: it ends with the command's context.
				return w.run(cmd.Context())
			})
		},
	}
	cmd.Flags().Int64Var(&req.AfterId, "after", 0, "send every record after this id first (0: all of them)")
	cmd.Flags().StringVar(&req.AgentId, "agent", "", "only this agent's records")
	cmd.Flags().StringVar(&req.SupervisorId, "supervisor", "", "admins: only this supervisor's records")
	return cmd
}

func newFeedbackAckCommand(opts *globalOptions) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "ack ID [--note TEXT]",
		Short: "Acknowledge a feedback record, with an optional coaching note",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`feedback list`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.feedback.AcknowledgeFeedback(c.ctx, &qav1.AcknowledgeFeedbackRequest{Id: id, Note: note})
				if err != nil || opts.json {
					return resp.GetRecord(), err
				}
				r := resp.GetRecord()
				text := feedbackSummary(r, c.location()) + "\n"
				if r.GetCoachingNote() != "" {
					text += "coaching note: " + sanitize(r.GetCoachingNote()) + "\n"
				}
				_, err = io.WriteString(cmd.OutOrStdout(), text)
				return nil, err
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "coaching note; replaces an earlier one")
	return cmd
}
