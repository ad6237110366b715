package importfile

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/transcript"
)

// TestWrittenTranscriptsParse checks that what the writers produce is what
// qactl reads: every field survives a write and a parse.
func TestWrittenTranscriptsParse(t *testing.T) {
	start := time.Date(2026, 10, 5, 10, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	rated := transcript.Transcript{
		ExternalID: "c-1", AgentID: "a-1", Channel: "chat", CustomerID: "u-9", CustomerTier: "vip",
		StartedAt: start, EndedAt: start.Add(12 * time.Minute),
		Messages: []transcript.Message{
			{Role: transcript.RoleCustomer, Text: "where is my parcel?", SentAt: start.Add(time.Second)},
			{Role: transcript.RoleAgent, Text: "您好", SentAt: start.Add(time.Minute), AgentID: "a-2"},
			{Role: transcript.RoleBot, Text: "rate us", SentAt: start.Add(11 * time.Minute)},
			{Role: transcript.RoleSystem, Text: "closed", SentAt: start.Add(12 * time.Minute)},
		},
		Tags: []string{"refund"}, CSAT: 4, TransferCount: 1, Attributes: map[string]string{"order_id": "o-77"},
	}
	unrated := transcript.Transcript{ExternalID: "c-2", StartedAt: start, EndedAt: start}

	var buf bytes.Buffer
	if err := WriteTranscriptsJSONL(&buf, []transcript.Transcript{rated, unrated}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("wrote %d lines, want 2:\n%s", len(lines), buf.String())
	}
	at := func(tm time.Time) *timestamppb.Timestamp { return timestamppb.New(tm) }
	want := []*qav1.Transcript{{
		ExternalId: "c-1", AgentId: "a-1", Channel: "chat", CustomerId: "u-9", CustomerTier: "vip",
		StartedAt: at(start), EndedAt: at(start.Add(12 * time.Minute)),
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "where is my parcel?", SentAt: at(start.Add(time.Second))},
			{Role: qav1.Role_ROLE_AGENT, Text: "您好", SentAt: at(start.Add(time.Minute)), AgentId: "a-2"},
			{Role: qav1.Role_ROLE_BOT, Text: "rate us", SentAt: at(start.Add(11 * time.Minute))},
			{Role: qav1.Role_ROLE_SYSTEM, Text: "closed", SentAt: at(start.Add(12 * time.Minute))},
		},
		Tags: []string{"refund"}, Csat: proto.Int32(4), TransferCount: 1, Attributes: map[string]string{"order_id": "o-77"},
	}, {
		// No rating is written as no "csat" at all, not as 0.
		ExternalId: "c-2", StartedAt: at(start), EndedAt: at(start), Tags: []string{}, Attributes: map[string]string{},
	}}
	var p TranscriptParser
	for i, line := range lines {
		got, lerr := p.Parse([]byte(line))
		if lerr != nil {
			t.Fatalf("line %d %s: %v", i+1, line, lerr)
		}
		if !proto.Equal(got, want[i]) {
			t.Errorf("line %d:\n got %v\nwant %v", i+1, got, want[i])
		}
	}
}

// TestWrittenAgentsParse checks the same for the agent directory, where an
// agent written without "active" reads as active.
func TestWrittenAgentsParse(t *testing.T) {
	agents := []Agent{
		{AgentID: "a-1", Name: "Ann", TeamID: "team-1", SupervisorID: "sup-1", HiredOn: "2024-02-29", Active: new(true)},
		{AgentID: "a-2", Active: new(false)},
		{AgentID: "a-3"},
	}
	var buf bytes.Buffer
	if err := WriteAgentsJSONL(&buf, agents); err != nil {
		t.Fatal(err)
	}
	want := []*qav1.Agent{
		{AgentId: "a-1", Name: "Ann", TeamId: "team-1", SupervisorId: "sup-1", HiredOn: "2024-02-29", Active: proto.Bool(true)},
		{AgentId: "a-2", Active: proto.Bool(false)},
		{AgentId: "a-3", Active: proto.Bool(true)},
	}
	for i, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		got, lerr := ParseAgentLine([]byte(line))
		if lerr != nil {
			t.Fatalf("line %d %s: %v", i+1, line, lerr)
		}
		if !proto.Equal(got, want[i]) {
			t.Errorf("line %d:\n got %v\nwant %v", i+1, got, want[i])
		}
	}
}
