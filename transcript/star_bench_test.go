package transcript_test

import (
	"testing"

	"qa-sampling/internal/stardata"
	"qa-sampling/transcript"
)

// BenchmarkSTARBodies reports the stored body size of the real STAR chats
// in testdata, without a dictionary and with one made from other chats of
// the same set (the first 150 with messages, which are then not measured),
// as the server makes one from the chats it stored first.
func BenchmarkSTARBodies(b *testing.B) {
	ds, err := stardata.LoadSubset()
	if err != nil {
		b.Fatal(err)
	}
	var chats []transcript.Transcript
	for _, d := range ds {
		if t := stardata.Convert(d); len(t.Messages) > 0 {
			chats = append(chats, t)
		}
	}
	train, measured := chats[:150], chats[150:]
	withDict := transcript.NewCodec()
	var samples [][]byte
	for _, t := range train {
		p, err := withDict.Payload(withDict.Prepare(t).Body)
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, p)
	}
	d, err := transcript.TrainDictionary(40000, samples)
	if err != nil {
		b.Fatal(err)
	}
	if err := withDict.Install([]transcript.Dictionary{d}, d.ID); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		codec *transcript.Codec
	}{{"zstd", transcript.NewCodec()}, {"s2+dictionary", withDict}} {
		b.Run(c.name, func(b *testing.B) {
			var bodyBytes, payloadBytes int
			for b.Loop() {
				bodyBytes, payloadBytes = 0, 0
				for _, t := range measured {
					body := c.codec.Prepare(t).Body
					p, err := c.codec.Payload(body)
					if err != nil {
						b.Fatal(err)
					}
					bodyBytes += len(body)
					payloadBytes += len(p)
				}
			}
			b.ReportMetric(float64(bodyBytes)/float64(len(measured)), "body-B/chat")
			b.ReportMetric(float64(payloadBytes)/float64(len(measured)), "raw-B/chat")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(measured)), "µs/chat")
		})
	}
}
