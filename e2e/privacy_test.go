package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestPersonalDataNeverStored pushes a Chinese shop chat carrying a
// customer's mobile number (spaced, with +86), ID-card number, bank card
// and e-mail beside an order number and a tracking number: read back, the
// personal data are placeholders and the order and tracking numbers are
// intact; a second push is UNCHANGED; the SQLite file holds none of the
// personal numbers.
func TestPersonalDataNeverStored(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			w := newWorld(t, b.dsn, defaultOrg)
			w.setupGRPC()
			tr := chatAt("pii-chat", "a1", time.Now().Add(-2*time.Hour), 2)
			tr.Messages[0].Text = "您好，订单号 2098765432109876543 还没到，顺丰单号SF1234567890123。我手机 +86 139 1234 5678，身份证 11010519491231002X，退款退到 6222 0210 0112 3456 789，发票发 li.si@example.com"
			tr.Attributes["receiver_phone"] = "13912345678"
			for i, want := range []qav1.ItemStatus{qav1.ItemStatus_ITEM_STATUS_ACCEPTED, qav1.ItemStatus_ITEM_STATUS_UNCHANGED} {
				resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: tr})
				if err != nil || resp.GetStatus() != want {
					t.Fatalf("push %d: %v %v, want %v", i+1, resp.GetStatus(), err, want)
				}
			}
			got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: "pii-chat"})
			if err != nil {
				t.Fatal(err)
			}
			text := got.GetTranscript().GetMessages()[0].GetText()
			want := "您好，订单号 2098765432109876543 还没到，顺丰单号SF1234567890123。我手机 〔手机号〕，身份证 〔身份证号〕，退款退到 〔银行卡号〕，发票发 〔邮箱〕"
			if text != want {
				t.Errorf("stored text\n %q\nwant %q", text, want)
			}
			if a := got.GetTranscript().GetAttributes()["receiver_phone"]; a != "〔手机号〕" {
				t.Errorf("stored attribute %q", a)
			}
			if b.name != "sqlite" {
				return
			}
			w.srv.stop() // the WAL is checkpointed into the file
			for _, path := range []string{b.dsn, b.dsn + "-wal"} {
				raw, err := os.ReadFile(path)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				for _, secret := range []string{"13912345678", "139 1234 5678", "11010519491231002X", "6222 0210 0112 3456 789", "li.si@example.com"} {
					if strings.Contains(string(raw), secret) {
						t.Errorf("%s holds %q", path, secret)
					}
				}
			}
		})
	}
}

// TestRetention runs a week two months back, reviews one of its picks,
// then restarts qad with --retain-unsampled 42 --retain-reviewed 14: the
// week's unpicked chats are deleted (and audited), the picked ones stay
// whole (the review closed today, well within 14 days), a chat of today
// stays, and the agent's report for that week shows the same figures.
func TestRetention(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			const week = "2026-W40"
			w := newWorld(t, b.dsn, defaultOrg)
			w.setupGRPC()
			w.pushWeek(week, 6)
			recent := chatAt("recent", "a1", time.Now().Add(-time.Hour), 1)
			if _, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: recent}); err != nil {
				t.Fatal(err)
			}
			picks := w.runWeek(week)
			picked := map[string]bool{}
			for _, p := range picks {
				picked[p.GetExternalId()] = true
			}
			if len(picked) == 0 || len(picked) >= 6*len(defaultOrg) {
				t.Fatalf("%d of %d chats picked; the test needs some unpicked", len(picked), 6*len(defaultOrg))
			}
			reviewed := w.finalize(picksOf(t, picks, "a1")[0], "attitude=4,knowledge=3,efficiency=5,communication=4,compliance=3").GetReview()
			reportOf := func() *qav1.Summary {
				report := &qav1.GetAgentReportResponse{}
				unmarshalJSON(t, w.qactlOK("sup-a", "--json", "report", "agent", "a1", "--weeks", "1", "--last-week", week), report)
				return report.GetReport().GetSummary()
			}
			before := reportOf()
			if before.GetReviews() != 1 || !near(before.GetMean(), reviewed.GetScore()) {
				t.Fatalf("report before retention: %v", before)
			}

			w.srv.stop()
			w.srv.args = append(w.srv.args, "--retain-unsampled", "42", "--retain-reviewed", "14")
			w.srv.start()
			var unpicked []string
			for _, tr := range w.weekChats(week, 6) {
				if !picked[tr.GetExternalId()] {
					unpicked = append(unpicked, tr.GetExternalId())
				}
			}
			deadline := time.Now().Add(20 * time.Second)
			for _, id := range unpicked {
				for {
					_, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: id})
					if codeOf(err) == codes.NotFound {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("unpicked chat %s of %s still there (%v); log:\n%s", id, week, err, w.srv.log.String())
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			for id := range picked {
				got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: id})
				if err != nil || len(got.GetTranscript().GetMessages()) == 0 {
					t.Errorf("picked chat %s after retention: %v, %d messages; want it whole", id, err, len(got.GetTranscript().GetMessages()))
				}
			}
			if got, err := w.c.ingest.GetTranscript(w.admin(), &qav1.GetTranscriptRequest{ExternalId: "recent"}); err != nil || len(got.GetTranscript().GetMessages()) == 0 {
				t.Errorf("today's chat after retention: %v", err)
			}
			after := reportOf()
			if after.GetReviews() != before.GetReviews() || !near(after.GetMean(), before.GetMean()) {
				t.Errorf("report after retention: %d reviews, mean %v; before %d, %v", after.GetReviews(), after.GetMean(), before.GetReviews(), before.GetMean())
			}
			deleted := 0
			for _, e := range w.auditEvents() {
				if e.GetAction() == "retention.delete_unsampled" && e.GetActor() == "retention" {
					for _, id := range unpicked {
						if strings.Contains(e.GetDetail(), `"`+id+`"`) {
							deleted++
						}
					}
				}
			}
			if deleted != len(unpicked) {
				t.Errorf("audit names %d of the %d deleted chats", deleted, len(unpicked))
			}
			// A push of a deleted chat is taken as new.
			again := w.weekChats(week, 6)[0]
			if picked[again.GetExternalId()] {
				return
			}
			if resp, err := w.c.ingest.PushTranscript(w.as("bridge"), &qav1.PushTranscriptRequest{Transcript: again}); err != nil || resp.GetStatus() != qav1.ItemStatus_ITEM_STATUS_ACCEPTED {
				t.Errorf("re-push of a deleted chat: %v %v", resp.GetStatus(), err)
			}
		})
	}
}
