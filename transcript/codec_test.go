package transcript

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"
)

// realisticChat is a 20-message order enquiry as a chat platform pushes it,
// with sub-millisecond times as real clocks give them.
func realisticChat() Transcript {
	lines := []struct {
		role Role
		text string
	}{
		{RoleBot, "Hi! I'm the shop assistant. What can I help you with today?"},
		{RoleCustomer, "hi, my order hasn't arrived yet"},
		{RoleBot, "I'm connecting you with an agent, please hold on."},
		{RoleSystem, "Agent Lin joined the conversation."},
		{RoleAgent, "Hello, this is Lin. Sorry for the wait! Could you give me your order number?"},
		{RoleCustomer, "it's 2024050112345, ordered last Monday"},
		{RoleAgent, "Thank you. One moment while I check the shipment for order 2024050112345."},
		{RoleAgent, "I can see the parcel left our warehouse on Tuesday with SF Express, tracking number SF1400099887766."},
		{RoleCustomer, "the tracking page says it's stuck in Hangzhou since thursday"},
		{RoleCustomer, "I need it before the weekend, it's a birthday present"},
		{RoleAgent, "I understand, that's frustrating. I've contacted the courier and asked them to prioritise it."},
		{RoleAgent, "They confirmed it will be delivered tomorrow before 18:00."},
		{RoleCustomer, "ok and if it doesn't come?"},
		{RoleAgent, "If it hasn't arrived by tomorrow 18:00, reply here and I'll send a replacement by express at no cost."},
		{RoleCustomer, "can I get a refund of the shipping fee?"},
		{RoleAgent, "Yes, I've issued a refund of the 12 yuan shipping fee; it reaches your account in 1-3 working days."},
		{RoleCustomer, "great, thanks"},
		{RoleAgent, "You're welcome! Is there anything else I can help you with?"},
		{RoleCustomer, "no that's all"},
		{RoleAgent, "Thank you for shopping with us. Have a nice day!"},
	}
	start := time.Date(2024, 5, 1, 9, 30, 0, 123_456_789, time.UTC)
	tr := Transcript{
		ExternalID: "chat-2024050112345-1", AgentID: "agent-lin", Channel: "chat",
		CustomerID: "cust-88231", CustomerTier: "regular", StartedAt: start,
		Tags: []string{"refund", "complaint", "logistics"}, CSAT: 4,
		Attributes: map[string]string{"shop": "flagship", "order_id": "2024050112345"},
	}
	at := start
	for i, l := range lines {
		at = at.Add(time.Duration(7+i*3)*time.Second + time.Duration(i)*time.Microsecond)
		tr.Messages = append(tr.Messages, Message{Role: l.role, Text: l.text, SentAt: at})
	}
	tr.EndedAt = at.Add(time.Minute)
	return tr
}

func TestBodySizeOfRealisticChat(t *testing.T) {
	tr := realisticChat()
	raw := 0
	for _, m := range tr.Messages {
		raw += len(m.Text)
	}
	body := EncodeBody(tr.Messages, tr.Attributes)
	t.Logf("%d messages: %d bytes of text, %d bytes of body (%.0f%%)", len(tr.Messages), raw, len(body), 100*float64(len(body))/float64(raw))
	if len(body) >= raw {
		t.Fatalf("body of %d bytes is not smaller than the %d bytes of text", len(body), raw)
	}
}

func TestPrepareContentHash(t *testing.T) {
	base := Prepare(realisticChat()).ContentHash

	same := map[string]func(*Transcript){
		"tags reordered":           func(t *Transcript) { slices.Reverse(t.Tags) },
		"tag repeated":             func(t *Transcript) { t.Tags = append(t.Tags, t.Tags[0]) },
		"sub-millisecond times":    func(t *Transcript) { t.StartedAt = t.StartedAt.Add(100 * time.Nanosecond) },
		"other time zone":          func(t *Transcript) { t.EndedAt = t.EndedAt.In(time.FixedZone("CST", 8*3600)) },
		"explicit author is owner": func(t *Transcript) { t.Messages[4].AgentID = t.AgentID },
		"attributes rebuilt":       func(t *Transcript) { t.Attributes = maps.Clone(t.Attributes) },
	}
	for name, change := range same {
		tr := realisticChat()
		change(&tr)
		if got := Prepare(tr).ContentHash; !bytes.Equal(got, base) {
			t.Errorf("%s: hash changed", name)
		}
	}

	different := map[string]func(*Transcript){
		"external_id":       func(t *Transcript) { t.ExternalID += "x" },
		"agent_id":          func(t *Transcript) { t.AgentID += "x" },
		"channel":           func(t *Transcript) { t.Channel = "email" },
		"customer_id":       func(t *Transcript) { t.CustomerID = "" },
		"customer_tier":     func(t *Transcript) { t.CustomerTier = "vip" },
		"started_at":        func(t *Transcript) { t.StartedAt = t.StartedAt.Add(-time.Millisecond) },
		"ended_at":          func(t *Transcript) { t.EndedAt = t.EndedAt.Add(time.Millisecond) },
		"message role":      func(t *Transcript) { t.Messages[3].Role = RoleBot },
		"message text":      func(t *Transcript) { t.Messages[5].Text += "." },
		"message sent_at":   func(t *Transcript) { t.Messages[7].SentAt = t.Messages[7].SentAt.Add(time.Millisecond) },
		"message agent_id":  func(t *Transcript) { t.Messages[10].AgentID = "agent-wu" },
		"message added":     func(t *Transcript) { t.Messages = append(t.Messages, t.Messages[19]) },
		"message removed":   func(t *Transcript) { t.Messages = t.Messages[:19] },
		"tag added":         func(t *Transcript) { t.Tags = append(t.Tags, "vip") },
		"tag removed":       func(t *Transcript) { t.Tags = t.Tags[1:] },
		"csat":              func(t *Transcript) { t.CSAT = 5 },
		"csat removed":      func(t *Transcript) { t.CSAT = 0 },
		"transfer_count":    func(t *Transcript) { t.TransferCount = 1 },
		"attribute value":   func(t *Transcript) { t.Attributes["shop"] = "outlet" },
		"attribute added":   func(t *Transcript) { t.Attributes["region"] = "east" },
		"attribute removed": func(t *Transcript) { delete(t.Attributes, "shop") },
		"text moved between messages": func(t *Transcript) {
			a := t.Messages[1].Text
			t.Messages[1].Text, t.Messages[2].Text = a[:len(a)-1], a[len(a)-1:]+t.Messages[2].Text
		},
		// Length prefixes keep adjacent fields apart.
		"id boundary shifted": func(t *Transcript) { t.ExternalID += t.AgentID[:1]; t.AgentID = t.AgentID[1:] },
	}
	seen := map[string]string{string(base): "base"}
	for name, change := range different {
		tr := realisticChat()
		change(&tr)
		got := string(Prepare(tr).ContentHash)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: same hash as %s", name, prev)
		}
		seen[got] = name
	}
}

func TestPrepareNormalizes(t *testing.T) {
	tr := realisticChat()
	tr.Messages[4].AgentID = ""
	tr.Messages[6].AgentID = "agent-wu"
	p := Prepare(tr)
	if got := p.Messages[4].AgentID; got != "agent-lin" {
		t.Errorf("agent message without author: AgentID = %q; want the owner", got)
	}
	if !slices.Equal(p.AgentIDs, []string{"agent-lin", "agent-wu"}) {
		t.Errorf("AgentIDs = %v", p.AgentIDs)
	}
	if !slices.Equal(p.Tags, []string{"complaint", "logistics", "refund"}) {
		t.Errorf("Tags = %v; want sorted", p.Tags)
	}
	if p.StartedAt.Nanosecond()%int(time.Millisecond) != 0 || p.StartedAt.Location() != time.UTC {
		t.Errorf("StartedAt %v not truncated to UTC ms", p.StartedAt)
	}
	if tr.Messages[4].AgentID != "" {
		t.Error("Prepare modified its argument's messages")
	}
	msgs, attrs, err := DecodeBody(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msgs, p.Messages) || !maps.Equal(attrs, p.Attributes) {
		t.Error("body does not decode to the prepared messages and attributes")
	}
}

// A corrupt body that declares a huge frame must fail, not make the
// decoder allocate gigabytes (which kills the process, beyond recover).
func TestDecodeBodyRejectsHugeDeclaredSize(t *testing.T) {
	body := []byte{bodyZstd, 0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0x00} // zstd magic, 8-byte content size
	body = binary.LittleEndian.AppendUint64(body, 60<<30)
	body = append(body, 0x09, 0x00, 0x00, 'a') // last raw block of one byte
	if _, _, err := DecodeBody(body); !errors.Is(err, ErrCorruptBody) {
		t.Fatalf("err = %v; want ErrCorruptBody", err)
	}
}

func TestDecodeBodyRejectsCorrupt(t *testing.T) {
	good := EncodeBody(realisticChat().Messages, nil)
	for name, body := range map[string][]byte{
		"empty":           nil,
		"unknown version": append([]byte{9}, good[1:]...),
		"truncated":       good[:len(good)-3],
		"not zstd":        {bodyZstd, 1, 2, 3},
		"trailing bytes":  plain.compress(append(appendPayload(nil, nil, nil), 0)),
		"short payload":   plain.compress([]byte{3, 1}),
	} {
		if _, _, err := DecodeBody(body); !errors.Is(err, ErrCorruptBody) {
			t.Errorf("%s: err = %v; want ErrCorruptBody", name, err)
		}
	}
}

// byteSource turns fuzz input into values; exhausted input reads as zeros.
type byteSource struct{ b []byte }

func (s *byteSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *byteSource) uint64() uint64 {
	var v uint64
	for range 8 {
		v = v<<8 | uint64(s.byte())
	}
	return v
}

func (s *byteSource) string() string {
	n := min(int(s.byte()), len(s.b))
	str := string(s.b[:n])
	s.b = s.b[n:]
	return str
}

// time returns a time in the years 0001..9999 that the codec carries, with
// nanoseconds, so that truncation to the millisecond is exercised.
func (s *byteSource) time() time.Time {
	const first, span = -62135596800, 315537897600 // Unix seconds of 0001-01-01, seconds to 10000-01-01
	return time.Unix(first+int64(s.uint64()%span), int64(s.uint64()%1e9))
}

func FuzzBodyRoundTrip(f *testing.F) {
	chat := realisticChat()
	f.Add(EncodeBody(chat.Messages, chat.Attributes))
	f.Add(appendPayload(nil, chat.Messages, chat.Attributes))
	f.Add([]byte{})
	f.Add([]byte{bodyZstd})
	f.Add([]byte{bodyZstd, 0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0x00, 0, 0, 0, 0, 0x0f, 0, 0, 0, 0x09, 0x00, 0x00, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Arbitrary bytes must decode or fail cleanly, and whatever decodes
		// must survive a second round.
		decodedMsgs, decodedAttrs, derr := DecodeBody(data)
		if derr == nil {
			msgs2, attrs2, err := DecodeBody(EncodeBody(decodedMsgs, decodedAttrs))
			if err != nil || !sameMessages(decodedMsgs, msgs2) || !maps.Equal(decodedAttrs, attrs2) {
				t.Fatalf("decoded body does not round-trip: %v", err)
			}
		} else if !errors.Is(derr, ErrCorruptBody) && !errors.Is(derr, ErrUnknownDictionary) {
			t.Fatalf("error %v is neither ErrCorruptBody nor ErrUnknownDictionary", derr)
		}
		// Attributes alone agree with the whole decode, error or not.
		if onlyAttrs, aerr := plain.Attributes(data); (aerr == nil) != (derr == nil) || !maps.Equal(onlyAttrs, decodedAttrs) {
			t.Fatalf("Attributes = %v, %v; Decode's %v, %v", onlyAttrs, aerr, decodedAttrs, derr)
		}

		// The same bytes read as messages and attributes must come back
		// equal, times truncated to the millisecond.
		src := &byteSource{b: data}
		msgs := make([]Message, int(src.byte()%40))
		for i := range msgs {
			msgs[i] = Message{Role: Role(src.byte()), SentAt: src.time(), AgentID: src.string(), Text: src.string()}
		}
		attrs := map[string]string{}
		for range int(src.byte() % 8) {
			attrs[src.string()] = src.string()
		}
		gotMsgs, gotAttrs, err := DecodeBody(EncodeBody(msgs, attrs))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		want := slices.Clone(msgs)
		for i := range want {
			want[i].SentAt = want[i].SentAt.Truncate(time.Millisecond).UTC()
		}
		if !sameMessages(gotMsgs, want) {
			t.Fatalf("messages differ:\n got %+v\nwant %+v", gotMsgs, want)
		}
		if !maps.Equal(gotAttrs, attrs) {
			t.Fatalf("attributes differ: got %v want %v", gotAttrs, attrs)
		}
	})
}

func sameMessages(a, b []Message) bool {
	return slices.EqualFunc(a, b, func(x, y Message) bool {
		return x.Role == y.Role && x.Text == y.Text && x.AgentID == y.AgentID &&
			x.SentAt.Equal(y.SentAt) && x.SentAt.Location() == y.SentAt.Location()
	})
}
