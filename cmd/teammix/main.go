// Command teammix writes feedback records at a steady rate on a scored
// database: a supervisor disputes one of their records and the assigned
// inspector re-scores it (a new record, the old review retracted).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	qav1 "qa-sampling/proto/qa/v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7591", "qad gRPC address")
	tokens := flag.String("tokens", "", "tokens file of scripts/bench-scoring.sh (role subject token)")
	rate := flag.Float64("rate", 2, "records per second")
	flag.Parse()
	tok := map[string]string{}
	f, err := os.Open(*tokens)
	if err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		tok[p[1]] = p[2]
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	as := func(subject string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok[subject])
	}
	fb, rv := qav1.NewFeedbackServiceClient(conn), qav1.NewReviewServiceClient(conn)
	var recs []*qav1.FeedbackRecord
	var owner []string
	for i := range 20 {
		sup := fmt.Sprintf("sup-%02d", i)
		l, err := fb.ListFeedback(as(sup), &qav1.ListFeedbackRequest{PageSize: 50})
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range l.GetRecords() {
			recs = append(recs, r)
			owner = append(owner, sup)
		}
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	n := 0
	for i := 0; ; i++ {
		<-tick.C
		r := recs[(i*7919)%len(recs)]
		d, err := fb.OpenDispute(as(owner[(i*7919)%len(recs)]), &qav1.OpenDisputeRequest{ReviewId: r.GetReview().GetId(), Reason: "mix"})
		if err != nil {
			continue // disputed already
		}
		if _, err := rv.SubmitReview(as(d.GetDispute().GetAssigneeId()), &qav1.SubmitReviewRequest{
			ItemId: r.GetReview().GetItemId(), Ratings: r.GetReview().GetRatings(), Flags: r.GetReview().GetFlags(), Final: true}); err != nil {
			log.Printf("re-score: %v", err)
			continue
		}
		n++
		if n%20 == 0 {
			log.Printf("%d records", n)
		}
	}
}
