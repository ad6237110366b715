package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
)

func newAuditCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit trail (admin)"}
	var req qav1.ListAuditEventsRequest
	var since, until string
	var all bool
	list := &cobra.Command{
		Use:   "list [--entity E] [--entity-id ID] [--actor A] [--action A] [--since T] [--until T] [--page-token T] [--limit N] [--all]",
		Short: "List audit events in id order, one page or --all",
		Long: `List audit events in id order, one page or --all.

Text output is a table: time, actor, action, entity/id and the detail cut
to one short line; --json prints each event whole, one object a line.
--since and --until take RFC 3339 (2026-11-23T09:00:00+08:00) or a date
(2026-11-23: its midnight in the programme's time zone, the one the table
shows times in); --since is inclusive, --until exclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Checked before connecting: bad usage asks the server nothing.
			sinceAt, err := timeFlag("since", since)
			if err != nil {
				return usageError{err: err, command: cmd.CommandPath()}
			}
			untilAt, err := timeFlag("until", until)
			if err != nil {
				return usageError{err: err, command: cmd.CommandPath()}
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				// A date is cut in the zone the table shows times in; --json
				// asks for it only then.
				loc := time.UTC
				if !opts.json || sinceAt.date || untilAt.date {
					loc = c.location()
				}
				req.Since, req.Until = sinceAt.in(loc), untilAt.in(loc)
				events, next, err := listPages(req.GetPageToken(), all, func(token string) ([]*qav1.AuditEvent, string, error) {
					req.PageToken = token
					resp, err := c.audit.ListAuditEvents(c.ctx, &req)
					return resp.GetEvents(), resp.GetNextPageToken(), err
				})
				if err != nil {
					return nil, err
				}
				if err := printAuditEvents(cmd.OutOrStdout(), events, opts.json, loc); err != nil {
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
	f.StringVar(&req.Entity, "entity", "", "rubric, policy, run, inspector, token, pick, review, feedback or dispute")
	f.StringVar(&req.EntityId, "entity-id", "", "one entity's events (with --entity)")
	f.StringVar(&req.Actor, "actor", "", "only events of this actor (a token subject, schedule, qad:USER)")
	f.StringVar(&req.Action, "action", "", "only events of this action, e.g. policy.create, token.revoke")
	f.StringVar(&since, "since", "", "only events at or after this time")
	f.StringVar(&until, "until", "", "only events before this time")
	pageFlags(f, &req.PageToken, &req.PageSize, &all, "events")
	f.Int64Var(&req.AfterId, "after", 0, "deprecated: use --page-token; start after this event id")
	cmd.AddCommand(list)
	return cmd
}

// timeBound is a --since or --until: an instant, or a date whose
// midnight depends on the zone; neither when unset.
type timeBound struct {
	at   time.Time
	date bool
}

// timeFlag parses a time flag: RFC 3339 or a date; "" is no time.
func timeFlag(name, s string) (timeBound, error) {
	if s == "" {
		return timeBound{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return timeBound{at: t}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return timeBound{at: t, date: true}, nil
	}
	return timeBound{}, fmt.Errorf("--%s: %s is neither RFC 3339 (2026-11-23T09:00:00+08:00) nor a date (2026-11-23)", name, fielderr.Quote(s))
}

// in is the bound as a timestamp, a date at its midnight in loc; nil when
// unset.
func (b timeBound) in(loc *time.Location) *timestamppb.Timestamp {
	switch {
	case b.at.IsZero():
		return nil
	case b.date:
		y, m, d := b.at.Date()
		return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, loc))
	}
	return timestamppb.New(b.at)
}

func printAuditEvents(w io.Writer, events []*qav1.AuditEvent, asJSON bool, loc *time.Location) error {
	if asJSON {
		return jsonLines(w, events)
	}
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tENTITY\tDETAIL")
	for _, e := range events {
		_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s/%s\t%s\n", e.GetId(), formatTimestamp(e.GetAt(), loc), sanitize(e.GetActor()),
			sanitize(e.GetAction()), sanitize(e.GetEntity()), sanitize(e.GetEntityId()), compactDetail(e.GetDetail(), detailWidth))
	}
	return tw.Flush()
}

// detailWidth is how many characters of an event's detail the table
// shows; --json has it whole.
const detailWidth = 120

// compactDetail shows a JSON object detail on one line as key=value
// pairs in the stored order, strings bare unless they hold a space, a
// control character, an = or a quote, other values as compact JSON, cut to width characters.
// Anything else is shown as it is, cut likewise.
func compactDetail(detail string, width int) string {
	out, ok := keyValues(detail)
	if !ok {
		var b bytes.Buffer
		if json.Compact(&b, []byte(detail)) == nil {
			out = b.String()
		} else {
			out = detail
		}
	}
	out = sanitize(out)
	if utf8.RuneCountInString(out) <= width {
		return out
	}
	return string([]rune(out)[:width-1]) + "…"
}

// keyValues renders a JSON object as key=value pairs; ok is false when
// detail is not one.
func keyValues(detail string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(detail))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	var pairs []string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return "", false
		}
		pairs = append(pairs, fmt.Sprintf("%s=%s", key, compactValue(value)))
	}
	if len(pairs) == 0 {
		return "-", true
	}
	return strings.Join(pairs, " "), true
}

func needsQuotes(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || r == '=' || r == '"'
}

func compactValue(value json.RawMessage) string {
	var s string
	if json.Unmarshal(value, &s) == nil && s != "" && !strings.ContainsFunc(s, needsQuotes) {
		return s
	}
	var b bytes.Buffer
	if err := json.Compact(&b, value); err != nil {
		return string(value)
	}
	return b.String()
}
