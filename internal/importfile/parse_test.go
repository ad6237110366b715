package importfile

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

const validTranscriptLine = `{"external_id":"c-1","agent_id":"a1","channel":"chat","customer_id":"u9","customer_tier":"vip",` +
	`"started_at":"2026-10-05T10:00:00+08:00","ended_at":"2026-10-05T10:12:00+08:00",` +
	`"messages":[{"role":"customer","text":"where is my parcel?","sent_at":"2026-10-05T10:00:05+08:00"},` +
	`{"role":"agent","text":"您好，我来查一下","sent_at":"2026-10-05T10:00:20+08:00"},` +
	`{"role":"agent","text":"it ships today","sent_at":"2026-10-05T10:03:00.250+08:00","agent_id":"a2"},` +
	`{"role":"bot","text":"rate us","sent_at":"2026-10-05T02:11:00Z"},` +
	`{"role":"system","text":"closed","sent_at":"2026-10-05T10:12:00+08:00"}],` +
	`"tags":["refund","complaint"],"csat":4,"transfer_count":1,"attributes":{"order_id":"o-77","shop":"s1"}}`

func TestParseTranscriptLineValid(t *testing.T) {
	var p TranscriptParser
	got, lerr := p.Parse([]byte(validTranscriptLine))
	if lerr != nil {
		t.Fatalf("parse: %v", lerr)
	}
	at := func(s string) *timestamppb.Timestamp {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return timestamppb.New(tm)
	}
	want := &qav1.Transcript{
		ExternalId:   "c-1",
		AgentId:      "a1",
		Channel:      "chat",
		CustomerId:   "u9",
		CustomerTier: "vip",
		StartedAt:    at("2026-10-05T10:00:00+08:00"),
		EndedAt:      at("2026-10-05T10:12:00+08:00"),
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "where is my parcel?", SentAt: at("2026-10-05T10:00:05+08:00")},
			{Role: qav1.Role_ROLE_AGENT, Text: "您好，我来查一下", SentAt: at("2026-10-05T10:00:20+08:00")},
			{Role: qav1.Role_ROLE_AGENT, Text: "it ships today", SentAt: at("2026-10-05T10:03:00.25+08:00"), AgentId: "a2"},
			{Role: qav1.Role_ROLE_BOT, Text: "rate us", SentAt: at("2026-10-05T10:11:00+08:00")},
			{Role: qav1.Role_ROLE_SYSTEM, Text: "closed", SentAt: at("2026-10-05T10:12:00+08:00")},
		},
		Tags:          []string{"refund", "complaint"},
		Csat:          proto.Int32(4),
		TransferCount: 1,
		Attributes:    map[string]string{"order_id": "o-77", "shop": "s1"},
	}
	if !proto.Equal(got, want) {
		t.Errorf("parse:\n got %v\nwant %v", got, want)
	}
}

func TestParseTranscriptLineRejects(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		wantField  string
		wantReason string // a substring
	}{
		{
			name: "bad RFC 3339 time in a message",
			line: `{"external_id":"c-1","messages":[{"role":"customer","text":"a","sent_at":"2026-10-05T10:00:00Z"},` +
				`{"role":"agent","text":"b","sent_at":"2026-10-05T10:00:01Z"},{"role":"agent","text":"c","sent_at":"2026-10-05 10:00:02"}]}`,
			wantField:  "messages[2].sent_at",
			wantReason: `not an RFC 3339 time: "2026-10-05 10:00:02"`,
		},
		{
			name:       "bad started_at",
			line:       `{"external_id":"c-1","started_at":"yesterday"}`,
			wantField:  "started_at",
			wantReason: "RFC 3339",
		},
		{
			name:       "unknown role",
			line:       `{"external_id":"c-1","messages":[{"role":"customer","text":"a"},{"role":"robot","text":"b"}]}`,
			wantField:  "messages[1].role",
			wantReason: `unknown role "robot"`,
		},
		{
			name:       "missing role",
			line:       `{"external_id":"c-1","messages":[{"text":"a"}]}`,
			wantField:  "messages[0].role",
			wantReason: "missing",
		},
		{
			name:       "unknown top-level field",
			line:       `{"external_id":"c-1","cstat":5}`,
			wantField:  "cstat",
			wantReason: "unknown field",
		},
		{
			name:       "unknown field in a message",
			line:       `{"external_id":"c-1","messages":[{"role":"agent","text":"a"},{"role":"agent","txt":"b"}]}`,
			wantField:  "messages[1].txt",
			wantReason: "unknown field",
		},
		{
			name:       "csat of the wrong type",
			line:       `{"external_id":"c-1","csat":"5"}`,
			wantField:  "csat",
			wantReason: "want an integer, got a string",
		},
		{
			name:       "fractional transfer_count",
			line:       `{"external_id":"c-1","transfer_count":1.5}`,
			wantField:  "transfer_count",
			wantReason: "want an integer",
		},
		{
			name:       "text of the wrong type",
			line:       `{"external_id":"c-1","messages":[{"role":"agent","text":42}]}`,
			wantField:  "messages[0].text",
			wantReason: "want a string, got a number",
		},
		{
			name:       "tags not an array",
			line:       `{"external_id":"c-1","tags":"refund"}`,
			wantField:  "tags",
			wantReason: "want an array, got a string",
		},
		{
			name:       "attribute value not a string",
			line:       `{"external_id":"c-1","attributes":{"order":7}}`,
			wantField:  "attributes.order",
			wantReason: "want a string, got a number",
		},
		{
			name:       "messages not objects",
			line:       `{"external_id":"c-1","messages":["hi"]}`,
			wantField:  "messages[0]",
			wantReason: "want an object, got a string",
		},
		{
			name:       "bad JSON",
			line:       `{"external_id":"c-1",}`,
			wantField:  "json",
			wantReason: "invalid character",
		},
		{
			name:       "truncated JSON",
			line:       `{"external_id":"c-1","messages":[`,
			wantField:  "json",
			wantReason: "unexpected end of line",
		},
		{
			name:       "not an object",
			line:       `["c-1"]`,
			wantField:  "json",
			wantReason: "not a JSON object",
		},
		{
			name:       "two objects on a line",
			line:       `{"external_id":"c-1"} {"external_id":"c-2"}`,
			wantField:  "json",
			wantReason: "after the JSON object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p TranscriptParser
			got, lerr := p.Parse([]byte(tt.line))
			if lerr == nil {
				t.Fatalf("parse accepted the line: %v", got)
			}
			if lerr.First().Field != tt.wantField || !strings.Contains(lerr.First().Reason, tt.wantReason) {
				t.Errorf("parse error = %q: %q, want %q: …%s…", lerr.First().Field, lerr.First().Reason, tt.wantField, tt.wantReason)
			}
		})
	}
}

func TestParseTranscriptLineCSAT(t *testing.T) {
	var p TranscriptParser
	absent, lerr := p.Parse([]byte(`{"external_id":"c-1"}`))
	if lerr != nil {
		t.Fatal(lerr)
	}
	if absent.Csat != nil {
		t.Errorf("csat absent: got %d, want none", absent.GetCsat())
	}
	present, lerr := p.Parse([]byte(`{"external_id":"c-2","csat":1}`))
	if lerr != nil {
		t.Fatal(lerr)
	}
	if present.Csat == nil || present.GetCsat() != 1 {
		t.Errorf("csat 1: got %v", present.Csat)
	}
	null, lerr := p.Parse([]byte(`{"external_id":"c-3","csat":null}`))
	if lerr != nil {
		t.Fatal(lerr)
	}
	if null.Csat != nil {
		t.Errorf("csat null: got %d, want none", null.GetCsat())
	}
}

// TestParserReuseLeavesNoTrace checks that the reused decode target does not
// carry fields of one line into the next, nor change transcripts handed out.
func TestParserReuseLeavesNoTrace(t *testing.T) {
	var p TranscriptParser
	first, lerr := p.Parse([]byte(validTranscriptLine))
	if lerr != nil {
		t.Fatal(lerr)
	}
	firstCopy := proto.Clone(first)
	second, lerr := p.Parse([]byte(`{"external_id":"c-2","messages":[{"role":"agent","text":"x"},{"role":"customer","text":"y"}]}`))
	if lerr != nil {
		t.Fatal(lerr)
	}
	want := &qav1.Transcript{
		ExternalId: "c-2",
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_AGENT, Text: "x"},
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "y"},
		},
	}
	if !proto.Equal(second, want) {
		t.Errorf("second line:\n got %v\nwant %v", second, want)
	}
	if !proto.Equal(first, firstCopy) {
		t.Errorf("parsing the second line changed the first transcript:\n got %v\nwant %v", first, firstCopy)
	}
}

func TestParseAgentLine(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		want       *qav1.Agent
		wantField  string
		wantReason string
	}{
		{
			name: "active absent means true",
			line: `{"agent_id":"a1","name":"Li Na","team_id":"t1","supervisor_id":"s1","hired_on":"2025-03-01"}`,
			want: &qav1.Agent{AgentId: "a1", Name: "Li Na", TeamId: "t1", SupervisorId: "s1", HiredOn: "2025-03-01", Active: proto.Bool(true)},
		},
		{
			name: "active false",
			line: `{"agent_id":"a2","active":false}`,
			want: &qav1.Agent{AgentId: "a2", Active: proto.Bool(false)},
		},
		{
			name:       "bad hire date",
			line:       `{"agent_id":"a3","hired_on":"01/03/2025"}`,
			wantField:  "hired_on",
			wantReason: "YYYY-MM-DD",
		},
		{
			name:       "unknown field",
			line:       `{"agent_id":"a4","team":"t1"}`,
			wantField:  "team",
			wantReason: "unknown field",
		},
		{
			name:       "active of the wrong type",
			line:       `{"agent_id":"a5","active":"yes"}`,
			wantField:  "active",
			wantReason: "want true or false, got a string",
		},
		{
			name:       "bad JSON",
			line:       `{"agent_id":"a6"`,
			wantField:  "json",
			wantReason: "unexpected end of line",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, lerr := ParseAgentLine([]byte(tt.line))
			if tt.want != nil {
				if lerr != nil {
					t.Fatalf("parse: %v", lerr)
				}
				if !proto.Equal(got, tt.want) {
					t.Errorf("parse:\n got %v\nwant %v", got, tt.want)
				}
				return
			}
			if lerr == nil {
				t.Fatalf("parse accepted the line: %v", got)
			}
			if lerr.First().Field != tt.wantField || !strings.Contains(lerr.First().Reason, tt.wantReason) {
				t.Errorf("parse error = %q: %q, want %q: …%s…", lerr.First().Field, lerr.First().Reason, tt.wantField, tt.wantReason)
			}
		})
	}
}

// realisticLine builds a transcript line like a chat platform sends: n
// messages of mixed roles and lengths, in Chinese and English, with tags
// and attributes.
func realisticLine(id string, n int) []byte {
	type msg struct {
		Role    string `json:"role"`
		Text    string `json:"text"`
		SentAt  string `json:"sent_at"`
		AgentID string `json:"agent_id,omitempty"`
	}
	start := time.Date(2026, 10, 5, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	texts := []string{
		"您好，请问有什么可以帮您？",
		"I ordered a blender last week and it still has not arrived, the tracking page has shown the same status for four days.",
		"非常抱歉给您带来不便，我马上帮您查询物流信息，请稍等。",
		"Order number is 2026100512345678, shipped to Hangzhou.",
		"查询到您的包裹目前在转运中心，预计明天送达。如果明天仍未收到，可以申请全额退款。",
		"ok thanks",
	}
	msgs := make([]msg, n)
	for i := range msgs {
		role := []string{"customer", "agent"}[i%2]
		if i == 0 {
			role = "bot"
		}
		// Real texts differ from message to message; so must these, lest a
		// decoder that interns strings look better than it is.
		text := fmt.Sprintf("%s (%s #%d)", texts[i%len(texts)], id, i)
		msgs[i] = msg{Role: role, Text: text, SentAt: start.Add(time.Duration(i) * 37 * time.Second).Format(time.RFC3339)}
		if role == "agent" && i > n/2 {
			msgs[i].AgentID = "agent-0042"
		}
	}
	line, err := json.Marshal(map[string]any{
		"external_id":    id,
		"agent_id":       "agent-0042",
		"channel":        "chat",
		"customer_id":    "cust-991823",
		"customer_tier":  "vip",
		"started_at":     start.Format(time.RFC3339),
		"ended_at":       start.Add(time.Duration(n) * 40 * time.Second).Format(time.RFC3339),
		"messages":       msgs,
		"tags":           []string{"complaint", "refund"},
		"csat":           2,
		"transfer_count": 1,
		"attributes":     map[string]string{"order_id": "2026100512345678", "shop": "flagship", "platform": "tmall"},
	})
	if err != nil {
		panic(err)
	}
	return line
}

func BenchmarkParseLine(b *testing.B) {
	line := realisticLine("bench-1", 20)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var p TranscriptParser
	for b.Loop() {
		if _, lerr := p.Parse(line); lerr != nil {
			b.Fatal(lerr)
		}
	}
}

func TestRealisticLineParses(t *testing.T) {
	var p TranscriptParser
	got, lerr := p.Parse(realisticLine("r-1", 20))
	if lerr != nil {
		t.Fatal(lerr)
	}
	if len(got.GetMessages()) != 20 || got.GetMessages()[19].GetAgentId() != "agent-0042" {
		t.Errorf("parsed %d messages: %v", len(got.GetMessages()), got)
	}
	if testing.Verbose() {
		fmt.Printf("realistic line: %d bytes\n", len(realisticLine("r-1", 20)))
	}
}

// FuzzParseLine checks that any line either parses or is rejected with a
// field and a reason, never a panic, for transcripts and agents alike.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(validTranscriptLine))
	f.Add([]byte(`{"external_id":"c-1","messages":[{"role":"agent","text":"a","sent_at":"2026-10-05T10:00:00Z"},null]}`))
	f.Add([]byte(`{"external_id":"c-1","attributes":{"a":"b","c":null},"tags":[null,"x"],"csat":null}`))
	f.Add([]byte(`{"agent_id":"a1","active":false,"hired_on":"2025-03-01"}`))
	f.Add([]byte(`{"csat":1e3,"transfer_count":-0}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var p TranscriptParser
		if got, lerr := p.Parse(line); lerr != nil {
			if lerr.First().Field == "" || lerr.First().Reason == "" {
				t.Errorf("transcript rejection without field or reason: %+v", lerr)
			}
		} else if got == nil {
			t.Error("no transcript and no error")
		}
		if _, lerr := ParseAgentLine(line); lerr != nil && (lerr.First().Field == "" || lerr.First().Reason == "") {
			t.Errorf("agent rejection without field or reason: %+v", lerr)
		}
	})
}
