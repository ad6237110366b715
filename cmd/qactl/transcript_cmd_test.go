package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

func storedTranscript() *qav1.Transcript {
	start := time.Date(2026, 10, 5, 2, 0, 0, 0, time.UTC)
	at := func(sec int) *timestamppb.Timestamp {
		return timestamppb.New(start.Add(time.Duration(sec) * time.Second))
	}
	return &qav1.Transcript{
		ExternalId: "c-9", AgentId: "a1", Channel: "chat", CustomerId: "u9", CustomerTier: "vip",
		StartedAt: at(0), EndedAt: at(600),
		Messages: []*qav1.Message{
			{Role: qav1.Role_ROLE_CUSTOMER, Text: "where is\nmy parcel?\x1b[2J", SentAt: at(5)},
			{Role: qav1.Role_ROLE_AGENT, Text: "您好，我来查一下", SentAt: at(20)},
			{Role: qav1.Role_ROLE_AGENT, Text: "it ships today", SentAt: at(90), AgentId: "a2"},
		},
		Tags: []string{"refund"}, Csat: proto.Int32(4), TransferCount: 1,
		Attributes: map[string]string{"order_id": "o-77"},
		Metrics: &qav1.DerivedMetrics{
			MessageCount: 3, AgentMessageCount: 2, CustomerMessageCount: 1,
			FirstResponseTime: durationpb.New(15 * time.Second), MeanAgentResponseTime: durationpb.New(15 * time.Second),
			AgentReplyCount: 1, HandleTime: durationpb.New(10 * time.Minute),
		},
		Revision: 2, Sampled: true, IngestedAt: at(700), UpdatedAt: at(800),
	}
}

func TestTranscriptGet(t *testing.T) {
	stored := storedTranscript()
	addr := startFake(t, &fakeIngest{stored: map[string]*qav1.Transcript{"c-9": stored}})

	res := runQactl(t, "", "--addr", addr, "transcript", "get", "c-9")
	if res.code != exitOK {
		t.Fatalf("exit status %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{
		"external_id:    c-9\n",
		"customer:       u9 (vip)\n",
		"csat:           4\n",
		"revision:       2, sampled\n",
		"messages:       3 (agent 2, customer 1, bot 0, system 0)\n",
		"first response: 15s\n",
		"handle time:    10m0s\n",
		"mean response:  15s over 1 reply\n",
		// Numbered from 1, as the hints say "message 2".
		"\n1 [",
		"] customer: where is ⏎ my parcel?\\u001b[2J\n2 [",
		"] agent(a1): 您好，我来查一下\n3 [",
		"] agent(a2): it ships today\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}

	res = runQactl(t, "", "--addr", addr, "--json", "transcript", "get", "c-9")
	if res.code != exitOK {
		t.Fatalf("--json: exit status %d; stderr:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{`"external_id":"c-9"`, `"sent_at":"2026-10-05T02:00:05Z"`, `"role":"ROLE_AGENT"`, `"agent_reply_count":1`} {
		if !strings.Contains(strings.ReplaceAll(res.stdout, " ", ""), want) {
			t.Errorf("--json output lacks %s:\n%s", want, res.stdout)
		}
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &decoded); err != nil {
		t.Errorf("--json output is not JSON: %v", err)
	}
}

func TestTranscriptGetErrors(t *testing.T) {
	addr := startFake(t, &fakeIngest{})

	res := runQactl(t, "", "--addr", addr, "transcript", "get", "nope")
	if res.code != exitRPC || res.stderr != "qactl: NOT_FOUND: transcript \"nope\" not found\n" {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
	res = runQactl(t, "", "--addr", addr, "transcript", "get", "")
	want := "qactl: INVALID_ARGUMENT: external_id: must not be empty\n"
	if res.code != exitRPC || res.stderr != want {
		t.Errorf("exit %d, stderr %q, want %q", res.code, res.stderr, want)
	}
}
