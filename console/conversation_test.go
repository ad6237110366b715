package console

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// renderConversation renders the partial alone, as a page would.
func renderConversation(t *testing.T, v *View, conv Conversation) string {
	t.Helper()
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := c.pages.pages["error.html"].Clone()
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Funcs(viewFuncs(v))
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "conversation", conv); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestConversationNumbersLabelsAndTimesMessagesInTheProgrammeZone(t *testing.T) {
	start := time.Date(2026, 11, 16, 1, 2, 3, 0, time.UTC) // 09:02:03 in Shanghai
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(start.Add(d)) }
	csat := int32(2)
	tr := &qav1.Transcript{
		ExternalId: "c-1", AgentId: "agent-zw", Channel: "chat", CustomerTier: "vip", StartedAt: ts(0), EndedAt: ts(5 * time.Minute),
		Tags: []string{"complaint"}, Csat: &csat, TransferCount: 1,
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_BOT, Text: "您好，我是智能助手", SentAt: ts(0)},
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "我要退款 <b>", SentAt: ts(10 * time.Second)},
			{Role: qav1.Role_ROLE_SYSTEM, Text: "已转人工", SentAt: ts(12 * time.Second)},
			{Role: qav1.Role_ROLE_AGENT, AgentId: "agent-ln", Text: "您好，我是李娜", SentAt: ts(40 * time.Second)},
			{Role: qav1.Role_ROLE_AGENT, Text: "售后为您处理", SentAt: ts(90 * time.Second)},
		},
		Metrics: &qav1.DerivedMetrics{MessageCount: 5, AgentMessageCount: 2, CustomerMessageCount: 1, BotMessageCount: 1, SystemMessageCount: 1,
			FirstResponseTime: durationpb.New(30 * time.Second), HandleTime: durationpb.New(5*time.Minute + 3*time.Second), AgentReplyCount: 1},
	}
	v := &View{Lang: langZH, Zone: mustZone("Asia/Shanghai")}
	conv := newConversation(v, tr, map[string]string{"agent-zw": "张伟", "agent-ln": "李娜"}, []Hint{{Check: "no_greeting", Message: 4}})
	if len(conv.Messages) != 5 || conv.Messages[3].Author != "李娜" || conv.Messages[4].Author != "张伟" {
		t.Fatalf("messages %+v", conv.Messages)
	}
	if conv.Messages[3].Transfer || !conv.Messages[4].Transfer {
		t.Fatalf("the transfer is the second agent's first message: %+v", conv.Messages)
	}
	if len(conv.Messages[3].Hints) != 1 {
		t.Fatalf("the hint belongs to message 4: %+v", conv.Messages[3])
	}
	html := renderConversation(t, v, conv)
	for _, want := range []string{
		`id="msg-1"`, `id="msg-5"`, "客户", "客服</b> · 李娜", "机器人", "系统", "09:02:03", "09:02:13",
		"首次响应时间", "30 秒", "5 分 03 秒", "转接次数", "2 / 5", "缺少开场白", `href="#msg-4"`, "张伟 <span class=\"muted\">(agent-zw)</span>",
		"我要退款 &lt;b&gt;", "会话在此转接",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("conversation lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "平均响应时间") {
		t.Error("an absent metric is shown")
	}
	en := renderConversation(t, &View{Lang: langEN, Zone: time.UTC}, newConversation(&View{Lang: langEN, Zone: time.UTC}, tr, nil, nil))
	for _, want := range []string{"Customer", "Agent</b> · agent-ln", "01:02:03", "5m 03s", "The automatic checks found nothing."} {
		if !strings.Contains(en, want) {
			t.Errorf("English conversation lacks %q:\n%s", want, en)
		}
	}
}

// TestConsoleHints: the service's check hits become hints linked to their
// numbered message, with what matched or the wait in the visitor's words.
func TestConsoleHints(t *testing.T) {
	tr := &qav1.Transcript{ExternalId: "c-1", Messages: []*qav1.Message{
		{Role: qav1.Role_ROLE_CUSTOMER, Text: "在吗"},
		{Role: qav1.Role_ROLE_AGENT, Text: "愛買不買"},
	}}
	hits := []*qav1.CheckHit{
		{Check: "slow_first_response", MessageIndex: 1, WaitMs: 45000, LimitMs: 30000},
		{Check: "forbidden_phrase", MessageIndex: 1, Matched: "愛買不買", Phrase: "爱买不买"},
	}
	for _, tc := range []struct {
		lang string
		want []string
	}{
		{langZH, []string{"首次响应慢", "禁用语", `href="#msg-2"`, "第 2 条消息", "等待 45 秒，时限 30 秒", "“愛買不買”（词条“爱买不买”）"}},
		{langEN, []string{"Slow first response", "Forbidden phrase", `href="#msg-2"`, "message 2", "waited 45s, limit 30s", "“愛買不買” (phrase “爱买不买”)"}},
	} {
		v := &View{Lang: tc.lang, Zone: time.UTC}
		conv := newConversation(v, tr, nil, consoleHints(v, hits))
		if len(conv.Messages[1].Hints) != 2 {
			t.Fatalf("hints of message 2: %+v", conv.Messages[1].Hints)
		}
		html := renderConversation(t, v, conv)
		for _, want := range tc.want {
			if !strings.Contains(html, want) {
				t.Errorf("%s: conversation lacks %q:\n%s", tc.lang, want, html)
			}
		}
	}
}

// A reviewed chat emptied by retention says so, with when, instead of
// "no messages".
func TestConversationContentRemoved(t *testing.T) {
	at := time.Date(2027, 3, 1, 2, 0, 0, 0, time.UTC) // 10:00 in Shanghai
	tr := &qav1.Transcript{ExternalId: "c-old", AgentId: "a1", Channel: "chat", ContentRemovedAt: timestamppb.New(at)}
	for lang, want := range map[string]string{langZH: "会话内容已于 2027-03-01 10:00 按保留期限删除", langEN: "removed by retention on 2027-03-01 10:00"} {
		v := &View{Lang: lang, Zone: mustZone("Asia/Shanghai")}
		out := renderConversation(t, v, newConversation(v, tr, nil, nil))
		if !strings.Contains(out, want) || strings.Contains(out, v.T("conversation.no_messages")) {
			t.Errorf("%s: %s", lang, out)
		}
	}
}
