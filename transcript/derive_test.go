package transcript

import (
	"testing"
	"time"
)

// conv builds a conversation starting at t0 from (role, offset) pairs.
func conv(msgs ...Message) *Transcript {
	tr := &Transcript{ExternalID: "c", AgentID: "agent-1", Channel: "chat", StartedAt: t0, EndedAt: t0}
	for _, m := range msgs {
		if m.SentAt.After(tr.EndedAt) {
			tr.EndedAt = m.SentAt
		}
	}
	tr.Messages = msgs
	return tr
}

func at(role Role, offset time.Duration) Message {
	return Message{Role: role, Text: role.String(), SentAt: t0.Add(offset)}
}

func by(agentID string, offset time.Duration) Message {
	m := at(RoleAgent, offset)
	m.AgentID = agentID
	return m
}

const (
	agent    = RoleAgent
	customer = RoleCustomer
	bot      = RoleBot
	system   = RoleSystem
	sec      = time.Second
)

func TestDerive(t *testing.T) {
	cases := []struct {
		name string
		tr   *Transcript
		want Metrics
	}{
		{"no messages", conv(),
			Metrics{FirstResponse: NoResponse, MeanAgentResponse: NoResponse}},
		{"one exchange", conv(at(customer, 0), at(agent, 10*sec)),
			Metrics{MessageCount: 2, AgentMessageCount: 1, CustomerMessageCount: 1,
				FirstResponse: 10 * sec, MeanAgentResponse: 10 * sec, AgentReplyCount: 1, HandleTime: 10 * sec}},
		{"no customer message", conv(at(agent, 0), at(agent, 5*sec), at(system, 6*sec)),
			Metrics{MessageCount: 3, AgentMessageCount: 2, SystemMessageCount: 1,
				FirstResponse: NoResponse, MeanAgentResponse: NoResponse, HandleTime: 6 * sec}},
		{"no agent message", conv(at(customer, 0), at(bot, sec), at(customer, 9*sec)),
			Metrics{MessageCount: 3, CustomerMessageCount: 2, BotMessageCount: 1,
				FirstResponse: NoResponse, MeanAgentResponse: NoResponse, HandleTime: 9 * sec}},
		{"bot only", conv(at(bot, 0), at(bot, sec)),
			Metrics{MessageCount: 2, BotMessageCount: 2,
				FirstResponse: NoResponse, MeanAgentResponse: NoResponse, HandleTime: sec}},
		{"bot interleaved neither opens nor closes a wait",
			conv(at(bot, 0), at(customer, 2*sec), at(bot, 3*sec), at(system, 4*sec), at(agent, 32*sec)),
			Metrics{MessageCount: 5, AgentMessageCount: 1, CustomerMessageCount: 1, BotMessageCount: 2, SystemMessageCount: 1,
				FirstResponse: 30 * sec, MeanAgentResponse: 30 * sec, AgentReplyCount: 1, HandleTime: 32 * sec}},
		{"customer burst waits from its first message",
			conv(at(customer, 0), at(customer, 5*sec), at(customer, 8*sec), at(agent, 20*sec)),
			Metrics{MessageCount: 4, AgentMessageCount: 1, CustomerMessageCount: 3,
				FirstResponse: 20 * sec, MeanAgentResponse: 20 * sec, AgentReplyCount: 1, HandleTime: 20 * sec}},
		{"greeting before the customer is no reply",
			conv(at(agent, 0), at(customer, 5*sec), at(agent, 12*sec)),
			Metrics{MessageCount: 3, AgentMessageCount: 2, CustomerMessageCount: 1,
				FirstResponse: 7 * sec, MeanAgentResponse: 7 * sec, AgentReplyCount: 1, HandleTime: 12 * sec}},
		{"several waits",
			conv(
				at(customer, 0), at(agent, 10*sec), at(agent, 15*sec), // 10 s; the follow-up is no reply
				at(customer, 20*sec), at(customer, 25*sec), at(agent, 50*sec), // 30 s
				at(system, 55*sec), at(customer, 60*sec), at(bot, 61*sec), at(agent, 62*sec), // 2 s
				at(customer, 70*sec), // never answered: no reply
			),
			Metrics{MessageCount: 11, AgentMessageCount: 4, CustomerMessageCount: 5, BotMessageCount: 1, SystemMessageCount: 1,
				FirstResponse: 10 * sec, MeanAgentResponse: 14 * sec, AgentReplyCount: 3, HandleTime: 70 * sec}},
		{"transfer between agents counts every agent's replies",
			conv(at(customer, 0), by("agent-1", 10*sec), at(system, 11*sec), at(customer, 20*sec), by("agent-2", 50*sec)),
			Metrics{MessageCount: 5, AgentMessageCount: 2, CustomerMessageCount: 2, SystemMessageCount: 1,
				FirstResponse: 10 * sec, MeanAgentResponse: 20 * sec, AgentReplyCount: 2, HandleTime: 50 * sec}},
		{"mean rounds down to the nanosecond",
			conv(at(customer, 0), at(agent, 1), at(customer, 1), at(agent, 3)),
			Metrics{MessageCount: 4, AgentMessageCount: 2, CustomerMessageCount: 2,
				FirstResponse: 1, MeanAgentResponse: 1, AgentReplyCount: 2, HandleTime: 3}},
		{"reply stamped before its wait counts as zero",
			conv(at(customer, 10*sec), at(agent, 5*sec)),
			Metrics{MessageCount: 2, AgentMessageCount: 1, CustomerMessageCount: 1,
				FirstResponse: 0, MeanAgentResponse: 0, AgentReplyCount: 1, HandleTime: 10 * sec}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Derive(c.tr); got != c.want {
				t.Fatalf("Derive:\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDeriveHandleTimeFromBounds(t *testing.T) {
	tr := conv(at(customer, sec), at(agent, 2*sec))
	tr.EndedAt = t0.Add(time.Hour) // the conversation outlasts its last message
	if got := Derive(tr).HandleTime; got != time.Hour {
		t.Fatalf("HandleTime = %v; want 1h", got)
	}
}

// Replies of centuries sum past an int64 of nanoseconds; the mean must
// still be exact.
func TestDeriveMeanDoesNotOverflow(t *testing.T) {
	const long = 250 * 365 * 24 * time.Hour // about 7.9e18 ns
	var msgs []Message
	base := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	cur := base
	for _, wait := range []time.Duration{long, long, long - 3} {
		msgs = append(msgs, Message{Role: RoleCustomer, SentAt: cur})
		cur = cur.Add(wait)
		msgs = append(msgs, Message{Role: RoleAgent, SentAt: cur})
	}
	tr := &Transcript{StartedAt: base, EndedAt: cur, Messages: msgs}
	m := Derive(tr)
	if m.AgentReplyCount != 3 || m.MeanAgentResponse != long-1 || m.FirstResponse != long {
		t.Fatalf("got %+v; want 3 replies, mean %d, first %d", m, long-1, long)
	}
}
