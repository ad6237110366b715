package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"qa-sampling/store"
)

// BenchmarkBlockDecode decodes an hour block of 6,000 rows (a week of a
// million chats is 168 of them) to a consumer that copies each row, as
// the weekly scan's does: ns/op over 6,000 is the cost a row.
func BenchmarkBlockDecode(b *testing.B) {
	const hour = 490_000
	enc := newBlockEncoder(hour, true)
	for i := range 6000 {
		r := store.SampleRow{
			ExternalID: fmt.Sprintf("conv-%010d", i), AgentIDs: []string{fmt.Sprintf("agent-%04d", i%2000)},
			Channel: []string{"chat", "email", "phone"}[i%3], CustomerTier: "regular", CSAT: i % 6, TransferCount: i % 3,
			HandleTime: time.Duration(i%900) * time.Second, EndedAt: fromMillis(hour*hourMS + int64(i)*600),
			MessageCount: 12, AgentMessageCount: 6, CustomerMessages: 6,
		}
		if i%10 == 0 {
			r.Tags = []string{"refund", "投诉"}
		}
		enc.add(&r, uint64(i)*0x9e3779b97f4a7c15)
	}
	data := enc.bytes()
	sink := make([]store.SampleRow, 0, 6000)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		d, err := newBlockDecoder(hour, data, true)
		if err != nil {
			b.Fatal(err)
		}
		sink = sink[:0]
		if err := d.each(func(r store.SampleRow) error { sink = append(sink, r); return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
