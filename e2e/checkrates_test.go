package e2e

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
)

// TestCheckRatesRestOnChecksThatRanAndOutliveRetention (issue 11 §3,
// SPEC §6–7): on a real qad, each backend, chats of a week ten weeks back
// are checked under the default set, then no_empathy is switched off in a
// new version and more chats of the week come in. no_empathy's rate
// rests on the chats checked with it on (its denominator leaves out those
// checked without it), the other checks' on all the week's chats, in the
// check report and the agent report (--json and text). qad then restarts
// with --retain-unsampled 42, which deletes every chat of the week: the
// reports give the same figures as before.
func TestCheckRatesRestOnChecksThatRanAndOutliveRetention(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testCheckRatesAndRetention(t, b.dsn) })
	}
}

func testCheckRatesAndRetention(t *testing.T, dsn string) {
	srv := startServer(t, dsn, "--sample-schedule", "off")
	admin, ingestToken := srv.token("admin", "qa-lead"), srv.token("ingest", "platform")
	ctx := withToken(t.Context(), ingestToken)
	client := srv.client(ingestToken)
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor("a1", "a2")}); err != nil {
		t.Fatal(err)
	}
	qactl := func(args ...string) string {
		t.Helper()
		return srv.qactlOK(admin, args...)
	}
	// The week ten weeks back in the default policy's zone, old enough for
	// --retain-unsampled 42.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	w := isoweek.Of(time.Now().AddDate(0, 0, -70), shanghai)
	week := w.String()
	monday, _ := w.Bounds(shanghai)
	// A chat of the week's Tuesday; a complaint answered without apology
	// when complaint.
	push := func(id, agent string, complaint bool) {
		t.Helper()
		c := checkChat(id, agent)
		shift := monday.Add(33 * time.Hour).Sub(c.GetStartedAt().AsTime())
		move := func(ts *timestamppb.Timestamp) *timestamppb.Timestamp { return timestamppb.New(ts.AsTime().Add(shift)) }
		c.StartedAt, c.EndedAt = move(c.StartedAt), move(c.EndedAt)
		for _, m := range c.Messages {
			m.SentAt = move(m.SentAt)
		}
		if complaint {
			c.Tags = []string{"complaint"}
			c.Messages[3].Text = "已为您登记换货，快递员明天上门取件。"
		}
		if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: c}); err != nil {
			t.Fatalf("push %s: %v", id, err)
		}
	}
	// Version 1, the default: every check on. e1 and e2 fire no_empathy.
	push("e1", "a1", true)
	push("e2", "a1", true)
	push("ok1", "a1", false)
	push("ok2", "a2", false)
	// Version 2: no_empathy off. e3 is a complaint without apology that
	// no check looks at; it and ok3 count for the other checks only.
	var set map[string]any
	if err := json.Unmarshal([]byte(qactl("--json", "checks", "get")), &set); err != nil {
		t.Fatal(err)
	}
	delete(set, "version")
	set["disabled"] = []string{"no_empathy"}
	doc, _ := json.Marshal(set)
	qactl("checks", "set", "--file", writeDoc(t, string(doc)))
	push("e3", "a1", true)
	push("ok3", "a2", false)

	type rate struct {
		Check string  `json:"check"`
		Chats string  `json:"chats"`
		Fired string  `json:"fired"`
		Rate  float64 `json:"rate"`
	}
	type checkReport struct {
		Weeks  []string `json:"weeks"`
		Chats  string   `json:"chats"`
		Checks []rate   `json:"checks"`
	}
	type agentReport struct {
		Report struct {
			CheckRates []rate `json:"check_rates"`
		} `json:"report"`
	}
	read := func() (checkReport, agentReport, []string) {
		t.Helper()
		var cr checkReport
		if err := json.Unmarshal([]byte(qactl("--json", "checks", "report", "--weeks", "1", "--last-week", week)), &cr); err != nil {
			t.Fatal(err)
		}
		var ar agentReport
		if err := json.Unmarshal([]byte(qactl("--json", "report", "agent", "a1", "--weeks", "1", "--last-week", week)), &ar); err != nil {
			t.Fatal(err)
		}
		return cr, ar, []string{qactl("checks", "report", "--weeks", "1", "--last-week", week),
			qactl("report", "agent", "a1", "--weeks", "1", "--last-week", week)}
	}
	byCheck := func(rs []rate) map[string]rate {
		out := map[string]rate{}
		for _, r := range rs {
			out[r.Check] = r
		}
		return out
	}
	cr, ar, text := read()
	if cr.Chats != "6" || len(cr.Checks) != 6 {
		t.Fatalf("check report: %+v", cr)
	}
	all := byCheck(cr.Checks)
	if e := all["no_empathy"]; e.Chats != "4" || e.Fired != "2" || e.Rate != 0.5 {
		t.Errorf("no_empathy over the week: %+v; want 2 fired of the 4 chats checked with it on", e)
	}
	if g := all["no_greeting"]; g.Chats != "6" || g.Fired != "0" {
		t.Errorf("no_greeting over the week: %+v; want 0 of 6", g)
	}
	a1 := byCheck(ar.Report.CheckRates)
	if e := a1["no_empathy"]; e.Chats != "3" || e.Fired != "2" {
		t.Errorf("a1's no_empathy: %+v; want 2 of 3", e)
	}
	if c := a1["no_closing"]; c.Chats != "4" || c.Fired != "0" {
		t.Errorf("a1's no_closing: %+v; want 0 of 4", c)
	}
	if !containsLine(text[0], "no_empathy", "2", "4", "50.0%") || !containsLine(text[0], "no_greeting", "0", "6", "0.0%") {
		t.Errorf("checks report text does not show each check's chats:\n%s", text[0])
	}
	if !containsLine(text[1], "no_empathy", "2", "3", "66.7%") || !containsLine(text[1], "no_closing", "0", "4", "0.0%") {
		t.Errorf("a1's report text does not show each check's chats:\n%s", text[1])
	}

	srv.stop()
	srv.args = append(srv.args, "--retain-unsampled", "42")
	srv.start()
	adminCtx := withToken(t.Context(), admin)
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range []string{"e1", "e2", "e3", "ok1", "ok2", "ok3"} {
		for {
			_, err := srv.client(admin).GetTranscript(adminCtx, &qav1.GetTranscriptRequest{ExternalId: id})
			if codeOf(err) == codes.NotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("chat %s of %s still there (%v); log:\n%s", id, week, err, srv.log.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	cr2, ar2, text2 := read()
	if !reflect.DeepEqual(cr2, cr) {
		t.Errorf("check report after retention:\n%+v\nbefore:\n%+v", cr2, cr)
	}
	if !reflect.DeepEqual(ar2, ar) {
		t.Errorf("agent report's check rates after retention:\n%+v\nbefore:\n%+v", ar2, ar)
	}
	if !reflect.DeepEqual(text2, text) {
		t.Errorf("report texts after retention:\n%s\nbefore:\n%s", text2, text)
	}
}

// containsLine tells whether some line of text has all of words as
// whitespace-separated fields.
func containsLine(text string, words ...string) bool {
	for line := range strings.SplitSeq(text, "\n") {
		fields := strings.Fields(line)
		found := true
		for _, w := range words {
			if !slices.Contains(fields, w) {
				found = false
				break
			}
		}
		if found {
			return true
		}
	}
	return false
}
