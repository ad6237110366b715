package checks

import (
	"testing"
	"time"

	"qa-sampling/transcript"
)

// benchChat is a typical chat of about 20 messages, half of the agent's
// text in traditional characters, with a greeting, a closing and an
// apology (so the automaton finds several phrases, as in most chats).
func benchChat() *transcript.Transcript {
	lines := []line{
		cust(0, "你好，我昨天下單的衣服到現在還沒有發貨，訂單號是 202611230001234567，什麼時候能發？"),
		agent(12*time.Second, "您好，感謝聯繫XX客服，我是客服小王，很高興為您服務"),
		agent(20*time.Second, "非常抱歉讓您久等了，我這邊幫您查詢一下訂單的物流狀態，請稍等"),
	}
	for i := range 8 {
		at := time.Duration(30+i*40) * time.Second
		lines = append(lines,
			cust(at, "好的，那大概需要多久？我這邊比較著急，週末要穿的"),
			agent(at+25*time.Second, "查詢到您的訂單已經在倉庫打包，預計今天下午發出，快遞是順豐，一般兩天左右送達"))
	}
	lines = append(lines, agent(400*time.Second, "感謝您的諮詢，祝您購物愉快！如有其他問題，隨時聯繫我們"))
	return chat("chat", []string{"投诉"}, lines...)
}

func BenchmarkRun(b *testing.B) {
	c := mustCompile(b, Default())
	t := benchChat()
	bytes := 0
	for _, m := range t.Messages {
		bytes += len(m.Text)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		if r := c.Run(t); r.Flags != 0 {
			b.Fatalf("hits %+v", r.Hits)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	s := benchChat().Messages[2].Text
	b.SetBytes(int64(len(s)))
	buf := appendNormal(nil, s)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendNormal(buf[:0], s)
	}
}

func BenchmarkCompileDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		mustCompile(b, Default())
	}
}
