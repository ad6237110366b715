package e2e

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

var baseTime = time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)

// chat builds a valid transcript: a customer asks, the agent answers, n
// rounds, one minute apart.
func chat(id, agentID string, rounds int) *qav1.Transcript {
	start := baseTime.Add(time.Duration(len(id)) * time.Minute)
	t := &qav1.Transcript{
		ExternalId:   id,
		AgentId:      agentID,
		Channel:      "chat",
		CustomerId:   "cust-" + id,
		CustomerTier: "regular",
		StartedAt:    timestamppb.New(start),
		Tags:         []string{"refund"},
		Attributes:   map[string]string{"shop": "flagship"},
	}
	at := start
	for r := 0; r < rounds; r++ {
		at = at.Add(30 * time.Second)
		t.Messages = append(t.Messages, &qav1.Message{Role: qav1.Role_ROLE_CUSTOMER, Text: fmt.Sprintf("您好，订单 %s 第%d个问题什么时候发货？", id, r), SentAt: timestamppb.New(at)})
		at = at.Add(30 * time.Second)
		t.Messages = append(t.Messages, &qav1.Message{Role: qav1.Role_ROLE_AGENT, Text: fmt.Sprintf("亲，已为您查询，订单 %s 预计明天发出，请耐心等待。", id), SentAt: timestamppb.New(at)})
	}
	t.EndedAt = timestamppb.New(at.Add(10 * time.Second))
	return t
}

// agentsFor builds directory entries for ids.
func agentsFor(ids ...string) []*qav1.Agent {
	out := make([]*qav1.Agent, len(ids))
	for i, id := range ids {
		out[i] = &qav1.Agent{AgentId: id, Name: "Agent " + id, TeamId: "team-1", SupervisorId: "sup-1", HiredOn: "2025-01-15"}
	}
	return out
}

// pushedFields strips the output-only fields so a read-back transcript can
// be compared with what was pushed.
func pushedFields(t *qav1.Transcript) *qav1.Transcript {
	c := proto.Clone(t).(*qav1.Transcript)
	c.Metrics, c.IngestedAt, c.UpdatedAt, c.Revision, c.Sampled = nil, nil, nil, 0, false
	for _, m := range c.Messages {
		if m.GetRole() == qav1.Role_ROLE_AGENT && m.GetAgentId() == c.GetAgentId() {
			m.AgentId = "" // the server fills the default author in
		}
	}
	return c
}

func assertSameTranscript(t *testing.T, want, got *qav1.Transcript) {
	t.Helper()
	if !proto.Equal(pushedFields(want), pushedFields(got)) {
		t.Fatalf("transcript %s differs after read-back:\nwant %v\ngot  %v", want.GetExternalId(), pushedFields(want), pushedFields(got))
	}
}
