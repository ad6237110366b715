package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	qav1 "qa-sampling/proto/qa/v1"
)

func newReviewHistoryCommand(opts *globalOptions) *cobra.Command {
	var req qav1.ListReviewsRequest
	var all bool
	cmd := &cobra.Command{
		Use:   "history [--page-token T] [--limit N] [--all]",
		Short: "List your finalised reviews with their scores, newest first, one page or --all",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			return opts.withConn(func(conn *grpc.ClientConn) error {
				client := qav1.NewReviewServiceClient(conn)
				var reviews []*qav1.Review
				var next string
				err := allPages(func(token string) (string, error) {
					if token != "" {
						req.PageToken = token
					}
					ctx, cancel := opts.unaryContext(cmd.Context()) // --timeout is per page
					resp, err := client.ListReviews(ctx, &req)
					cancel()
					if err != nil {
						return "", err
					}
					if opts.json { // print each page as it comes
						if err := jsonLines(out, resp.GetReviews()); err != nil {
							return "", err
						}
					} else {
						reviews = append(reviews, resp.GetReviews()...)
					}
					if next = resp.GetNextPageToken(); !all {
						return "", nil
					}
					return next, nil
				})
				if err != nil || opts.json {
					return err
				}
				if err := printReviewHistory(out, reviews, opts.connLocation(cmd, conn)); err != nil {
					return err
				}
				if next != "" && !all {
					_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "more reviews: --page-token %s, or --all\n", next)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	pageFlags(f, &req.PageToken, &req.PageSize, &all, "reviews")
	f.StringVar(&req.InspectorId, "inspector", "", "admins: only this inspector's reviews (default all)")
	return cmd
}

func printReviewHistory(w io.Writer, reviews []*qav1.Review, loc *time.Location) error {
	tw := newTable(w)
	_, _ = fmt.Fprintln(tw, "REVIEW\tITEM\tWEEK\tAGENT\tEXTERNAL_ID\tSCORE\tGRADE\tSTATUS\tFINALISED")
	for _, r := range reviews {
		status := r.GetStatus()
		if r.GetSupersededById() != 0 {
			status = fmt.Sprintf("%s (by review %d)", status, r.GetSupersededById())
		}
		_, _ = fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.GetId(), r.GetItemId(), sanitize(r.GetWeek()),
			sanitize(r.GetAgentId()), sanitize(r.GetExternalId()), sanitize(r.GetScoreText()), sanitize(r.GetGrade()),
			sanitize(status), shortTime(r.GetFinalizedAt(), loc))
	}
	return tw.Flush()
}
