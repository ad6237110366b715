package checks

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"qa-sampling/fielderr"
	"qa-sampling/transcript"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

type line struct {
	role transcript.Role
	at   time.Duration
	text string
}

func chat(channel string, tags []string, lines ...line) *transcript.Transcript {
	t := &transcript.Transcript{ExternalID: "c1", AgentID: "a1", Channel: channel, Tags: tags, StartedAt: t0}
	for _, l := range lines {
		m := transcript.Message{Role: l.role, Text: l.text, SentAt: t0.Add(l.at)}
		if l.role == transcript.RoleAgent {
			m.AgentID = "a1"
		}
		t.Messages = append(t.Messages, m)
	}
	t.EndedAt = t.Messages[len(t.Messages)-1].SentAt
	return t
}

func cust(at time.Duration, text string) line { return line{transcript.RoleCustomer, at, text} }
func agent(at time.Duration, text string) line {
	return line{transcript.RoleAgent, at, text}
}

func mustCompile(t testing.TB, s Set) *Checker {
	t.Helper()
	c, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// keysAt lists the hits as "check@message".
func keysAt(r transcript.Checks) []string {
	var out []string
	for _, h := range r.Hits {
		out = append(out, h.Check+"@"+itoa(h.Message))
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestGoodChatHasNoHits(t *testing.T) {
	c := mustCompile(t, Default())
	r := c.Run(chat("chat", []string{"投诉"},
		cust(0, "我的快递三天了还没到,我要投诉"),
		agent(10*time.Second, "您好,感谢联系XX客服,我是客服小王,很高兴为您服务"),
		agent(20*time.Second, "非常抱歉给您带来不便,我马上帮您查询"),
		cust(40*time.Second, "好的"),
		agent(70*time.Second, "已经催促快递,明天送达。如有其他问题,随时联系我们"),
	))
	if len(r.Hits) != 0 || r.Flags != 0 {
		t.Fatalf("hits %+v flags %b", r.Hits, r.Flags)
	}
}

func TestEachCheckPointsAtItsMessage(t *testing.T) {
	c := mustCompile(t, Default())
	r := c.Run(chat("chat", []string{"Complaint"},
		cust(0, "東西壞了"),
		agent(45*time.Second, "在的"), // 1: slow first response, no greeting, no empathy
		cust(50*time.Second, "怎麼辦"),
		agent(3*time.Minute, "這個我不知道，你自己看說明書"), // 3: slow reply, forbidden ×2 in traditional
		agent(3*time.Minute+time.Second, "嗯"),  // 4: no closing
	))
	want := []string{"slow_first_response@1", "no_greeting@1", "no_empathy@1", "slow_reply@3", "forbidden_phrase@3", "forbidden_phrase@3", "no_closing@4"}
	if got := keysAt(r); !slices.Equal(got, want) {
		t.Fatalf("hits %v, want %v", got, want)
	}
	for _, h := range r.Hits {
		if h.Check == ForbiddenPhrase {
			if !strings.Contains(r.Hits[4].Matched+r.Hits[5].Matched, "不知道") || !slices.Contains([]string{"不知道", "你自己看"}, h.Phrase) {
				t.Errorf("forbidden hit %+v", h)
			}
		}
	}
	if m := r.Hits[5].Matched; m != "你自己看" {
		t.Errorf("matched %q, want the text as written", m)
	}
	if h := r.Hits[0]; h.WaitMS != 45000 || h.LimitMS != 30000 {
		t.Errorf("first response hit %+v", h)
	}
	if h := r.Hits[3]; h.WaitMS != 130000 || h.LimitMS != 60000 {
		t.Errorf("reply hit %+v", h)
	}
	wantFlags := uint64(0)
	for _, k := range Keys {
		b, _ := Bit(k)
		wantFlags |= b
	}
	if r.Flags != wantFlags || !slices.Equal(FlagNames(r.Flags), Keys) {
		t.Errorf("flags %b", r.Flags)
	}
}

func TestTraditionalWidthAndCase(t *testing.T) {
	s := Default()
	s.ForbiddenPhrases = append(s.ForbiddenPhrases, "ＶＩＰ專屬")
	c := mustCompile(t, s)
	for _, text := range []string{"愛買不買", "爱买不买", "你自己看吧", "绝對沒問題", "保證送達", "TMD", "ｔｍｄ", "vip专属"} {
		r := c.Run(chat("chat", nil, cust(0, "?"), agent(time.Second, "您好，"+text+"。再见")))
		if r.Flags != mustBit(ForbiddenPhrase) || r.Hits[0].Message != 1 {
			t.Errorf("%q: hits %+v", text, r.Hits)
		}
	}
	// Inside an allowed phrase, inside a word, or said by the customer.
	for _, text := range []string{"请先缴纳保证金", "USB接口", "this is fine", "绝对值"} {
		r := c.Run(chat("chat", nil, cust(0, "爱买不买"), agent(time.Second, "您好，"+text+"。再见")))
		if r.Flags != 0 {
			t.Errorf("%q: hits %+v", text, r.Hits)
		}
	}
}

func mustBit(k string) uint64 { b, _ := Bit(k); return b }

func TestSLAPerChannel(t *testing.T) {
	c := mustCompile(t, Default())
	slowEmail := chat("Email", nil, cust(0, "请问发票"), agent(25*time.Hour, "您好，发票已开。再见"))
	if r := c.Run(slowEmail); r.Flags != mustBit(SlowFirstResponse) || r.Hits[0].Message != 1 {
		t.Errorf("email: %+v", r.Hits)
	}
	okEmail := chat("email", nil, cust(0, "请问发票"), agent(5*time.Hour, "您好，发票已开。再见"))
	if r := c.Run(okEmail); r.Flags != 0 {
		t.Errorf("email in 5h: %+v", r.Hits)
	}
	phone := chat("phone", nil, cust(0, "喂"), agent(10*time.Minute, "您好。再见"))
	if r := c.Run(phone); r.Flags != 0 {
		t.Errorf("phone has no SLA: %+v", r.Hits)
	}
}

func TestDisabledAndNoAgent(t *testing.T) {
	s := Default()
	s.Disabled = []string{NoGreeting, NoClosing}
	s.GreetingPhrases = nil
	c := mustCompile(t, s)
	if r := c.Run(chat("chat", nil, cust(0, "?"), agent(time.Second, "嗯"))); r.Flags != 0 {
		t.Errorf("disabled checks fired: %+v", r.Hits)
	}
	if r := mustCompile(t, Default()).Run(chat("chat", []string{"投诉"}, cust(0, "有人吗"))); r.Flags != 0 {
		t.Errorf("no agent message: %+v", r.Hits)
	}
}

func TestValidateNamesFields(t *testing.T) {
	s := Default()
	s.SLA = append(s.SLA, ChannelSLA{Channel: "ＣＨＡＴ", FirstResponseSeconds: -1, ReplySeconds: 5})
	s.GreetingPhrases = nil
	s.ForbiddenPhrases = append(s.ForbiddenPhrases, "愛買不買", " ", "x\ny")
	s.Disabled = []string{"no_greting"}
	err := s.Validate()
	var fe *fielderr.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err %v", err)
	}
	var fields []string
	for _, v := range fe.Violations {
		fields = append(fields, v.Field)
	}
	n := len(Default().ForbiddenPhrases)
	want := []string{"sla[2].channel", "sla[2].first_response_seconds", "disabled[0]", "greeting_phrases",
		"forbidden_phrases[" + itoa2(n) + "]", "forbidden_phrases[" + itoa2(n+1) + "]", "forbidden_phrases[" + itoa2(n+2) + "]"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %v, want %v\n%v", fields, want, err)
	}
	// Each message says what to do in the list's own words and names what
	// a duplicate repeats.
	for field, want := range map[string]string{
		"greeting_phrases":                    "empty while check no_greeting runs; add phrases or list no_greeting under disabled",
		"forbidden_phrases[" + itoa2(n) + "]": `"愛買不買" is forbidden_phrases[0] "爱买不买" again`,
	} {
		if i := slices.Index(fields, field); i < 0 || !strings.Contains(fe.Violations[i].Reason, want) {
			t.Errorf("%s: %v, want %q", field, err, want)
		}
	}
	s = Default()
	s.ComplaintTags = nil
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "complaint_tags: empty while check no_empathy runs; add tags or list no_empathy under disabled") {
		t.Errorf("no complaint tags: %v", err)
	}
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
}

func itoa2(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/10)) + string(rune('0'+i%10)))
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"愛買不買": "爱买不买", "ＡＢＣ１２３": "abc123", "對不起": "对不起", "給您帶來不便": "给您带来不便"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
