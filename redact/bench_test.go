package redact_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"qa-sampling/internal/synth"
	"qa-sampling/redact"
	"qa-sampling/transcript"
)

// chats returns qagen's synthetic chats (Chinese, full of order numbers,
// tracking numbers, amounts and dates), every fifth given a customer's
// phone, ID-card and card number, as a share of real chats carry them.
func chats(tb testing.TB, n int) []transcript.Transcript {
	out := plainChats(tb, n)
	for i := range out {
		if t := &out[i]; i%5 == 0 && len(t.Messages) > 2 {
			t.Messages = append([]transcript.Message(nil), t.Messages...)
			t.Messages[1].Text += " 我电话13812345678，身份证" + idX + "，退款到卡 6217 0000 0012 3451"
		}
	}
	return out
}

// plainChats are qagen's chats as it writes them.
func plainChats(tb testing.TB, n int) []transcript.Transcript {
	h := synth.History{Weeks: 1, PerWeek: n, Agents: 50, LastWeekStart: time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), Vocab: synth.Platform}
	var out []transcript.Transcript
	err := h.Generate(rand.New(rand.NewPCG(1, 2)), func(t transcript.Transcript) error {
		out = append(out, t)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkTranscript redacts whole chats with every kind on; bytes are
// message text and attribute values.
func BenchmarkTranscript(b *testing.B) {
	ts := chats(b, 2000)
	var bytes int64
	for _, t := range ts {
		for _, m := range t.Messages {
			bytes += int64(len(m.Text))
		}
		for _, v := range t.Attributes {
			bytes += int64(len(v))
		}
	}
	b.SetBytes(bytes / int64(len(ts)))
	b.ReportAllocs()
	b.ResetTimer()
	key := testKey(b)
	replaced := 0
	for i := range b.N {
		t := ts[i%len(ts)]
		fc := redact.All.Transcript(&t, key)
		replaced += fc.Total().Total()
	}
	if replaced == 0 {
		b.Fatal("nothing was redacted")
	}
}

// BenchmarkPrepare is what ingest does to each chat anyway (metrics, body
// encoding and compression, hashing), for scale: redaction's cost as a
// share of it is measured in one run.
func BenchmarkPrepare(b *testing.B) {
	ts := chats(b, 2000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		transcript.Prepare(ts[i%len(ts)])
	}
}

// BenchmarkTranscriptPhoneCustomerIDs is BenchmarkTranscript on chats
// whose every customer id is a phone number (a platform that uses them as
// ids): the cost of a keyed pseudonym on each chat.
func BenchmarkTranscriptPhoneCustomerIDs(b *testing.B) {
	ts := chats(b, 2000)
	for i := range ts {
		ts[i].CustomerID = fmt.Sprintf("1391234%04d", i)
	}
	key := testKey(b)
	b.ReportAllocs()
	b.ResetTimer()
	pseudonymised := 0
	for i := range b.N {
		t := ts[i%len(ts)]
		fc := redact.All.Transcript(&t, key)
		pseudonymised += fc[redact.CustomerID].Total()
	}
	if pseudonymised != b.N {
		b.Fatalf("%d customer ids pseudonymised in %d chats", pseudonymised, b.N)
	}
}
