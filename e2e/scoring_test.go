package e2e

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestFullWeekThroughQactl is issue 4's day at work through the real
// binaries: ingest, sample, an inspector scores items (drafts, then
// final), the supervisors' `feedback watch` get their own agents' records
// and nobody else's, a supervisor acknowledges, the server is killed with
// SIGKILL and restarted, and everything is still there.
func TestFullWeekThroughQactl(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { fullWeek(t, b.dsn) })
	}
}

func fullWeek(t *testing.T, dsn string) {
	const week = "2026-W46"
	w := newWorld(t, dsn, defaultOrg)
	agentsFile, chatsFile := w.writeImportFiles(w.weekChats(week, 3))
	w.qactlOK("bridge", "agents", "import", "--file", agentsFile)
	w.qactlOK("bridge", "ingest", "--file", chatsFile)
	for _, id := range []string{"insp-1", "insp-2"} {
		w.qactlOK("qa-lead", "inspector", "add", id, "--name", "Inspector "+id)
	}
	if out := w.qactlOK("qa-lead", "sample", "run", "--week", week); !strings.Contains(out, "created") {
		t.Fatalf("sample run: %s", out)
	}
	picks := pickLines(t, w.qactlOK("qa-lead", "--json", "sample", "list", "--week", week))
	a1, a2, b1 := picksOf(t, picks, "a1"), picksOf(t, picks, "a2"), picksOf(t, picks, "b1")
	if len(a1) < 3 || len(a2) < 2 || len(b1) < 1 {
		t.Fatalf("picks per agent: a1 %d, a2 %d, b1 %d; want 3 chats each picked:\n%v", len(a1), len(a2), len(b1), picks)
	}

	// Both supervisors watch from the start of the feedback log.
	watchA := w.srv.watch("sup-a", w.tokens["sup-a"], "--after", "0")
	watchB := w.srv.watch("sup-b", w.tokens["sup-b"], "--after", "0")

	// The inspector finds the item in their queue and opens it.
	p := a1[0]
	insp, id := p.GetInspectorId(), strconv.FormatInt(p.GetId(), 10)
	queue := pickLines(t, w.qactlOK(insp, "--json", "review", "queue"))
	if !containsPick(queue, p.GetId()) {
		t.Fatalf("item %d not in %s's queue %v", p.GetId(), insp, queue)
	}
	show := w.qactlOK(insp, "review", "show", id)
	for _, want := range []string{"item " + id, "agent a1", p.GetExternalId(), "attitude", "compliance", "false_promise", "no draft yet"} {
		if !strings.Contains(show, want) {
			t.Errorf("review show lacks %q:\n%s", want, show)
		}
	}
	opened := &qav1.OpenItemResponse{}
	unmarshalJSON(t, w.qactlOK(insp, "--json", "review", "show", id), opened)
	checkDefaultRubric(t, opened.GetRubric())
	if opened.GetTranscript().GetExternalId() != p.GetExternalId() || opened.GetTranscript().GetMetrics() == nil || len(opened.GetTranscript().GetMessages()) == 0 {
		t.Errorf("opened item's transcript: %v", opened.GetTranscript())
	}

	// Two drafts (create, then update): no score yet.
	draft := &qav1.Review{}
	unmarshalJSON(t, w.qactlOK(insp, "--json", "review", "submit", id, "--rating", "attitude=3", "--comment", "first pass"), draft)
	checkDraft(t, draft, map[string]string{"attitude": "3"})
	unmarshalJSON(t, w.qactlOK(insp, "review", "submit", id, "--rating", "attitude=5,knowledge=4", "--rating", "efficiency=na", "--json"), draft)
	checkDraft(t, draft, map[string]string{"attitude": "5", "knowledge": "4", "efficiency": "na"})
	if draft.GetComment() != "first pass" {
		t.Errorf("draft comment %q; the second submit should keep the first's", draft.GetComment())
	}
	if show := w.qactlOK(insp, "review", "show", id); !strings.Contains(show, "your draft") {
		t.Errorf("review show after a draft:\n%s", show)
	}

	// Final: the score is the server's, checked against SPEC §5 here.
	final := &qav1.Review{}
	unmarshalJSON(t, w.qactlOK(insp, "review", "submit", id, "--rating", "communication=4,compliance=3",
		"--strength", "warm greeting", "--suggestion", "confirm the address before promising a date", "--final", "--json"), final)
	want := expect(t, "attitude=5,knowledge=4,efficiency=na,communication=4,compliance=3")
	if want.score != 82.5 || want.grade != "good" { // 100·(25+16+16+9)/80, a sanity check of the test's own formula
		t.Fatalf("independent formula gives %v %s", want.score, want.grade)
	}
	checkReview(t, "a1's review", final, want)
	if final.GetRubricVersion() != opened.GetRubric().GetVersion() || final.GetComment() != "first pass" ||
		len(final.GetStrengths()) != 1 || len(final.GetSuggestions()) != 1 || final.GetWeek() != week || final.GetAgentId() != "a1" {
		t.Errorf("final review %v", final)
	}
	// The finished item opens read-only, and is in the inspector's history.
	show = w.qactlOK(insp, "review", "show", id)
	for _, want := range []string{"final review " + strconv.FormatInt(final.GetId(), 10) + " (read-only)", "score 82.50", "warm greeting"} {
		if !strings.Contains(show, want) {
			t.Errorf("review show of the finalised item lacks %q:\n%s", want, show)
		}
	}
	unmarshalJSON(t, w.qactlOK(insp, "--json", "review", "show", id), opened)
	if opened.GetReview().GetId() != final.GetId() || opened.GetDraft() != nil {
		t.Errorf("finalised item opened as review %v, draft %v", opened.GetReview(), opened.GetDraft())
	}
	history := w.qactlOK(insp, "review", "history")
	if !strings.Contains(history, "82.50") || !strings.Contains(history, p.GetExternalId()) {
		t.Errorf("review history lacks the final review:\n%s", history)
	}
	var historyJSON qav1.Review
	unmarshalJSON(t, strings.TrimSpace(w.qactlOK(insp, "--json", "review", "history")), &historyJSON)
	if historyJSON.GetId() != final.GetId() || historyJSON.GetScoreText() != "82.50" {
		t.Errorf("review history --json: %v", &historyJSON)
	}
	for _, other := range []string{"insp-1", "insp-2"} {
		if other != insp && strings.Contains(w.qactlOK(other, "review", "history"), p.GetExternalId()) {
			t.Errorf("%s's history shows %s's review:\n%s", other, insp, w.qactlOK(other, "review", "history"))
		}
	}
	rec := watchA.waitFor("a1's record", func(r *qav1.FeedbackRecord) bool { return r.GetReview().GetId() == final.GetId() })
	if rec.GetAgentId() != "a1" || !near(rec.GetScore(), want.score) || rec.GetGrade() != "good" || rec.GetSupervisorId() != "sup-a" ||
		rec.GetTeamId() != "team-a" || rec.GetWeek() != week || rec.GetCoachingRequired() || rec.GetShareAsExample() || rec.GetAcknowledgedAt() != nil {
		t.Errorf("record on sup-a's watch: %v", rec)
	}
	if len(rec.GetReview().GetSuggestions()) != 1 || len(rec.GetReview().GetStrengths()) != 1 {
		t.Errorf("record lacks the strengths and suggestions: %v", rec.GetReview())
	}

	// A critical flag and a critical dimension each make the score 0.
	cases := []struct {
		p     *qav1.Pick
		spec  string
		flags []string
		grade string
	}{
		{a1[1], "attitude=5,knowledge=5,efficiency=5,communication=5,compliance=5", []string{"false_promise"}, "fail"},
		{a2[0], "attitude=5,knowledge=5,efficiency=5,communication=5,compliance=2", nil, "fail"},
		{a2[1], "attitude=5,knowledge=5,efficiency=4,communication=5,compliance=5", nil, "excellent"},
	}
	// A stream from now (its headers say the cursor is fixed) gets only
	// the records written after it started.
	nowCtx, cancelNow := context.WithTimeout(w.as("sup-a"), time.Minute)
	defer cancelNow()
	fromNow, err := w.c.feedback.WatchFeedback(nowCtx, &qav1.WatchFeedbackRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromNow.Header(); err != nil {
		t.Fatal(err)
	}
	var last *qav1.FeedbackRecord
	var caseRecords []int64
	for _, c := range cases {
		args := []string{"--json", "review", "submit", strconv.FormatInt(c.p.GetId(), 10), "--rating", c.spec, "--final"}
		for _, f := range c.flags {
			args = append(args, "--flag", f)
		}
		rv := &qav1.Review{}
		unmarshalJSON(t, w.qactlOK(c.p.GetInspectorId(), args...), rv)
		e := expect(t, c.spec, c.flags...)
		if e.grade != c.grade {
			t.Fatalf("independent formula: %s gives %s, want %s", c.spec, e.grade, c.grade)
		}
		checkReview(t, "review of "+c.p.GetExternalId(), rv, e)
		last = watchA.waitFor("record of "+c.p.GetExternalId(), func(r *qav1.FeedbackRecord) bool { return r.GetReview().GetId() == rv.GetId() })
		if !near(last.GetScore(), e.score) || last.GetGrade() != e.grade || last.GetCoachingRequired() != (e.grade == "fail") ||
			last.GetShareAsExample() != (e.grade == "excellent") {
			t.Errorf("record %v; want score %v grade %s", last, e.score, e.grade)
		}
		caseRecords = append(caseRecords, last.GetId())
	}
	for _, want := range caseRecords {
		got, err := fromNow.Recv()
		if err != nil || got.GetRecord().GetId() != want {
			t.Fatalf("stream from now sent %v (%v); want record %d", got.GetRecord(), err, want)
		}
	}
	cancelNow()

	// sup-b's agent: only sup-b's watch gets it, and it got nothing before.
	// N/A on the critical dimension is not critical: 100·60/85 = 70.588…, pass.
	bSpec := "attitude=4,knowledge=3,efficiency=4,communication=3,compliance=na"
	bReview := &qav1.Review{}
	unmarshalJSON(t, w.qactlOK(b1[0].GetInspectorId(), "--json", "review", "submit", strconv.FormatInt(b1[0].GetId(), 10), "--rating", bSpec, "--final"), bReview)
	if e := expect(t, bSpec); e.grade != "pass" || e.critical || bReview.GetScoreText() != "70.59" {
		t.Errorf("b1's review: score_text %q; the test's formula gives %v %s", bReview.GetScoreText(), e.score, e.grade)
	}
	checkReview(t, "b1's review", bReview, expect(t, bSpec))
	bRec := watchB.waitFor("b1's record", func(r *qav1.FeedbackRecord) bool { return r.GetReview().GetId() == bReview.GetId() })
	if bRec.GetId() <= last.GetId() {
		t.Fatalf("b1's record %d is not after sup-a's %d", bRec.GetId(), last.GetId())
	}
	// Records arrive in id order, so sup-a's earlier records would have
	// come first.
	for _, r := range watchB.received() {
		if r.GetAgentId() != "b1" || r.GetSupervisorId() != "sup-b" {
			t.Errorf("sup-b's watch received another supervisor's record %v", r)
		}
	}
	seenA := watchA.received()
	for i, r := range seenA {
		if i > 0 && r.GetId() <= seenA[i-1].GetId() {
			t.Errorf("sup-a's watch: record %d after %d; want id order", r.GetId(), seenA[i-1].GetId())
		}
	}

	// Acknowledge with a note: gone from the unacknowledged list.
	acked := &qav1.FeedbackRecord{}
	recID := strconv.FormatInt(rec.GetId(), 10)
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "feedback", "ack", recID, "--note", "talked it through on Monday"), acked)
	if acked.GetAcknowledgedAt() == nil || acked.GetAcknowledgedBy() != "sup-a" || acked.GetCoachingNote() != "talked it through on Monday" {
		t.Errorf("ack answered %v", acked)
	}
	unacked := feedbackLines(t, w.qactlOK("sup-a", "--json", "feedback", "list", "--unacked"))
	if len(unacked) != len(cases) {
		t.Errorf("unacknowledged list has %d records, want the %d not acknowledged: %v", len(unacked), len(cases), unacked)
	}
	for _, r := range unacked {
		if r.GetId() == rec.GetId() || r.GetSupervisorId() != "sup-a" {
			t.Errorf("unacknowledged list holds %v", r)
		}
	}

	// A final review cannot be overwritten, by qactl either.
	w.qactlFails(insp, []string{"FAILED_PRECONDITION", "NOT_FOUND"}, "review", "submit", id, "--rating", "attitude=0", "--final")

	// kill -9, restart: all of it is still there.
	w.srv.kill()
	w.srv.start()

	got, err := w.c.review.GetReview(w.admin(), &qav1.GetReviewRequest{Id: final.GetId()})
	if err != nil {
		t.Fatalf("GetReview after restart: %v", err)
	}
	checkReview(t, "a1's review after the restart", got.GetReview(), want)
	if got.GetReview().GetStatus() != "final" {
		t.Errorf("status %q after restart", got.GetReview().GetStatus())
	}
	var found bool
	for _, r := range feedbackLines(t, w.qactlOK("sup-a", "--json", "feedback", "list")) {
		if r.GetId() == rec.GetId() {
			found = true
			if r.GetAcknowledgedAt() == nil || r.GetAcknowledgedBy() != "sup-a" || r.GetCoachingNote() != "talked it through on Monday" || !near(r.GetScore(), want.score) {
				t.Errorf("record after restart: %v", r)
			}
		}
	}
	if !found {
		t.Errorf("record %d missing after restart", rec.GetId())
	}
	events := w.auditEvents()
	for _, e := range []struct {
		action, entity string
		id             int64
		actor          string
	}{
		{"review.create", "review", final.GetId(), insp},
		{"review.update", "review", final.GetId(), insp},
		{"review.finalize", "review", final.GetId(), insp},
		{"feedback.create", "feedback", rec.GetId(), insp},
		{"feedback.acknowledge", "feedback", rec.GetId(), "sup-a"},
	} {
		if !hasAudit(events, e.action, e.entity, e.id, e.actor) {
			t.Errorf("audit trail lacks %s of %s %d by %s", e.action, e.entity, e.id, e.actor)
		}
	}
	if out := w.qactlOK("qa-lead", "audit", "list", "--entity", "feedback", "--entity-id", recID); !strings.Contains(out, "feedback.acknowledge") {
		t.Errorf("qactl audit list for feedback %s:\n%s", recID, out)
	}

	// Delivery is at least once: a watch resumed before the record gets it
	// again, acknowledged now.
	resumed := w.srv.watch("sup-a resumed", w.tokens["sup-a"], "--after", strconv.FormatInt(rec.GetId()-1, 10))
	if r := resumed.waitForID(rec.GetId()); r.GetAcknowledgedAt() == nil || r.GetAgentId() != "a1" {
		t.Errorf("resumed watch got %v", r)
	}
	// The watch that ran through the crash reconnected by itself.
	after := w.finalize(a1[2], "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4")
	watchA.waitForID(after.GetFeedback().GetId())
	resumed.waitForID(after.GetFeedback().GetId())
	for _, r := range watchA.received() {
		if r.GetSupervisorId() != "sup-a" {
			t.Errorf("sup-a's watch received %v", r)
		}
	}

	// Acknowledging again keeps the first time; a note replaces the note,
	// no note keeps it.
	again := &qav1.FeedbackRecord{}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "feedback", "ack", recID, "--note", "followed up"), again)
	if !again.GetAcknowledgedAt().AsTime().Equal(acked.GetAcknowledgedAt().AsTime()) || again.GetCoachingNote() != "followed up" {
		t.Errorf("second ack: %v; want the first time %v and the new note", again, acked.GetAcknowledgedAt().AsTime())
	}
	unmarshalJSON(t, w.qactlOK("sup-a", "--json", "feedback", "ack", recID), again)
	if !again.GetAcknowledgedAt().AsTime().Equal(acked.GetAcknowledgedAt().AsTime()) || again.GetCoachingNote() != "followed up" {
		t.Errorf("ack without a note: %v; want the note kept", again)
	}

	// Filters and the cursor.
	all := feedbackLines(t, w.qactlOK("sup-a", "--json", "feedback", "list"))
	paged := feedbackLines(t, w.qactlOK("sup-a", "--json", "feedback", "list", "--limit", "1", "--all"))
	if len(all) != len(cases)+2 || len(paged) != len(all) {
		t.Fatalf("sup-a's records: %d listed, %d paged one by one; want %d", len(all), len(paged), len(cases)+2)
	}
	for i := range all {
		if paged[i].GetId() != all[i].GetId() || (i > 0 && all[i].GetId() <= all[i-1].GetId()) {
			t.Errorf("record %d: listed %d, paged %d; want the same ids in id order", i, all[i].GetId(), paged[i].GetId())
		}
	}
	count := func(records []*qav1.FeedbackRecord, keep func(*qav1.FeedbackRecord) bool) int {
		n := 0
		for _, r := range records {
			if keep(r) {
				n++
			}
		}
		return n
	}
	for _, f := range []struct {
		args []string
		keep func(*qav1.FeedbackRecord) bool
	}{
		{[]string{"--grade", "fail"}, func(r *qav1.FeedbackRecord) bool { return r.GetGrade() == "fail" }},
		{[]string{"--agent", "a2"}, func(r *qav1.FeedbackRecord) bool { return r.GetAgentId() == "a2" }},
		{[]string{"--week", week}, func(*qav1.FeedbackRecord) bool { return true }},
		{[]string{"--week", "2026-W45"}, func(*qav1.FeedbackRecord) bool { return false }},
	} {
		got := feedbackLines(t, w.qactlOK("sup-a", append([]string{"--json", "feedback", "list"}, f.args...)...))
		if want := count(all, f.keep); len(got) != want || count(got, f.keep) != want {
			t.Errorf("feedback list %v: %d records, want %d", f.args, len(got), want)
		}
	}
	if got := feedbackLines(t, w.qactlOK("qa-lead", "--json", "feedback", "list", "--supervisor", "sup-b")); len(got) != 1 || got[0].GetAgentId() != "b1" {
		t.Errorf("the admin's list of sup-b's records: %v", got)
	}
}

func containsPick(picks []*qav1.Pick, id int64) bool {
	for _, p := range picks {
		if p.GetId() == id {
			return true
		}
	}
	return false
}

// checkDefaultRubric: SPEC §5's default rubric with the keys.
func checkDefaultRubric(t *testing.T, r *qav1.Rubric) {
	t.Helper()
	if r.GetVersion() <= 0 || len(r.GetDimensions()) != len(dimensionKeys) {
		t.Fatalf("rubric %v", r)
	}
	for i, d := range r.GetDimensions() {
		if d.GetKey() != dimensionKeys[i] || d.GetWeight() != dimWeight[d.GetKey()] || d.GetMax() != scaleMax || !d.GetAllowNa() {
			t.Errorf("dimension %d: %v", i, d)
		}
		if d.GetCritical() != (d.GetKey() == "compliance") {
			t.Errorf("dimension %s critical %v; the test expects only process compliance to be critical", d.GetKey(), d.GetCritical())
		}
	}
	var flags []string
	for _, f := range r.GetFlags() {
		flags = append(flags, f.GetKey())
	}
	if strings.Join(flags, ",") != "abusive_language,privacy_leak,false_promise" {
		t.Errorf("critical flags %v", flags)
	}
	if th := r.GetThresholds(); th.GetExcellent() != 90 || th.GetGood() != 80 || th.GetPass() != 70 {
		t.Errorf("thresholds %v", th)
	}
}

// checkDraft: a draft has the ratings given so far and no score.
func checkDraft(t *testing.T, rv *qav1.Review, ratings map[string]string) {
	t.Helper()
	if rv.GetStatus() != "draft" || rv.GetScore() != 0 || rv.GetScoreText() != "" || rv.GetGrade() != "" || rv.GetCritical() || rv.GetFinalizedAt() != nil {
		t.Errorf("draft %v: want status draft and no score, grade or finalized_at", rv)
	}
	if len(rv.GetRatings()) != len(ratings) {
		t.Errorf("draft ratings %v, want %v", rv.GetRatings(), ratings)
	}
	for _, r := range rv.GetRatings() {
		v := strconv.Itoa(int(r.GetValue()))
		if r.GetNa() {
			v = "na"
		}
		if ratings[r.GetKey()] != v {
			t.Errorf("draft rating %s = %s, want %q", r.GetKey(), v, ratings[r.GetKey()])
		}
	}
}

// TestFinalReviewCannotBeOverwritten: once final, neither a second final
// nor a draft changes the review; two finals racing make one review and
// one feedback record.
func TestFinalReviewCannotBeOverwritten(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			const week = "2026-W45"
			w := newWorld(t, b.dsn, defaultOrg)
			w.setupGRPC()
			w.pushWeek(week, 2)
			picks := w.runWeek(week)
			a1 := picksOf(t, picks, "a1")
			if len(a1) < 2 {
				t.Fatalf("a1 has %d picks", len(a1))
			}
			// Invalid finals store nothing; the server names the field.
			ctx := w.as(a1[0].GetInspectorId())
			for _, bad := range []struct {
				spec  string
				flags []string
			}{
				{"attitude=na,knowledge=na,efficiency=na,communication=na,compliance=na", nil},
				{"attitude=4,knowledge=4", nil},
				{"attitude=6,knowledge=4,efficiency=4,communication=4,compliance=4", nil},
				{"attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4", []string{"made_up"}},
			} {
				_, err := w.c.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{ItemId: a1[0].GetId(), Ratings: ratingsProto(t, bad.spec), Flags: bad.flags, Final: true})
				if codeOf(err) != codes.InvalidArgument || (!strings.Contains(err.Error(), "ratings") && !strings.Contains(err.Error(), "flags")) {
					t.Errorf("final %s %v: %v; want INVALID_ARGUMENT naming the field", bad.spec, bad.flags, err)
				}
			}
			w.qactlFails(a1[0].GetInspectorId(), []string{"INVALID_ARGUMENT"}, "review", "submit", strconv.FormatInt(a1[0].GetId(), 10),
				"--rating", "attitude=na,knowledge=na,efficiency=na,communication=na,compliance=na", "--final")
			if opened, err := w.c.review.OpenItem(ctx, &qav1.OpenItemRequest{Id: a1[0].GetId()}); err != nil || opened.GetDraft() != nil {
				t.Fatalf("item after invalid finals: %v %v; want it open with no draft", opened, err)
			}

			spec := "attitude=4,knowledge=4,efficiency=3,communication=4,compliance=4"
			first := w.finalize(a1[0], spec)
			want := expect(t, spec)
			checkReview(t, "first final", first.GetReview(), want)

			for _, final := range []bool{true, false} {
				_, err := w.c.review.SubmitReview(ctx, &qav1.SubmitReviewRequest{
					ItemId: a1[0].GetId(), Ratings: ratingsProto(t, "attitude=0,knowledge=0,efficiency=0,communication=0,compliance=0"), Final: final,
				})
				if c := codeOf(err); c != codes.FailedPrecondition && c != codes.NotFound {
					t.Errorf("second submit (final %v): %v; want FAILED_PRECONDITION or NOT_FOUND", final, err)
				}
			}
			w.qactlFails(a1[0].GetInspectorId(), []string{"FAILED_PRECONDITION", "NOT_FOUND"},
				"review", "submit", strconv.FormatInt(a1[0].GetId(), 10), "--rating", "attitude=0", "--final")
			got, err := w.c.review.GetReview(w.admin(), &qav1.GetReviewRequest{Id: first.GetReview().GetId()})
			if err != nil {
				t.Fatal(err)
			}
			checkReview(t, "after the attempts", got.GetReview(), want)

			// Two finals at once on another item: exactly one wins.
			p := a1[1]
			ctx = w.as(p.GetInspectorId())
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, s := range []string{spec, "attitude=1,knowledge=1,efficiency=1,communication=1,compliance=3"} {
				req := &qav1.SubmitReviewRequest{ItemId: p.GetId(), Ratings: ratingsProto(t, s), Final: true}
				wg.Go(func() { _, errs[i] = w.c.review.SubmitReview(ctx, req) })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch c := codeOf(err); c {
				case codes.OK:
					ok++
				case codes.FailedPrecondition, codes.NotFound:
				default:
					t.Errorf("racing final: %v", err)
				}
			}
			if ok != 1 {
				t.Fatalf("racing finals: %d succeeded (%v), want exactly 1", ok, errs)
			}
			resp, err := w.c.feedback.ListFeedback(w.admin(), &qav1.ListFeedbackRequest{AgentId: "a1"})
			if err != nil {
				t.Fatal(err)
			}
			perItem := map[int64]int{}
			for _, r := range resp.GetRecords() {
				perItem[r.GetReview().GetItemId()]++
			}
			if perItem[a1[0].GetId()] != 1 || perItem[p.GetId()] != 1 || len(resp.GetRecords()) != 2 {
				t.Errorf("feedback records per item %v; want one each for items %d and %d", perItem, a1[0].GetId(), p.GetId())
			}
		})
	}
}

// TestFeedbackStreamAcrossReplicas: inspectors finalise at once on two
// replicas of one database; a supervisor's watch on the first replica gets
// every record of their agents, in id order, each once.
func TestFeedbackStreamAcrossReplicas(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			const week = "2026-W45"
			w := newWorld(t, b.dsn, defaultOrg, "--feedback-poll", "200ms")
			w.setupGRPC()
			w.pushWeek(week, 4)
			picks := w.runWeek(week)
			watch := w.srv.watch("sup-a on replica 1", w.tokens["sup-a"], "--after", "0")
			replica := startServer(t, b.dsn, "--sample-schedule", "off")
			on := []qaClients{w.c, replica.clients()}
			var items []*qav1.Pick
			for _, a := range []string{"a1", "a2", "b1"} {
				items = append(items, picksOf(t, picks, a)...)
			}
			if len(items) < 10 {
				t.Fatalf("%d picks", len(items))
			}
			results := make([]*qav1.SubmitReviewResponse, len(items))
			errs := make([]error, len(items))
			var wg sync.WaitGroup
			for i, p := range items {
				ctx := w.as(p.GetInspectorId())
				req := &qav1.SubmitReviewRequest{ItemId: p.GetId(), Ratings: ratingsProto(t, "attitude=4,knowledge=4,efficiency=4,communication=4,compliance=4"), Final: true}
				wg.Go(func() { results[i], errs[i] = on[i%2].review.SubmitReview(ctx, req) })
			}
			wg.Wait()
			var want []int64
			for i, err := range errs {
				if err != nil {
					t.Fatalf("final of item %d on replica %d: %v", items[i].GetId(), i%2+1, err)
				}
				if results[i].GetFeedback().GetSupervisorId() == "sup-a" {
					want = append(want, results[i].GetFeedback().GetId())
				}
			}
			slices.Sort(want)
			watch.waitForID(want[len(want)-1])
			var got []int64
			for _, r := range watch.received() {
				got = append(got, r.GetId())
			}
			if !slices.Equal(got, want) {
				t.Errorf("replica 1's stream sent records %v; want %v, in order, each once", got, want)
			}
		})
	}
}
