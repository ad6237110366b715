package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
)

func newReviewShowCommand(opts *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Print an item to score (transcript, metrics, rubric, your draft, any dispute), or a reviewed one read-only",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`review queue`")
			if err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.review.OpenItem(c.ctx, &qav1.OpenItemRequest{Id: id})
				if err != nil || opts.json {
					return resp, err
				}
				_, err = cmd.OutOrStdout().Write(formatOpenItem(resp, c.location()))
				return nil, err
			})
		},
	}
}

// formatOpenItem renders an item for the inspector scoring it.
func formatOpenItem(resp *qav1.OpenItemResponse, loc *time.Location) []byte {
	item := resp.GetItem()
	week := resp.GetDraft().GetWeek()
	if week == "" {
		week = resp.GetDisputedReview().GetWeek()
	}
	if week == "" {
		week = resp.GetReview().GetWeek()
	}
	out := fmt.Appendf(nil, "item %d: agent %s", item.GetId(), sanitize(item.GetAgentId()))
	if item.GetKind() == "calibration" {
		out = fmt.Appendf(nil, "item %d: calibration session %d (blind: the agent is hidden)", item.GetId(), item.GetSessionId())
	}
	if week != "" {
		out = fmt.Appendf(out, ", week %s", sanitize(week))
	}
	out = fmt.Appendf(out, ", reason %s, status %s\n\n", sanitize(item.GetReason()), sanitize(item.GetStatus()))
	out = append(out, formatTranscript(resp.GetTranscript(), loc)...)
	out = append(out, formatHints(resp.GetHints(), resp.GetTranscript(), loc)...)

	var b strings.Builder
	b.WriteByte('\n')
	writeRubric(&b, resp.GetRubric())
	if d := resp.GetDispute(); d != nil {
		fmt.Fprintf(&b, "\ndispute %d (%s) opened by %s at %s: %s\n", d.GetId(), sanitize(d.GetStatus()),
			sanitize(d.GetOpenedBy()), shortTime(d.GetOpenedAt(), loc), sanitize(d.GetReason()))
		if r := resp.GetDisputedReview(); r != nil {
			fmt.Fprintf(&b, "contested review %d by %s: score %s  grade %s\n", r.GetId(), sanitize(r.GetInspectorId()),
				sanitize(r.GetScoreText()), sanitize(r.GetGrade()))
			writeReviewBody(&b, r, nil)
		}
	}
	b.WriteByte('\n')
	if r := resp.GetReview(); r != nil {
		fmt.Fprintf(&b, "final review %d (read-only), finalised %s: score %s  grade %s\n", r.GetId(),
			shortTime(r.GetFinalizedAt(), loc), sanitize(r.GetScoreText()), sanitize(r.GetGrade()))
		writeReviewBody(&b, r, resp.GetRubric())
	} else if draft := resp.GetDraft(); draft != nil {
		fmt.Fprintf(&b, "your draft (review %d, saved %s):\n", draft.GetId(), shortTime(draft.GetUpdatedAt(), loc))
		writeReviewBody(&b, draft, resp.GetRubric())
	} else {
		b.WriteString("no draft yet: rate with `qactl review submit ID --rating KEY=N|na ...`\n")
	}
	return append(out, b.String()...)
}

// writeReviewBody prints a review's ratings table, flags and texts. With a
// rubric it also names the dimensions left unrated.
func writeReviewBody(w io.Writer, r *qav1.Review, rubric *qav1.Rubric) {
	final := r.GetStatus() != "draft"
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "  DIMENSION\tRATING\tPERCENT\tMARKS\tCOMMENT")
	for _, d := range r.GetRatings() {
		rating, percent := "n/a", ""
		if !d.GetNa() {
			maxValue := d.GetMax()
			if maxValue == 0 {
				maxValue = dimensionMax(rubric, d.GetKey())
			}
			rating = fmt.Sprintf("%d/%d", d.GetValue(), maxValue)
			if final {
				percent = fmt.Sprintf("%.0f%%", d.GetPercent())
			}
		}
		var marks []string
		if d.GetFailing() {
			marks = append(marks, "failing")
		}
		if d.GetCritical() {
			marks = append(marks, "CRITICAL")
		}
		_, _ = fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", sanitize(d.GetKey()), rating, percent, strings.Join(marks, ","), sanitize(d.GetComment()))
	}
	_ = tw.Flush()
	list := func(label string, items []string) {
		if len(items) > 0 {
			clean := make([]string, len(items))
			for i, s := range items {
				clean[i] = sanitize(s)
			}
			_, _ = fmt.Fprintf(w, "  %s: %s\n", label, strings.Join(clean, "; "))
		}
	}
	list("critical flags", r.GetFlags())
	if r.GetComment() != "" {
		list("comment", []string{r.GetComment()})
	}
	list("strengths", r.GetStrengths())
	list("suggestions", r.GetSuggestions())
	if rubric != nil && !final {
		if missing := unrated(r, rubric); len(missing) > 0 {
			_, _ = fmt.Fprintf(w, "  unrated: %s\n", sanitize(strings.Join(missing, ", ")))
		} else {
			_, _ = fmt.Fprintln(w, "  every dimension is rated")
		}
	}
}

func dimensionMax(rubric *qav1.Rubric, key string) int32 {
	for _, d := range rubric.GetDimensions() {
		if d.GetKey() == key {
			return d.GetMax()
		}
	}
	return 0
}

// unrated lists the rubric's dimensions the review neither rates nor marks N/A.
func unrated(r *qav1.Review, rubric *qav1.Rubric) []string {
	var missing []string
	for _, d := range rubric.GetDimensions() {
		if !slices.ContainsFunc(r.GetRatings(), func(x *qav1.DimensionRating) bool { return x.GetKey() == d.GetKey() }) {
			missing = append(missing, d.GetKey())
		}
	}
	return missing
}

// reviewEdit is what the flags of `review submit` change in the saved draft.
type reviewEdit struct {
	ratings        []*qav1.DimensionRating // key, value and na only
	ratingComments []keyText
	flags          []string
	clearFlags     bool
	comment        *string // nil: keep the draft's
	strengths      []string
	suggestions    []string
}

type keyText struct{ key, text string }

// splitList splits repeated flag values that may also be comma-separated.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// parseRatings reads --rating values: KEY=N or KEY=na, repeated or
// comma-separated.
func parseRatings(values []string) ([]*qav1.DimensionRating, error) {
	var out []*qav1.DimensionRating
	seen := map[string]bool{}
	for _, item := range splitList(values) {
		key, value, ok := strings.Cut(item, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" || value == "" {
			return nil, fmt.Errorf("--rating %s: want KEY=N or KEY=na, e.g. attitude=4", fielderr.Quote(item))
		}
		if seen[key] {
			return nil, fmt.Errorf("--rating: dimension %s is rated twice", fielderr.Quote(key))
		}
		seen[key] = true
		if strings.EqualFold(value, "na") || strings.EqualFold(value, "n/a") {
			out = append(out, &qav1.DimensionRating{Key: key, Na: true})
			continue
		}
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--rating %s=%s: the rating must be a whole number 0..max or na", key, value)
		}
		out = append(out, &qav1.DimensionRating{Key: key, Value: int32(n)})
	}
	return out, nil
}

// parseRatingComments reads --rating-comment values: KEY=TEXT, each whole
// (the text may contain commas).
func parseRatingComments(values []string) ([]keyText, error) {
	var out []keyText
	for _, v := range values {
		key, text, ok := strings.Cut(v, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("--rating-comment %s: want KEY=TEXT", fielderr.Quote(v))
		}
		if slices.ContainsFunc(out, func(c keyText) bool { return c.key == key }) {
			return nil, fmt.Errorf("--rating-comment: dimension %s has two comments", fielderr.Quote(key))
		}
		out = append(out, keyText{key, strings.TrimSpace(text)})
	}
	return out, nil
}

// checkEdit rejects ratings and flags the rubric does not have, naming the
// command-line flag at fault.
func checkEdit(e reviewEdit, rubric *qav1.Rubric) error {
	if rubric == nil {
		return nil
	}
	dims := map[string]*qav1.Dimension{}
	var keys []string
	for _, d := range rubric.GetDimensions() {
		dims[d.GetKey()] = d
		keys = append(keys, d.GetKey())
	}
	for _, r := range e.ratings {
		d, ok := dims[r.GetKey()]
		switch {
		case !ok:
			return fmt.Errorf("--rating %s: rubric version %d has no such dimension; it has %s", r.GetKey(), rubric.GetVersion(), strings.Join(keys, ", "))
		case r.GetNa() && !d.GetAllowNa():
			return fmt.Errorf("--rating %s=na: this dimension may not be marked N/A", r.GetKey())
		case !r.GetNa() && d.GetMax() > 0 && r.GetValue() > d.GetMax():
			return fmt.Errorf("--rating %s=%d: the scale is 0..%d", r.GetKey(), r.GetValue(), d.GetMax())
		}
	}
	for _, c := range e.ratingComments {
		if _, ok := dims[c.key]; !ok {
			return fmt.Errorf("--rating-comment %s: rubric version %d has no such dimension; it has %s", c.key, rubric.GetVersion(), strings.Join(keys, ", "))
		}
	}
	var flagKeys []string
	for _, f := range rubric.GetFlags() {
		flagKeys = append(flagKeys, f.GetKey())
	}
	for _, f := range e.flags {
		if !slices.Contains(flagKeys, f) {
			return fmt.Errorf("--flag %s: rubric version %d has no such critical flag; it has %s", f, rubric.GetVersion(), strings.Join(flagKeys, ", "))
		}
	}
	return nil
}

// mergeDraft applies e to the saved draft (nil if none) and returns the
// whole review to submit: a --rating replaces its dimension's rating (the
// dimension's comment stays unless --rating-comment gives one), --flag
// adds, --comment replaces, --strength and --suggestion append.
func mergeDraft(itemID int64, draft *qav1.Review, e reviewEdit) (*qav1.SubmitReviewRequest, error) {
	req := &qav1.SubmitReviewRequest{
		ItemId:      itemID,
		Comment:     draft.GetComment(),
		Strengths:   slices.Clone(draft.GetStrengths()),
		Suggestions: slices.Clone(draft.GetSuggestions()),
	}
	for _, r := range draft.GetRatings() {
		req.Ratings = append(req.Ratings, &qav1.DimensionRating{Key: r.GetKey(), Value: r.GetValue(), Na: r.GetNa(), Comment: r.GetComment()})
	}
	find := func(key string) *qav1.DimensionRating {
		i := slices.IndexFunc(req.Ratings, func(r *qav1.DimensionRating) bool { return r.GetKey() == key })
		if i < 0 {
			return nil
		}
		return req.Ratings[i]
	}
	for _, r := range e.ratings {
		if old := find(r.GetKey()); old != nil {
			old.Value, old.Na = r.GetValue(), r.GetNa()
		} else {
			req.Ratings = append(req.Ratings, &qav1.DimensionRating{Key: r.GetKey(), Value: r.GetValue(), Na: r.GetNa()})
		}
	}
	for _, c := range e.ratingComments {
		r := find(c.key)
		if r == nil {
			return nil, fmt.Errorf("--rating-comment %s: the dimension is not rated; add --rating %s=N or %s=na", c.key, c.key, c.key)
		}
		r.Comment = c.text
	}
	if !e.clearFlags {
		req.Flags = slices.Clone(draft.GetFlags())
	}
	for _, f := range e.flags {
		if !slices.Contains(req.Flags, f) {
			req.Flags = append(req.Flags, f)
		}
	}
	if e.comment != nil {
		req.Comment = *e.comment
	}
	req.Strengths = append(req.Strengths, e.strengths...)
	req.Suggestions = append(req.Suggestions, e.suggestions...)
	return req, nil
}

func newReviewSubmitCommand(opts *globalOptions) *cobra.Command {
	var ratings, ratingComments, flags, strengths, suggestions []string
	var comment string
	var clearFlags, final bool
	cmd := &cobra.Command{
		Use:   "submit ID --rating KEY=N|na ... [--flag KEY] [--comment TEXT] [--final]",
		Short: "Save your review of an item as a draft, merged with what you saved before, or finalise it",
		Long: "Each submit starts from your saved draft and changes only what the flags say:\n" +
			"--rating KEY=N|na replaces that dimension's rating (repeat it or separate with commas,\n" +
			"e.g. --rating attitude=4,knowledge=na); --rating-comment KEY=TEXT sets the dimension's\n" +
			"comment (kept otherwise); --flag KEY adds a critical flag (--clear-flags drops the saved\n" +
			"ones first); --comment replaces the overall comment; --strength and --suggestion append.\n" +
			"With --final the review is scored and sent to the agent's supervisor; it cannot be\n" +
			"changed afterwards. Without it the draft is saved unscored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(cmd, args[0], "`review queue`")
			if err != nil {
				return err
			}
			usage := func(err error) error { return usageError{err: err, command: cmd.CommandPath()} }
			edit := reviewEdit{flags: splitList(flags), clearFlags: clearFlags, strengths: strengths, suggestions: suggestions}
			if edit.ratings, err = parseRatings(ratings); err != nil {
				return usage(err)
			}
			if edit.ratingComments, err = parseRatingComments(ratingComments); err != nil {
				return usage(err)
			}
			if cmd.Flags().Changed("comment") {
				edit.comment = &comment
			}
			return opts.withConn(func(conn *grpc.ClientConn) error {
				client := qav1.NewReviewServiceClient(conn)
				ctx, cancel := opts.unaryContext(cmd.Context())
				opened, err := client.OpenItem(ctx, &qav1.OpenItemRequest{Id: id})
				cancel()
				if err != nil {
					return err
				}
				if err := checkEdit(edit, opened.GetRubric()); err != nil {
					return usage(err)
				}
				req, err := mergeDraft(id, opened.GetDraft(), edit)
				if err != nil {
					return usage(err)
				}
				req.Final = final
				ctx, cancel = opts.unaryContext(cmd.Context())
				defer cancel()
				resp, err := client.SubmitReview(ctx, req)
				if err != nil {
					return err
				}
				if opts.json {
					return jsonLine(cmd.OutOrStdout(), resp.GetReview())
				}
				_, err = io.WriteString(cmd.OutOrStdout(), formatSubmitted(resp, opened.GetRubric()))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&ratings, "rating", nil, "rate a dimension as `KEY=N|na` (N in 0..max, na for N/A); repeatable, or comma-separated")
	f.StringArrayVar(&ratingComments, "rating-comment", nil, "comment on one rated dimension as `KEY=TEXT`; repeatable")
	f.StringArrayVar(&flags, "flag", nil, "raise the critical flag (红线) `KEY`; repeatable")
	f.BoolVar(&clearFlags, "clear-flags", false, "drop the flags saved in the draft (before adding any --flag)")
	f.StringVar(&comment, "comment", "", "set the overall comment to `TEXT`, replacing the saved one")
	f.StringArrayVar(&strengths, "strength", nil, "append `TEXT` to the strengths told to the agent; repeatable")
	f.StringArrayVar(&suggestions, "suggestion", nil, "append `TEXT` to the concrete improvement suggestions; repeatable")
	f.BoolVar(&final, "final", false, "finalise: score the review and send the feedback (cannot be undone)")
	return cmd
}

// formatSubmitted renders SubmitReview's answer for a person.
func formatSubmitted(resp *qav1.SubmitReviewResponse, rubric *qav1.Rubric) string {
	r := resp.GetReview()
	var b strings.Builder
	fmt.Fprintf(&b, "review %d of item %d (agent %s", r.GetId(), r.GetItemId(), sanitize(r.GetAgentId()))
	if r.GetWeek() != "" {
		fmt.Fprintf(&b, ", week %s", sanitize(r.GetWeek()))
	}
	fmt.Fprintf(&b, "), rubric version %d: %s\n", r.GetRubricVersion(), sanitize(r.GetStatus()))
	writeReviewBody(&b, r, rubric)
	if r.GetStatus() == "draft" {
		b.WriteString("draft saved; not scored until --final\n")
		return b.String()
	}
	fmt.Fprintf(&b, "score %s  grade %s", sanitize(r.GetScoreText()), sanitize(r.GetGrade()))
	if r.GetCritical() {
		b.WriteString("  (critical: a red line made it 0)")
	}
	b.WriteByte('\n')
	if fb := resp.GetFeedback(); fb != nil {
		fmt.Fprintf(&b, "feedback %d sent to supervisor %s", fb.GetId(), sanitize(fb.GetSupervisorId()))
		if fb.GetCoachingRequired() {
			b.WriteString(" (coaching required)")
		}
		if fb.GetShareAsExample() {
			b.WriteString(" (worth sharing as an example)")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func newReviewCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "An inspector's queue: list, release, skip, show, submit, history (inspector); reassign (admin)"}
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
				if err != nil || opts.json {
					return resp.GetItem(), err
				}
				return nil, printReleased(cmd.OutOrStdout(), resp.GetItem())
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
	cmd.AddCommand(newReviewQueueCommand(opts), release, skip, newReviewShowCommand(opts), newReviewSubmitCommand(opts), newReviewHistoryCommand(opts),
		newReviewReassignCommand(opts))
	return cmd
}
