package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newFeedbackShowCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Print a feedback record: score, grade, each dimension with its comment, strengths, suggestions and the chat",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`feedback list`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.feedback.GetFeedback(c.ctx, &qav1.GetFeedbackRequest{Id: id})
				if err != nil || opts.json {
					return resp, err
				}
				_, err = cmd.OutOrStdout().Write(formatFeedback(resp, c.location()))
				return nil, err
			})
		},
	}
}

// formatFeedback renders a record for the supervisor reading it: the
// scoring first, then the chat with the reviewed agent's messages marked.
func formatFeedback(resp *qav1.GetFeedbackResponse, loc *time.Location) []byte {
	rec, r := resp.GetRecord(), resp.GetRecord().GetReview()
	var b strings.Builder
	fmt.Fprintf(&b, "feedback %d: agent %s, week %s, review %d by %s, finalised %s\n", rec.GetId(), sanitize(rec.GetAgentId()),
		sanitize(rec.GetWeek()), r.GetId(), sanitize(r.GetInspectorId()), shortTime(r.GetFinalizedAt(), loc))
	if next := resp.GetSupersededById(); next != 0 {
		fmt.Fprintf(&b, "SUPERSEDED: a dispute replaced this record by feedback %d (`qactl feedback show %d`)\n", next, next)
	} else if r.GetStatus() == "retracted" {
		b.WriteString("SUPERSEDED: a dispute retracted this review\n")
	}
	if prev := rec.GetSupersedesId(); prev != 0 {
		fmt.Fprintf(&b, "replaces feedback %d after a dispute\n", prev)
	}
	fmt.Fprintf(&b, "score %s  grade %s", sanitize(rec.GetScoreText()), sanitize(rec.GetGrade()))
	if r.GetCritical() {
		b.WriteString("  (critical: a red line made it 0)")
	}
	if rec.GetCoachingRequired() {
		b.WriteString("  (coaching required)")
	}
	if rec.GetShareAsExample() {
		b.WriteString("  (worth sharing as an example)")
	}
	b.WriteByte('\n')
	if rec.GetAcknowledgedAt() != nil {
		fmt.Fprintf(&b, "acknowledged by %s at %s", sanitize(rec.GetAcknowledgedBy()), shortTime(rec.GetAcknowledgedAt(), loc))
		if note := rec.GetCoachingNote(); note != "" {
			fmt.Fprintf(&b, "; coaching note: %s", sanitize(note))
		}
		b.WriteByte('\n')
	}
	writeReviewBody(&b, r, nil)
	b.WriteByte('\n')
	fmt.Fprintf(&b, "the chat (* marks %s's messages, the part scored):\n", sanitize(rec.GetAgentId()))
	out := []byte(b.String())
	return append(out, formatTranscriptMarking(resp.GetTranscript(), loc, rec.GetAgentId())...)
}
