package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

func newTranscriptCommand(opts *globalOptions) *cobra.Command {
	transcript := &cobra.Command{
		Use:   "transcript",
		Short: "Read stored transcripts",
	}
	get := &cobra.Command{
		Use:   "get EXTERNAL_ID",
		Short: "Print a stored transcript with its derived metrics",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			conn, err := opts.dial()
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close() }()
			ctx, cancel := opts.unaryContext(cmd.Context())
			defer cancel()
			resp, err := qav1.NewIngestServiceClient(conn).GetTranscript(ctx, &qav1.GetTranscriptRequest{ExternalId: args[0]})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if opts.json {
				data, err := transcriptWithHintsJSON(resp)
				if err != nil {
					return err
				}
				_, err = out.Write(append(data, '\n'))
				return err
			}
			loc := displayLocation(ctx, conn)
			_, err = out.Write(append(formatTranscript(resp.GetTranscript(), loc), formatHints(resp.GetHints(), resp.GetTranscript(), loc)...))
			return err
		},
	}
	transcript.AddCommand(get)
	return transcript
}

// transcriptWithHintsJSON is the transcript as the API writes it, with its check
// hits added as "hints" (absent when none): the transcript's fields stay
// at the top level, as before hints existed.
func transcriptWithHintsJSON(resp *qav1.GetTranscriptResponse) ([]byte, error) {
	mo := protojson.MarshalOptions{UseProtoNames: true}
	data, err := mo.Marshal(resp.GetTranscript())
	if err != nil || len(resp.GetHints()) == 0 {
		return data, err
	}
	hints := make([]json.RawMessage, len(resp.GetHints()))
	for i, h := range resp.GetHints() {
		if hints[i], err = mo.Marshal(h); err != nil {
			return nil, err
		}
	}
	list, err := json.Marshal(hints)
	if err != nil {
		return nil, err
	}
	obj := bytes.TrimRight(data, " \n")
	obj = obj[:len(obj)-1] // the closing brace
	if len(bytes.TrimSpace(obj)) > 1 {
		obj = append(obj, ',')
	}
	return append(append(append(obj, `"hints":`...), list...), '}'), nil
}

// formatTranscript renders t for a person: header, derived metrics, then
// one line per message. Times are shown in loc.
func formatTranscript(t *qav1.Transcript, loc *time.Location) []byte {
	return formatTranscriptMarking(t, loc, "")
}

// formatTranscriptMarking is formatTranscript with the messages of agent
// mark starred (and the others indented to match), "" for none.
func formatTranscriptMarking(t *qav1.Transcript, loc *time.Location, mark string) []byte {
	var out []byte
	field := func(name, value string) {
		if value != "" {
			out = fmt.Appendf(out, "%-15s %s\n", name+":", sanitize(value))
		}
	}
	field("external_id", t.GetExternalId())
	field("agent_id", t.GetAgentId())
	field("channel", t.GetChannel())
	customer := t.GetCustomerId()
	if tier := t.GetCustomerTier(); tier != "" {
		customer += " (" + tier + ")"
	}
	field("customer", customer)
	field("started_at", formatTimestamp(t.GetStartedAt(), loc))
	field("ended_at", formatTimestamp(t.GetEndedAt(), loc))
	field("tags", strings.Join(t.GetTags(), ", "))
	csat := "none"
	if t.Csat != nil {
		csat = fmt.Sprint(t.GetCsat())
	}
	field("csat", csat)
	field("transfers", fmt.Sprint(t.GetTransferCount()))
	if removed := t.GetContentRemovedAt(); removed != nil {
		field("content", "removed by retention at "+formatTimestamp(removed, loc)+" (messages, attributes and customer id)")
	}
	if attrs := t.GetAttributes(); len(attrs) > 0 {
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + "=" + attrs[k]
		}
		field("attributes", strings.Join(pairs, ", "))
	}
	if t.GetRevision() > 0 {
		sampled := ""
		if t.GetSampled() {
			sampled = ", sampled"
		}
		field("revision", fmt.Sprintf("%d%s", t.GetRevision(), sampled))
	}
	field("ingested_at", formatTimestamp(t.GetIngestedAt(), loc))
	field("updated_at", formatTimestamp(t.GetUpdatedAt(), loc))

	if m := t.GetMetrics(); m != nil {
		out = append(out, '\n')
		field("messages", fmt.Sprintf("%d (agent %d, customer %d, bot %d, system %d)",
			m.GetMessageCount(), m.GetAgentMessageCount(), m.GetCustomerMessageCount(), m.GetBotMessageCount(), m.GetSystemMessageCount()))
		field("first response", formatDuration(m.GetFirstResponseTime()))
		if m.GetMeanAgentResponseTime() != nil {
			replies := "replies"
			if m.GetAgentReplyCount() == 1 {
				replies = "reply"
			}
			field("mean response", fmt.Sprintf("%s over %d %s", formatDuration(m.GetMeanAgentResponseTime()), m.GetAgentReplyCount(), replies))
		} else {
			field("mean response", "none")
		}
		field("handle time", formatDuration(m.GetHandleTime()))
	}

	if len(t.GetMessages()) > 0 {
		out = append(out, '\n')
	}
	startDay := ""
	if t.GetStartedAt() != nil {
		startDay = t.GetStartedAt().AsTime().In(loc).Format(time.DateOnly)
	}
	// Messages are numbered from 1, as the hints ("message 4") and the
	// console number them.
	width := len(strconv.Itoa(len(t.GetMessages())))
	for i, m := range t.GetMessages() {
		author, prefix := roleName(m.GetRole()), ""
		if mark != "" {
			prefix = "  "
		}
		if m.GetRole() == qav1.Role_ROLE_AGENT {
			id := m.GetAgentId()
			if id == "" {
				id = t.GetAgentId()
			}
			author += "(" + sanitize(id) + ")"
			if mark != "" && id == mark {
				prefix = "* "
			}
		}
		out = fmt.Appendf(out, "%*d %s[%s] %s: %s\n", width, i+1, prefix, messageTime(m.GetSentAt(), loc, startDay), author, sanitize(m.GetText()))
	}
	return out
}

// messageTime shows only the clock when the message is on the day the
// conversation started, which is nearly always.
func messageTime(ts *timestamppb.Timestamp, loc *time.Location, startDay string) string {
	if ts == nil {
		return "--:--:--"
	}
	tm := ts.AsTime().In(loc)
	if tm.Format(time.DateOnly) == startDay {
		return tm.Format(time.TimeOnly)
	}
	return tm.Format(time.DateTime)
}

func formatDuration(d *durationpb.Duration) string {
	if d == nil {
		return "none"
	}
	return d.AsDuration().Round(time.Second).String()
}

func roleName(r qav1.Role) string {
	switch r {
	case qav1.Role_ROLE_AGENT:
		return "agent"
	case qav1.Role_ROLE_CUSTOMER:
		return "customer"
	case qav1.Role_ROLE_BOT:
		return "bot"
	case qav1.Role_ROLE_SYSTEM:
		return "system"
	}
	return "unknown"
}
