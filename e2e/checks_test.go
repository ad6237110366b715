package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// checkChat is a well-served chat as the seed's models have it: a
// greeting, a prompt answer, an apology, a closing. Its messages:
// 0 customer, 1 agent greeting, 2 customer, 3 agent answer, 4 agent
// closing.
func checkChat(id, agentID string) *qav1.Transcript {
	start := baseTime.Add(time.Duration(len(id)) * time.Minute)
	at := func(s int) *timestamppb.Timestamp { return timestamppb.New(start.Add(time.Duration(s) * time.Second)) }
	msg := func(role qav1.Role, s int, text string) *qav1.Message {
		m := &qav1.Message{Role: role, Text: text, SentAt: at(s)}
		if role == qav1.Role_ROLE_AGENT {
			m.AgentId = agentID
		}
		return m
	}
	return &qav1.Transcript{
		ExternalId: id, AgentId: agentID, Channel: "chat", CustomerId: "cust-" + id, CustomerTier: "regular",
		StartedAt: at(0), EndedAt: at(120),
		Messages: []*qav1.Message{
			msg(qav1.Role_ROLE_CUSTOMER, 0, "我买的鞋子尺码不对，能换吗？"),
			msg(qav1.Role_ROLE_AGENT, 10, "您好，感谢联系XX客服，我是客服小王，很高兴为您服务"),
			msg(qav1.Role_ROLE_CUSTOMER, 20, "订单号 202611160001234567"),
			msg(qav1.Role_ROLE_AGENT, 50, "不好意思给您添麻烦了，已为您登记换货，快递员明天上门取件。"),
			msg(qav1.Role_ROLE_AGENT, 60, "感谢您的咨询，祝您购物愉快！如有其他问题，随时联系我们"),
		},
	}
}

type hintJSON struct {
	Check        string `json:"check"`
	MessageIndex int    `json:"message_index"`
	Matched      string `json:"matched"`
	Phrase       string `json:"phrase"`
	WaitMS       string `json:"wait_ms"` // int64 is a string in protojson
	LimitMS      string `json:"limit_ms"`
	Version      string `json:"check_set_version"`
}

// TestChecksFlagChineseChats (issue 11 §1–3): on a real qad, each backend,
// chats with a missing greeting, a forbidden phrase written in
// traditional characters, a slow first reply and a complaint without an
// apology are flagged at the right message when pushed; the hints show in
// `transcript get` and `review show` (text and --json); a check: rule of
// the policy picks each; the check set is edited with `checks set`
// (refused naming the field when invalid; audited).
func TestChecksFlagChineseChats(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testChecksFlagChineseChats(t, b.dsn, b.name == "sqlite") })
	}
}

func testChecksFlagChineseChats(t *testing.T, dsn string, browse bool) {
	const week = "2026-W47"
	srv := startServer(t, dsn, "--sample-schedule", "off")
	admin, ingestToken := srv.token("admin", "qa-lead"), srv.token("ingest", "platform")
	ctx := withToken(t.Context(), ingestToken)
	client := srv.client(ingestToken)
	agents := []string{"a1", "a2", "a3", "a4"}
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor(agents...)}); err != nil {
		t.Fatal(err)
	}
	qactl := func(token string, args ...string) string {
		t.Helper()
		out, errOut, code := srv.qactl(token, args...)
		if code != 0 {
			t.Fatalf("qactl %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	writeFile := func(doc string) string {
		path := filepath.Join(t.TempDir(), "doc.json")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The check set: invalid edits are refused naming the field; a valid
	// one adds a phrase and becomes version 2 (the default is version 1).
	var set map[string]any
	if err := json.Unmarshal([]byte(qactl(admin, "--json", "checks", "get")), &set); err != nil {
		t.Fatal(err)
	}
	if set["version"] != "1" || !strings.Contains(fmt.Sprint(set["forbidden_phrases"]), "爱买不买") {
		t.Fatalf("default check set: %v", set)
	}
	set["greeting_phrases"] = []string{}
	set["disabled"] = []string{"no_greting"}
	bad, _ := json.Marshal(set)
	if out, errOut, code := srv.qactl(admin, "checks", "set", "--file", writeFile(string(bad))); code != 3 ||
		!strings.Contains(errOut, "check_set.disabled[0]") || !strings.Contains(errOut, "check_set.greeting_phrases") {
		t.Fatalf("invalid check set: exit %d\n%s%s\nwant 3 naming check_set.disabled[0] and check_set.greeting_phrases", code, out, errOut)
	}
	if err := json.Unmarshal([]byte(qactl(admin, "--json", "checks", "get")), &set); err != nil {
		t.Fatal(err)
	}
	set["forbidden_phrases"] = append(set["forbidden_phrases"].([]any), "不关我事")
	delete(set, "version")
	good, _ := json.Marshal(set)
	if out := qactl(admin, "checks", "set", "--file", writeFile(string(good))); !strings.Contains(out, "version:") || !strings.Contains(out, "不关我事") {
		t.Fatalf("checks set printed:\n%s", out)
	}
	if out := qactl(admin, "audit", "list", "--action", "checks.create"); strings.Count(out, "checks.create") != 2 {
		t.Errorf("audit of check sets:\n%s", out)
	}

	// Four clean chats per agent and one flagged.
	flagged := map[string]func(*qav1.Transcript){
		"a1-t": func(c *qav1.Transcript) { c.Messages[1].Text = "在的" },           // no greeting
		"a2-t": func(c *qav1.Transcript) { c.Messages[3].Text = "愛買不買，尺碼表你自己看" }, // traditional
		"a3-t": func(c *qav1.Transcript) { // the first reply after 45 s
			c.Messages[1].SentAt = timestamppb.New(c.Messages[0].SentAt.AsTime().Add(45 * time.Second))
			c.Messages[2].SentAt = timestamppb.New(c.Messages[0].SentAt.AsTime().Add(46 * time.Second))
		},
		"a4-t": func(c *qav1.Transcript) { // a complaint, no apology
			c.Tags = []string{"投诉"}
			c.Messages[3].Text = "已为您登记换货，快递员明天上门取件。"
		},
	}
	for _, agent := range agents {
		for _, suffix := range []string{"0", "1", "2", "3", "t"} {
			id := agent + "-" + suffix
			c := checkChat(id, agent)
			if edit := flagged[id]; edit != nil {
				edit(c)
			}
			if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: c}); err != nil {
				t.Fatalf("push %s: %v", id, err)
			}
		}
	}

	hints := func(id string) []hintJSON {
		t.Helper()
		var got struct {
			ExternalID string     `json:"external_id"`
			Hints      []hintJSON `json:"hints"`
		}
		if err := json.Unmarshal([]byte(qactl(admin, "--json", "transcript", "get", id)), &got); err != nil || got.ExternalID != id {
			t.Fatalf("transcript get %s: %v %+v", id, err, got)
		}
		return got.Hints
	}
	want := map[string]hintJSON{
		"a1-t": {Check: "no_greeting", MessageIndex: 1},
		"a2-t": {Check: "forbidden_phrase", MessageIndex: 3, Matched: "愛買不買", Phrase: "爱买不买"},
		"a3-t": {Check: "slow_first_response", MessageIndex: 1, WaitMS: "45000", LimitMS: "30000"},
		"a4-t": {Check: "no_empathy", MessageIndex: 1},
	}
	for id, w := range want {
		got := hints(id)
		if len(got) == 0 {
			t.Errorf("%s: no hints, want %+v", id, w)
			continue
		}
		h := got[0]
		if h.Version != "2" {
			t.Errorf("%s: hint of check set version %q, want 2", id, h.Version)
		}
		h.Version = ""
		if h != w {
			t.Errorf("%s: first hint %+v, want %+v (all: %+v)", id, h, w, got)
		}
	}
	if got := hints("a2-t"); len(got) != 2 || got[1].Matched != "你自己看" {
		t.Errorf("a2-t hints %+v, want 爱买不买 and 你自己看", got)
	}
	for _, agent := range agents {
		if got := hints(agent + "-0"); len(got) != 0 {
			t.Errorf("clean chat %s-0 has hints %+v", agent, got)
		}
	}
	if out := qactl(admin, "transcript", "get", "a2-t"); !strings.Contains(out, "message 4 [") || !strings.Contains(out, "forbidden_phrase: 愛買不買 (爱买不买)") {
		t.Errorf("transcript get a2-t text lacks the hint:\n%s", out)
	}

	// check: rules pick them, each for its own reason.
	// The file leaves out time_zone and handle_time_percentile: they take
	// their defaults. --dry-run validates without storing; a misspelt check
	// is refused by its place in rules.
	policy := `{"random_per_agent": 0, "targeted_per_agent": 3, "new_hire_days": 90, "new_hire_extra": 0,
		"rules": ["check:no_greeting", "check:forbidden_phrase", "check:slow_first_response", "check:no_empathy"]}`
	if out := qactl(admin, "policy", "set", "--dry-run", "--file", writeFile(policy)); out != "valid\n" {
		t.Errorf("policy set --dry-run: %q, want valid", out)
	}
	if out, errOut, code := srv.qactl(admin, "policy", "set", "--dry-run", "--file", writeFile(strings.Replace(policy, "check:no_empathy", "check:no_empaty", 1))); code != 3 ||
		!strings.Contains(errOut, "policy.rules[3]") {
		t.Errorf("policy set --dry-run of a misspelt check: exit %d\n%s%s\nwant 3 naming policy.rules[3]", code, out, errOut)
	}
	var stored struct {
		Version    string  `json:"version"`
		TimeZone   string  `json:"time_zone"`
		Percentile float64 `json:"handle_time_percentile"`
	}
	if err := json.Unmarshal([]byte(qactl(admin, "--json", "policy", "get")), &stored); err != nil || stored.Version != "1" {
		t.Errorf("after --dry-run the newest policy is version %q (%v), want the default 1: nothing stored", stored.Version, err)
	}
	if err := json.Unmarshal([]byte(qactl(admin, "--json", "policy", "set", "--file", writeFile(policy))), &stored); err != nil ||
		stored.Version != "2" || stored.TimeZone != "Asia/Shanghai" || stored.Percentile != 0.9 {
		t.Errorf("policy without time_zone and handle_time_percentile stored as %+v (%v); want version 2, Asia/Shanghai, 0.9", stored, err)
	}
	qactl(admin, "inspector", "add", "insp-1", "--name", "质检员一号")
	qactl(admin, "sample", "run", "--week", week)
	picks := parsePicks(t, qactl(admin, "--json", "sample", "list", "--week", week))
	reasons := map[string]string{}
	var pickOfA2 string
	for _, p := range picks {
		if p.Reason != "random" { // the weekly minimum of 3 fills up at random
			reasons[p.ExternalID] = p.Reason
		}
		if p.ExternalID == "a2-t" {
			pickOfA2 = p.ID
		}
	}
	wantReasons := map[string]string{"a1-t": "check:no_greeting", "a2-t": "check:forbidden_phrase", "a3-t": "check:slow_first_response", "a4-t": "check:no_empathy"}
	if fmt.Sprint(reasons) != fmt.Sprint(wantReasons) {
		t.Fatalf("picks %v, want %v", reasons, wantReasons)
	}

	// The inspector sees the hints with the chat.
	insp := srv.token("inspector", "insp-1")
	show := qactl(insp, "review", "show", pickOfA2)
	for _, w := range []string{"hints (automatic checks; not scores):", "message 4 [", "forbidden_phrase: 愛買不買 (爱买不买)", "forbidden_phrase: 你自己看"} {
		if !strings.Contains(show, w) {
			t.Errorf("review show lacks %q:\n%s", w, show)
		}
	}
	var opened struct {
		Hints []hintJSON `json:"hints"`
	}
	if err := json.Unmarshal([]byte(qactl(insp, "--json", "review", "show", pickOfA2)), &opened); err != nil || len(opened.Hints) != 2 || opened.Hints[0].MessageIndex != 3 {
		t.Errorf("review show --json hints %+v, %v", opened.Hints, err)
	}

	// And on the console's review page, once (the page does not depend on
	// the backend): the hints list links each to its numbered message.
	if !browse {
		return
	}
	cs := consoleOf(t, srv)
	b := newBrowser(t, cs.HTTP)
	b.signIn(cs.loginLink("inspector", "insp-1"))
	b.open("/review/" + pickOfA2)
	if got := b.text(".hint-list"); !strings.Contains(got, "禁用语") || !strings.Contains(got, "愛買不買") || !strings.Contains(got, "第 4 条消息") {
		t.Errorf("hints list %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`.hint-list a[href="#msg-4"]`)))
	if loc := b.location(); !strings.HasSuffix(loc, "#msg-4") {
		t.Errorf("the hint's link led to %s", loc)
	}
	if got := b.text("#msg-4 .hint"); !strings.Contains(got, "禁用语") {
		t.Errorf("message 4's hint %q", got)
	}
	b.screenshot("review-hints")
}
