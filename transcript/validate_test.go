package transcript

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

// testNow is the server's clock in these tests.
var testNow = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)

// validTranscript is a small conversation that passes Validate; each case
// below breaks exactly one rule of a fresh copy.
func validTranscript() Transcript {
	return Transcript{
		ExternalID:   "conv-1",
		AgentID:      "agent-1",
		Channel:      "chat",
		CustomerID:   "cust-1",
		CustomerTier: "vip",
		StartedAt:    t0,
		EndedAt:      t0.Add(time.Hour),
		Messages: []Message{
			{Role: RoleCustomer, Text: "Where is my parcel?", SentAt: t0},
			{Role: RoleBot, Text: "An agent will be with you shortly.", SentAt: t0.Add(time.Second)},
			{Role: RoleAgent, Text: "Let me check.", SentAt: t0.Add(time.Minute)},
			{Role: RoleAgent, Text: "It arrives today.", SentAt: t0.Add(2 * time.Minute), AgentID: "agent-2"},
			{Role: RoleSystem, Text: "Conversation closed.", SentAt: t0.Add(time.Hour)},
		},
		Tags:          []string{"complaint", "refund"},
		CSAT:          4,
		TransferCount: 1,
		Attributes:    map[string]string{"order_id": "A-17", "shop": "north"},
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	tr := validTranscript()
	if fe := Validate(&tr, DefaultLimits(), testNow); fe != nil {
		t.Fatalf("valid transcript rejected: %v", fe)
	}
	// Optional fields may be left out.
	tr.CustomerID, tr.CustomerTier, tr.Tags, tr.CSAT, tr.TransferCount, tr.Attributes = "", "", nil, 0, 0, nil
	tr.StartedAt, tr.EndedAt = t0, t0 // a conversation may be instantaneous
	tr.Messages = []Message{{Role: RoleCustomer, SentAt: t0}}
	if fe := Validate(&tr, DefaultLimits(), testNow); fe != nil {
		t.Fatalf("minimal transcript rejected: %v", fe)
	}
	// The ends of the plausible range are in it.
	tr.StartedAt, tr.EndedAt = EarliestTime, testNow.Add(MaxFuture)
	tr.Messages = []Message{{Role: RoleCustomer, SentAt: EarliestTime}, {Role: RoleAgent, SentAt: testNow.Add(MaxFuture)}}
	if fe := Validate(&tr, DefaultLimits(), testNow); fe != nil {
		t.Fatalf("times at the ends of the range rejected: %v", fe)
	}
}

func TestValidateRejects(t *testing.T) {
	small := Limits{MaxMessages: 5, MaxTextBytes: 10, MaxIDBytes: 8, MaxTags: 2, MaxAttributes: 2}
	cases := []struct {
		name   string
		limits Limits // zero: DefaultLimits
		mutate func(*Transcript)
		field  string
		reason string // a substring of the expected reason
	}{
		{"empty external_id", Limits{}, func(t *Transcript) { t.ExternalID = "" }, "external_id", "required"},
		{"long external_id", small, func(t *Transcript) { t.ExternalID = "123456789" }, "external_id", "9 bytes; at most 8"},
		{"control char in external_id", Limits{}, func(t *Transcript) { t.ExternalID = "a\nb" }, "external_id", "control character U+000A at byte 1"},
		{"invalid UTF-8 external_id", Limits{}, func(t *Transcript) { t.ExternalID = "a\xffb" }, "external_id", "not valid UTF-8"},
		{"empty agent_id", Limits{}, func(t *Transcript) { t.AgentID = "" }, "agent_id", "required"},
		{"long agent_id", small, func(t *Transcript) { t.AgentID = "agent-1234" }, "agent_id", "10 bytes"},
		{"DEL in agent_id", Limits{}, func(t *Transcript) { t.AgentID = "agent\x7f" }, "agent_id", "U+007F"},
		{"empty channel", Limits{}, func(t *Transcript) { t.Channel = "" }, "channel", "required"},
		{"control char in customer_id", Limits{}, func(t *Transcript) { t.CustomerID = "c\x00" }, "customer_id", "U+0000"},
		{"long customer_tier", small, func(t *Transcript) { t.CustomerTier = "platinum+" }, "customer_tier", "9 bytes"},
		{"missing started_at", Limits{}, func(t *Transcript) { t.StartedAt = time.Time{} }, "started_at", "required"},
		{"missing ended_at", Limits{}, func(t *Transcript) { t.EndedAt = time.Time{} }, "ended_at", "required"},
		{"started_at beyond year 9999", Limits{}, func(t *Transcript) {
			t.StartedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "started_at", "10000-01-01T00:00:00Z is in the future (the server's clock is 2026-11-16T09:00:00Z)"},
		// Year 1 to 9999 once passed, with a handle time saturated at 292 years.
		{"started_at in year 1", Limits{}, func(t *Transcript) {
			t.StartedAt, t.Messages[0].SentAt = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)
		}, "started_at", "0001-01-01T00:00:01Z is before 2000-01-01T00:00:00Z"},
		{"started_at before 2000", Limits{}, func(t *Transcript) { t.StartedAt = EarliestTime.Add(-time.Nanosecond) },
			"started_at", "1999-12-31T23:59:59.999999999Z is before 2000-01-01T00:00:00Z"},
		{"ended_at in year 9999", Limits{}, func(t *Transcript) { t.EndedAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) },
			"ended_at", "9999-12-31T00:00:00Z is in the future"},
		{"sent_at beyond a day ahead", Limits{}, func(t *Transcript) {
			t.StartedAt = testNow
			t.EndedAt = testNow.Add(MaxFuture + time.Second)
			for i := range t.Messages {
				t.Messages[i].SentAt = testNow
			}
		}, "ended_at", "is in the future"},
		{"ended_at before started_at", Limits{}, func(t *Transcript) { t.EndedAt = t.StartedAt.Add(-time.Minute) },
			"ended_at", "2024-05-01T08:59:00Z is before started_at 2024-05-01T09:00:00Z"},
		{"no messages", Limits{}, func(t *Transcript) { t.Messages = nil }, "messages", "at least one"},
		{"too many messages", Limits{MaxMessages: 4}, func(*Transcript) {}, "messages", "5 messages; at most 4"},
		{"unset role", Limits{}, func(t *Transcript) { t.Messages[2].Role = RoleUnknown }, "messages[2].role", "not set"},
		{"unknown role", Limits{}, func(t *Transcript) { t.Messages[3].Role = 9 }, "messages[3].role", "unknown role 9"},
		{"missing sent_at", Limits{}, func(t *Transcript) { t.Messages[1].SentAt = time.Time{} }, "messages[1].sent_at", "required"},
		{"sent_at before started_at", Limits{}, func(t *Transcript) { t.Messages[0].SentAt = t0.Add(-time.Second) },
			"messages[0].sent_at", "2024-05-01T08:59:59Z is before started_at 2024-05-01T09:00:00Z"},
		{"sent_at after ended_at", Limits{}, func(t *Transcript) { t.Messages[4].SentAt = t.EndedAt.Add(time.Millisecond) },
			"messages[4].sent_at", "2024-05-01T10:00:00.001Z is after ended_at 2024-05-01T10:00:00Z"},
		{"messages out of order", Limits{}, func(t *Transcript) { t.Messages[3].SentAt = t0.Add(30 * time.Second) },
			"messages[3].sent_at", "before messages[2].sent_at"},
		{"invalid UTF-8 text", Limits{}, func(t *Transcript) { t.Messages[2].Text = "ok\xc3" }, "messages[2].text", "not valid UTF-8"},
		{"text too long", Limits{MaxTextBytes: 16}, func(*Transcript) {}, "messages[0].text", "19 bytes; at most 16"},
		{"agent_id on customer message", Limits{}, func(t *Transcript) { t.Messages[0].AgentID = "agent-1" },
			"messages[0].agent_id", "set on a customer message"},
		{"agent_id on bot message", Limits{}, func(t *Transcript) { t.Messages[1].AgentID = "agent-1" },
			"messages[1].agent_id", "set on a bot message"},
		{"bad message agent_id", Limits{}, func(t *Transcript) { t.Messages[3].AgentID = "a\tb" }, "messages[3].agent_id", "U+0009"},
		{"too many tags", Limits{MaxTags: 1}, func(*Transcript) {}, "tags", "2 tags; at most 1"},
		{"empty tag", Limits{}, func(t *Transcript) { t.Tags = []string{"a", "b", ""} }, "tags[2]", "required"},
		{"long tag", Limits{MaxIDBytes: 8}, func(t *Transcript) { t.Tags = []string{"escalated"} }, "tags[0]", "9 bytes"},
		{"csat 6", Limits{}, func(t *Transcript) { t.CSAT = 6 }, "csat", "6 is out of range 1..5"},
		{"negative csat", Limits{}, func(t *Transcript) { t.CSAT = -1 }, "csat", "-1 is out of range"},
		{"negative transfer_count", Limits{}, func(t *Transcript) { t.TransferCount = -2 }, "transfer_count", "-2 is negative"},
		{"too many attributes", Limits{MaxAttributes: 1}, func(*Transcript) {}, "attributes", "2 attributes; at most 1"},
		{"empty attribute key", Limits{}, func(t *Transcript) { t.Attributes[""] = "x" }, `attributes[""]`, "key is empty"},
		{"long attribute key", Limits{MaxIDBytes: 9}, func(t *Transcript) { t.Attributes["a_very_long_key"] = "x" },
			"attributes", `key "a_very_long_key" is 15 bytes; at most 9`},
		{"huge attribute key", Limits{}, func(t *Transcript) { t.Attributes[strings.Repeat("k", 1000)] = "x" },
			"attributes", `key "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"… (1000 bytes) is 1000 bytes; at most 256`},
		{"control char in attribute key", Limits{}, func(t *Transcript) { t.Attributes["k\r"] = "x" }, `attributes["k\r"]`, "key contains control"},
		{"invalid UTF-8 attribute value", Limits{}, func(t *Transcript) { t.Attributes["shop"] = "\xff" }, `attributes["shop"]`, "value is not valid UTF-8"},
		{"long attribute value", Limits{MaxTextBytes: 40}, func(t *Transcript) { t.Attributes["shop"] = strings.Repeat("x", 41) },
			`attributes["shop"]`, "value is 41 bytes; at most 40"},
		// The first violation in field order wins.
		{"first of several", Limits{}, func(t *Transcript) { t.CSAT = 9; t.Channel = ""; t.Messages[0].Role = 0 }, "channel", "required"},
		{"first attribute by key", Limits{}, func(t *Transcript) { t.Attributes["b\n"] = ""; t.Attributes["a\n"] = "" }, `attributes["a\n"]`, "control"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := validTranscript()
			c.mutate(&tr)
			lim := c.limits
			if lim == (Limits{}) {
				lim = DefaultLimits()
			}
			fe := Validate(&tr, lim, testNow)
			if fe == nil {
				t.Fatalf("accepted; want error on %s", c.field)
			}
			if fe.First().Field != c.field || !strings.Contains(fe.First().Reason, c.reason) {
				t.Fatalf("got %q; want field %s with reason containing %q", fe.Error(), c.field, c.reason)
			}
		})
	}
}

func TestValidateZeroLimitsMeanDefaults(t *testing.T) {
	tr := validTranscript()
	if fe := Validate(&tr, Limits{}, testNow); fe != nil {
		t.Fatalf("zero Limits should mean defaults: %v", fe)
	}
	tr.Messages[0].Text = strings.Repeat("x", DefaultLimits().MaxTextBytes+1)
	if fe := Validate(&tr, Limits{MaxMessages: 10}, testNow); fe == nil || fe.First().Field != "messages[0].text" {
		t.Fatalf("unset MaxTextBytes should default to %d; got %v", DefaultLimits().MaxTextBytes, fe)
	}
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{MaxMessages: 2000, MaxTextBytes: 65536, MaxIDBytes: 256, MaxTags: 64, MaxAttributes: 64}
	if got := DefaultLimits(); got != want {
		t.Fatalf("DefaultLimits() = %+v; want %+v", got, want)
	}
}

func TestValidateAtLimits(t *testing.T) {
	lim := DefaultLimits()
	tr := validTranscript()
	tr.ExternalID = strings.Repeat("é", lim.MaxIDBytes/2) // multi-byte, exactly at the limit
	tr.Messages = make([]Message, lim.MaxMessages)
	for i := range tr.Messages {
		tr.Messages[i] = Message{Role: RoleCustomer, SentAt: t0}
	}
	tr.Messages[0].Text = strings.Repeat("x", lim.MaxTextBytes)
	tr.Tags = make([]string, lim.MaxTags)
	tr.Attributes = map[string]string{}
	for i := range lim.MaxTags {
		tr.Tags[i] = fmt.Sprintf("tag-%d", i)
	}
	for i := range lim.MaxAttributes {
		tr.Attributes[fmt.Sprintf("k%d", i)] = "v"
	}
	if fe := Validate(&tr, lim, testNow); fe != nil {
		t.Fatalf("transcript exactly at the limits rejected: %v", fe)
	}
}

func TestValidateAgent(t *testing.T) {
	valid := AgentFields{AgentID: "agent-1", Name: "周杰", TeamID: "team-07", SupervisorID: "sup-1", HiredOn: "2024-02-29"}
	huge := strings.Repeat("x", 10<<20)
	cases := []struct {
		name          string
		mutate        func(*AgentFields)
		field, reason string // empty field: valid
	}{
		{"valid", func(*AgentFields) {}, "", ""},
		{"only the id", func(a *AgentFields) { *a = AgentFields{AgentID: "agent-1"} }, "", ""},
		{"no id", func(a *AgentFields) { a.AgentID = "" }, "agent_id", "required"},
		{"long id", func(a *AgentFields) { a.AgentID = strings.Repeat("a", 257) }, "agent_id", "257 bytes; at most 256"},
		{"newline in id", func(a *AgentFields) { a.AgentID = "a\nb" }, "agent_id", "control character"},
		{"huge team", func(a *AgentFields) { a.TeamID = huge }, "team_id", "10485760 bytes; at most 256"},
		{"NUL in supervisor", func(a *AgentFields) { a.SupervisorID = "sup\x00" }, "supervisor_id", "control character U+0000"},
		{"huge name", func(a *AgentFields) { a.Name = huge }, "name", "10485760 characters; at most 200"},
		{"newline in name", func(a *AgentFields) { a.Name = "Ann\nINFO forged" }, "name", "control character U+000A"},
		{"leap day", func(a *AgentFields) { a.HiredOn = "2023-02-29" }, "hired_on", `"2023-02-29" is not a valid date; use YYYY-MM-DD`},
		{"short date", func(a *AgentFields) { a.HiredOn = "2024-1-05" }, "hired_on", "not a valid date"},
		{"us date", func(a *AgentFields) { a.HiredOn = "01/05/2024" }, "hired_on", "not a valid date"},
		{"timestamp", func(a *AgentFields) { a.HiredOn = "2024-01-05T00:00:00Z" }, "hired_on", "not a valid date"},
		{"huge date", func(a *AgentFields) { a.HiredOn = huge }, "hired_on", `"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"… (10485760 bytes) is not a valid date`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := valid
			c.mutate(&a)
			fe := ValidateAgent(a, DefaultLimits())
			switch {
			case c.field == "" && fe != nil:
				t.Errorf("rejected: %v", fe)
			case c.field != "" && (fe == nil || fe.First().Field != c.field || !strings.Contains(fe.First().Reason, c.reason)):
				t.Errorf("got %v; want %s containing %q", fe, c.field, c.reason)
			case fe != nil && len(fe.Error()) > 200:
				t.Errorf("message of %d bytes", len(fe.Error()))
			}
		})
	}
	// Every problem of an entry is reported, not only the first.
	fe := ValidateAgent(AgentFields{TeamID: "t\n", Name: huge}, DefaultLimits())
	if fe == nil || len(fe.Violations) != 3 {
		t.Fatalf("got %v; want agent_id, team_id and name", fe)
	}
}

func TestRoleString(t *testing.T) {
	for r, want := range map[Role]string{RoleAgent: "agent", RoleCustomer: "customer", RoleBot: "bot", RoleSystem: "system", 7: "role(7)"} {
		if got := r.String(); got != want {
			t.Errorf("Role(%d).String() = %q; want %q", r, got, want)
		}
	}
}

// FuzzValidate feeds Validate transcripts built from arbitrary bytes: it
// must never panic, and whatever it accepts must prepare and round-trip.
func FuzzValidate(f *testing.F) {
	f.Add([]byte("conv-1\x00agent-1\x00chat"), int64(0), int64(60_000), uint8(2), 3)
	f.Add([]byte{0xff, 0xfe, '\n'}, int64(-5), int64(-10), uint8(9), -1)
	f.Add([]byte{}, int64(1<<62), int64(0), uint8(0), 6)
	f.Fuzz(func(t *testing.T, data []byte, startMs, spanMs int64, role uint8, csat int) {
		parts := strings.Split(string(data), "\x00")
		part := func(i int) string {
			if i < len(parts) {
				return parts[i]
			}
			return ""
		}
		start := time.UnixMilli(EarliestTime.UnixMilli() + startMs).UTC()
		tr := Transcript{
			ExternalID: part(0), AgentID: part(1), Channel: part(2), CustomerID: part(3),
			StartedAt: start, EndedAt: start.Add(time.Duration(spanMs) * time.Millisecond),
			CSAT: csat, TransferCount: csat - 3,
			Tags:       parts[min(4, len(parts)):],
			Attributes: map[string]string{part(5): part(6)},
		}
		for i := range min(len(data), 20) {
			tr.Messages = append(tr.Messages, Message{
				Role:    Role((role + data[i]) % 6),
				Text:    part(7 + i),
				SentAt:  start.Add(time.Duration(int64(data[i])*spanMs/255) * time.Millisecond),
				AgentID: part(8 + i),
			})
		}
		lim := Limits{MaxMessages: 10, MaxTextBytes: 32, MaxIDBytes: 16, MaxTags: 3, MaxAttributes: 2}
		fe := Validate(&tr, lim, testNow)
		if fe != nil {
			if fe.First().Field == "" || fe.First().Reason == "" {
				t.Fatalf("empty field or reason: %#v", fe)
			}
			return
		}
		p := Prepare(tr)
		msgs, _, err := DecodeBody(p.Body)
		if err != nil || len(msgs) != len(tr.Messages) {
			t.Fatalf("accepted transcript does not round-trip: %v", err)
		}
		if m := p.Metrics; m.FirstResponse < NoResponse || m.MeanAgentResponse < NoResponse || m.HandleTime < 0 {
			t.Fatalf("negative metric for accepted transcript: %+v", m)
		}
	})
}
