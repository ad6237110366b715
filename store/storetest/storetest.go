package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/transcript"
)

// Run runs the suite. Its factory returns the whole store.Store, so a
// backend that lacks a capability fails to compile rather than skipping
// its tests. newStore must return a new, empty, migrated store
// each time it is called and arrange its cleanup with t.Cleanup. Subtests
// run in parallel, so stores must not share data.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ready", testReady},
		{"PseudonymKey", testPseudonymKey},
		{"PseudonymKeyFirstCallsRace", testPseudonymKeyFirstCalls},
		{"UpsertAgentsOutcomes", testUpsertAgentsOutcomes},
		{"UpsertAgentsInputOrder", testUpsertAgentsInputOrder},
		{"EnsureAgents", testEnsureAgents},
		{"ExistingAgents", testExistingAgents},
		{"GetAgentNotFound", testGetAgentNotFound},
		{"ListAgents", testListAgents},
		{"TranscriptRoundTrip", testTranscriptRoundTrip},
		{"TranscriptOutcomes", testTranscriptOutcomes},
		{"TranscriptMixedBatch", testTranscriptMixedBatch},
		{"TranscriptLargeBatch", testTranscriptLargeBatch},
		{"TranscriptSecondaryAgentsReplaced", testSecondaryAgentsReplaced},
		{"TranscriptFailedBatchWritesNothing", testFailedBatchWritesNothing},
		{"TranscriptNotFound", testTranscriptNotFound},
		{"TranscriptEmptyBatch", testTranscriptEmptyBatch},
		{"MarkSampled", testMarkSampled},
		{"Tokens", testTokens},
		{"TokenNotFound", testTokenNotFound},
		{"ConcurrentUpserts", testConcurrentUpserts},
		{"Dictionaries", testDictionaries},
		{"SampleBodies", testSampleBodies},
	}
	tests = append(tests, samplingTests...)
	tests = append(tests, topUpTests...)
	tests = append(tests, reviewTests...)
	tests = append(tests, backlogTests...)
	tests = append(tests, sessionTests...)
	tests = append(tests, calibrationTests...)
	tests = append(tests, checkTests...)
	tests = append(tests, severityTests...)
	tests = append(tests, retentionTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// base is the start of the test conversations. It has sub-millisecond
// digits so that the suite checks what Prepare truncates is what is stored.
var base = time.Date(2026, 11, 23, 9, 0, 0, 123_456_789, time.UTC)

func agent(id string) store.Agent {
	return store.Agent{AgentID: id, Name: "Name " + id, TeamID: "team-1", SupervisorID: "sup-1", HiredOn: "2024-03-01", Active: true}
}

func mustUpsertAgents(t *testing.T, s store.Store, ids ...string) {
	t.Helper()
	agents := make([]store.Agent, len(ids))
	for i, id := range ids {
		agents[i] = agent(id)
	}
	if _, err := s.UpsertAgents(t.Context(), agents); err != nil {
		t.Fatalf("UpsertAgents: %v", err)
	}
}

// conversation is a plain exchange with two agent replies (1000 ms and
// 1501 ms after the customer), so its mean response is not a whole
// millisecond.
func conversation(id, agentID string) transcript.Transcript {
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	return transcript.Transcript{
		ExternalID:   id,
		AgentID:      agentID,
		Channel:      "web",
		CustomerID:   "cust-" + id,
		CustomerTier: "gold",
		StartedAt:    base,
		EndedAt:      at(60_000),
		Messages: []transcript.Message{
			{Role: transcript.RoleSystem, Text: "会话已接入", SentAt: at(0)},
			{Role: transcript.RoleBot, Text: "您好，请描述您的问题", SentAt: at(10)},
			{Role: transcript.RoleCustomer, Text: "我的订单 DD20261123 还没发货", SentAt: at(2_000)},
			{Role: transcript.RoleCustomer, Text: "already 5 days!", SentAt: at(2_500)},
			{Role: transcript.RoleAgent, Text: "您好，我帮您查一下", SentAt: at(3_000)},
			{Role: transcript.RoleCustomer, Text: "好的", SentAt: at(10_000)},
			{Role: transcript.RoleAgent, Text: "已为您催促仓库, tracking SF1234567890", SentAt: at(11_501)},
		},
		Tags:          []string{"shipping", "delay"},
		CSAT:          4,
		TransferCount: 0,
		Attributes:    map[string]string{"order_id": "DD20261123", "lang": "zh-CN"},
	}
}

func prepare(t transcript.Transcript) *transcript.Prepared { return transcript.Prepare(t) }

func upsert(t *testing.T, s store.Store, items ...*transcript.Prepared) []store.Outcome {
	t.Helper()
	out, err := s.UpsertTranscripts(t.Context(), items)
	if err != nil {
		t.Fatalf("UpsertTranscripts: %v", err)
	}
	if len(out) != len(items) {
		t.Fatalf("UpsertTranscripts returned %d outcomes for %d items", len(out), len(items))
	}
	return out
}

func get(t *testing.T, s store.Store, id string) store.StoredTranscript {
	t.Helper()
	st, err := s.GetTranscript(t.Context(), id)
	if err != nil {
		t.Fatalf("GetTranscript(%q): %v", id, err)
	}
	return st
}

// checkStored compares what was read back with what was pushed.
func checkStored(t *testing.T, got store.StoredTranscript, want *transcript.Prepared) {
	t.Helper()
	if d := diffTranscript(want.Transcript, got.Transcript); d != "" {
		t.Errorf("transcript %q read back differs:\n%s", want.ExternalID, d)
	}
	if got.Metrics != want.Metrics {
		t.Errorf("transcript %q metrics = %+v, want %+v", want.ExternalID, got.Metrics, want.Metrics)
	}
	if !slices.Equal(got.AgentIDs, want.AgentIDs) {
		t.Errorf("transcript %q AgentIDs = %q, want %q", want.ExternalID, got.AgentIDs, want.AgentIDs)
	}
}

func diffTranscript(want, got transcript.Transcript) string {
	var d []string
	field := func(name string, w, g any) {
		if !reflect.DeepEqual(w, g) {
			d = append(d, fmt.Sprintf("  %s: got %#v, want %#v", name, g, w))
		}
	}
	timeField := func(name string, w, g time.Time) {
		if !w.Equal(g) {
			d = append(d, fmt.Sprintf("  %s: got %s, want %s", name, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano)))
		}
	}
	field("ExternalID", want.ExternalID, got.ExternalID)
	field("AgentID", want.AgentID, got.AgentID)
	field("Channel", want.Channel, got.Channel)
	field("CustomerID", want.CustomerID, got.CustomerID)
	field("CustomerTier", want.CustomerTier, got.CustomerTier)
	timeField("StartedAt", want.StartedAt, got.StartedAt)
	timeField("EndedAt", want.EndedAt, got.EndedAt)
	field("Tags", want.Tags, got.Tags)
	field("CSAT", want.CSAT, got.CSAT)
	field("TransferCount", want.TransferCount, got.TransferCount)
	field("Attributes", want.Attributes, got.Attributes)
	if len(want.Messages) != len(got.Messages) {
		d = append(d, fmt.Sprintf("  Messages: got %d, want %d", len(got.Messages), len(want.Messages)))
	} else {
		for i := range want.Messages {
			w, g := want.Messages[i], got.Messages[i]
			p := fmt.Sprintf("Messages[%d].", i)
			field(p+"Role", w.Role, g.Role)
			field(p+"Text", w.Text, g.Text)
			field(p+"AgentID", w.AgentID, g.AgentID)
			timeField(p+"SentAt", w.SentAt, g.SentAt)
		}
	}
	return strings.Join(d, "\n")
}

// window brackets a write: stored times must fall inside it (to the ms).
type window struct{ from, to time.Time }

func begin() window { return window{from: time.Now().Truncate(time.Millisecond)} }

func (w window) close() window { w.to = time.Now(); return w }

func (w window) check(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.Before(w.from) || got.After(w.to) {
		t.Errorf("%s = %s, want within [%s, %s]", what, got.Format(time.RFC3339Nano),
			w.from.Format(time.RFC3339Nano), w.to.Format(time.RFC3339Nano))
	}
}

func testReady(t *testing.T, s store.Store) {
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	// A second probe answers from the cached schema check the same way.
	if err := s.Ready(t.Context()); err != nil {
		t.Fatalf("Ready again: %v", err)
	}
}

// ensure is EnsureAgents with an error that names the call.
func ensure(ctx context.Context, s store.Store, ids []string) error {
	if err := s.EnsureAgents(ctx, ids); err != nil {
		return fmt.Errorf("EnsureAgents(%q): %w", ids, err)
	}
	return nil
}
