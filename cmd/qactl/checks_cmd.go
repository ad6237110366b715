package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newChecksCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "Read and change the automatic checks' phrase lists and SLAs (admin)",
		Long: "The check set is JSON with the API's field names, e.g.\n" +
			`  {"sla": [{"channel": "chat", "first_response_seconds": 30, "reply_seconds": 60},` + "\n" +
			`           {"channel": "email", "first_response_seconds": 86400, "reply_seconds": 86400}],` + "\n" +
			`   "greeting_phrases": ["您好", "我是客服"], "closing_phrases": ["祝您购物愉快", "随时联系我们"],` + "\n" +
			`   "forbidden_phrases": ["爱买不买", "你自己看", "保证"], "allowed_phrases": ["保证金"],` + "\n" +
			`   "empathy_phrases": ["抱歉", "理解您的心情"], "complaint_tags": ["complaint", "投诉"],` + "\n" +
			`   "disabled": ["no_closing"]}` + "\n" +
			"Phrases match ignoring simplified/traditional characters, full/half width and case. Checks run\n" +
			"on every pushed chat under the newest version; `checks get` prints it (the defaults until one\n" +
			"is stored; as JSON with --json, a file `checks set --file F` takes back).",
	}
	var version int64
	get := &cobra.Command{
		Use:   "get",
		Short: "Print the newest check set, or --version N",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := qav1.NewCheckServiceClient(c.conn).GetCheckSet(c.ctx, &qav1.GetCheckSetRequest{Version: version})
				if err != nil || opts.json {
					return resp.GetCheckSet(), err
				}
				return nil, printCheckSet(cmd.OutOrStdout(), resp.GetCheckSet(), c.location())
			})
		},
	}
	get.Flags().Int64Var(&version, "version", 0, "a stored version; 0 for the newest")
	var file string
	var dryRun bool
	set := &cobra.Command{
		Use:   "set --file checks.json",
		Short: "Validate a check set and store it as a new version (--dry-run: validate only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s qav1.CheckSet
			if err := readProtoJSON(cmd, file, &s); err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				client := qav1.NewCheckServiceClient(c.conn)
				if dryRun {
					resp, err := client.ValidateCheckSet(c.ctx, &qav1.ValidateCheckSetRequest{CheckSet: &s})
					if err != nil || opts.json {
						return resp, err
					}
					_, err = fmt.Fprintln(cmd.OutOrStdout(), "valid")
					return nil, err
				}
				resp, err := client.UpdateCheckSet(c.ctx, &qav1.UpdateCheckSetRequest{CheckSet: &s})
				if err != nil || opts.json {
					return resp.GetCheckSet(), err
				}
				return nil, printCheckSet(cmd.OutOrStdout(), resp.GetCheckSet(), c.location())
			})
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "check set JSON file, - for standard input")
	set.Flags().BoolVar(&dryRun, "dry-run", false, "only validate")
	_ = set.MarkFlagRequired("file")
	cmd.AddCommand(get, set)
	cmd.AddCommand(checkStatsCommands(opts)...)
	return cmd
}

// printCheckSet prints one field a line, lists comma-separated.
func printCheckSet(w io.Writer, s *qav1.CheckSet, loc *time.Location) error {
	t := newTable(w)
	line := func(name, value string) { _, _ = fmt.Fprintf(t, "%s:\t%s\n", name, value) }
	list := func(values []string) string {
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = policyValue(v)
		}
		return strings.Join(out, ", ")
	}
	line("version", strconv.FormatInt(s.GetVersion(), 10))
	for _, c := range s.GetSla() {
		line("sla["+policyValue(c.GetChannel())+"]", fmt.Sprintf("first response %s, reply %s",
			slaText(c.GetFirstResponseSeconds()), slaText(c.GetReplySeconds())))
	}
	line("greeting_phrases", list(s.GetGreetingPhrases()))
	line("closing_phrases", list(s.GetClosingPhrases()))
	line("forbidden_phrases", list(s.GetForbiddenPhrases()))
	line("allowed_phrases", list(s.GetAllowedPhrases()))
	line("empathy_phrases", list(s.GetEmpathyPhrases()))
	line("complaint_tags", list(s.GetComplaintTags()))
	line("disabled", list(s.GetDisabled()))
	for _, k := range slices.Sorted(maps.Keys(s.GetDimensions())) {
		line("dimensions["+k+"]", policyValue(s.GetDimensions()[k]))
	}
	line("created_by", sanitize(s.GetCreatedBy()))
	line("created_at", formatTimestamp(s.GetCreatedAt(), loc))
	return t.Flush()
}

func slaText(seconds int64) string {
	if seconds == 0 {
		return "unchecked"
	}
	return (time.Duration(seconds) * time.Second).String()
}

// formatHints lists a transcript's check hits under the messages, each
// with the number (from 1) and author of the message it points to.
func formatHints(hints []*qav1.CheckHit, t *qav1.Transcript, loc *time.Location) []byte {
	if len(hints) == 0 {
		return nil
	}
	out := []byte("\nhints (automatic checks; not scores):\n")
	startDay := ""
	if t.GetStartedAt() != nil {
		startDay = t.GetStartedAt().AsTime().In(loc).Format(time.DateOnly)
	}
	for _, h := range hints {
		where := fmt.Sprintf("message %d", h.GetMessageIndex()+1)
		if i := int(h.GetMessageIndex()); i >= 0 && i < len(t.GetMessages()) {
			m := t.GetMessages()[i]
			where += fmt.Sprintf(" [%s %s]", messageTime(m.GetSentAt(), loc, startDay), roleName(m.GetRole()))
		}
		out = fmt.Appendf(out, "  %s  %s%s\n", where, sanitize(h.GetCheck()), hintDetail(h))
	}
	return out
}

// hintDetail says what a hit found: the text as written and the phrase
// it matched, or the wait against its limit.
func hintDetail(h *qav1.CheckHit) string {
	switch {
	case h.GetMatched() != "" && h.GetPhrase() != "" && h.GetMatched() != h.GetPhrase():
		return fmt.Sprintf(": %s (%s)", sanitize(h.GetMatched()), sanitize(h.GetPhrase()))
	case h.GetMatched() != "":
		return ": " + sanitize(h.GetMatched())
	case h.GetLimitMs() > 0:
		return fmt.Sprintf(": waited %s, limit %s", (time.Duration(h.GetWaitMs()) * time.Millisecond).Round(time.Second),
			time.Duration(h.GetLimitMs())*time.Millisecond)
	}
	return ""
}
