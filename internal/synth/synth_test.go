package synth

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"qa-sampling/transcript"
)

var end = time.Date(2026, 11, 23, 18, 30, 0, 0, time.UTC)

func TestDeterministic(t *testing.T) {
	a := Transcript(rand.New(rand.NewPCG(1, 2)), 7, AgentID(3), end)
	b := Transcript(rand.New(rand.NewPCG(1, 2)), 7, AgentID(3), end)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different transcripts")
	}
	c := Transcript(rand.New(rand.NewPCG(1, 3)), 7, AgentID(3), end)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same transcript")
	}
}

// TestShape checks what the benchmarks rely on: valid input, about twenty
// messages and 2.7 KB of text, and a body that compresses like chat text
// rather than like a repeated string.
func TestShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	const n = 1000
	var msgs, text, body int
	for i := range n {
		tr := Transcript(rng, i, AgentID(i%50), end.Add(time.Duration(i)*time.Minute))
		if i%10 == 0 {
			Transfer(&tr, AgentID(999))
		}
		if fe := transcript.Validate(&tr, transcript.DefaultLimits(), end); fe != nil {
			t.Fatalf("transcript %d invalid: %v", i, fe)
		}
		if tr.ExternalID != ExternalID(i) || !tr.EndedAt.Equal(end.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("transcript %d: id %q, ended %s", i, tr.ExternalID, tr.EndedAt)
		}
		p := transcript.Prepare(tr)
		if i%10 == 0 {
			if want := []string{AgentID(i % 50), AgentID(999)}; !reflect.DeepEqual(p.AgentIDs, want) || tr.TransferCount != 1 {
				t.Fatalf("transfer: authors %q, count %d", p.AgentIDs, tr.TransferCount)
			}
		} else if len(p.AgentIDs) != 1 {
			t.Fatalf("authors %q without a transfer", p.AgentIDs)
		}
		msgs += len(tr.Messages)
		for _, m := range tr.Messages {
			text += len(m.Text)
		}
		body += len(p.Body)
	}
	avgMsgs, avgText, ratio := float64(msgs)/n, float64(text)/n, float64(text)/float64(body)
	t.Logf("%.1f messages, %.0f text bytes, body %.0f bytes (text/body %.2f)", avgMsgs, avgText, float64(body)/n, ratio)
	if avgMsgs < 17 || avgMsgs > 24 {
		t.Errorf("%.1f messages a transcript, want about 20", avgMsgs)
	}
	if avgText < 2400 || avgText > 3000 {
		t.Errorf("%.0f text bytes a transcript, want about 2700", avgText)
	}
	if ratio > 2.5 {
		t.Errorf("text compresses %.1fx: too repetitive to stand for real chats", ratio)
	}
}

func TestIDsIncrease(t *testing.T) {
	if ExternalID(9) >= ExternalID(10) || ExternalID(10) >= ExternalID(123456) {
		t.Error("ExternalID does not sort in numeric order")
	}
}

func TestRestamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	p := transcript.Prepare(Transcript(rng, 1, AgentID(1), end))
	handle := p.EndedAt.Sub(p.StartedAt)
	r := Restamp(p, "other", AgentID(2), end.Add(time.Hour))
	if r.ExternalID != "other" || r.AgentID != AgentID(2) || !reflect.DeepEqual(r.AgentIDs, []string{AgentID(2)}) {
		t.Errorf("restamped identity %q %q %q", r.ExternalID, r.AgentID, r.AgentIDs)
	}
	if !r.EndedAt.Equal(end.Add(time.Hour)) || r.EndedAt.Sub(r.StartedAt) != handle {
		t.Errorf("restamped times %s..%s, want handle time %s kept", r.StartedAt, r.EndedAt, handle)
	}
	if p.ExternalID != ExternalID(1) || p.AgentID != AgentID(1) {
		t.Error("Restamp changed its input")
	}

	tr := Transcript(rng, 2, AgentID(1), end)
	Transfer(&tr, AgentID(9))
	x := Restamp(transcript.Prepare(tr), "x", AgentID(2), end)
	if x.AgentID != AgentID(1) {
		t.Errorf("a transfer was reassigned to %q; its authors must stay consistent", x.AgentID)
	}
}
