package transcript

import (
	"math/bits"
	"time"
)

// Derive computes the ingest metrics of t. Messages are taken in list
// order, which is the order they were sent (Validate enforces it).
//
//   - Counts are per role; MessageCount counts every message.
//   - HandleTime is EndedAt − StartedAt.
//   - Response times follow "waits". A customer message opens a wait unless
//     one is already open, so a burst of customer messages waits from its
//     first message. The next agent message closes the wait and counts one
//     reply whose response time is its SentAt − the wait's start. Bot and
//     system messages neither open nor close a wait: a bot's "please hold"
//     does not answer the customer on the agent's behalf. Agent messages
//     with no open wait (greetings, follow-ups) are not replies.
//   - FirstResponse is the response time of the first reply: from the first
//     customer message to the first agent message after it in the list.
//   - MeanAgentResponse is the mean response time over the AgentReplyCount
//     replies, rounded down to the nanosecond.
//   - With no reply both response metrics are NoResponse and
//     AgentReplyCount is 0.
//
// A reply stamped before its wait (out-of-order input that skipped
// Validate) counts as 0, so a response time can never be mistaken for
// NoResponse.
func Derive(t *Transcript) Metrics {
	m := Metrics{
		MessageCount:      len(t.Messages),
		FirstResponse:     NoResponse,
		MeanAgentResponse: NoResponse,
		HandleTime:        t.EndedAt.Sub(t.StartedAt),
	}
	var (
		waitOpen  bool
		waitStart time.Time
		sum       uint128
	)
	for i := range t.Messages {
		msg := &t.Messages[i]
		switch msg.Role {
		case RoleAgent:
			m.AgentMessageCount++
			if !waitOpen {
				continue
			}
			waitOpen = false
			response := max(msg.SentAt.Sub(waitStart), 0)
			if m.AgentReplyCount == 0 {
				m.FirstResponse = response
			}
			m.AgentReplyCount++
			sum.add(uint64(response))
		case RoleCustomer:
			m.CustomerMessageCount++
			if !waitOpen {
				waitOpen, waitStart = true, msg.SentAt
			}
		case RoleBot:
			m.BotMessageCount++
		case RoleSystem:
			m.SystemMessageCount++
		}
	}
	if m.AgentReplyCount > 0 {
		m.MeanAgentResponse = time.Duration(sum.div(uint64(m.AgentReplyCount)))
	}
	return m
}

// uint128 sums response times exactly: thousands of replies to a
// conversation lasting years would overflow an int64 of nanoseconds.
type uint128 struct{ hi, lo uint64 }

func (u *uint128) add(v uint64) {
	var carry uint64
	u.lo, carry = bits.Add64(u.lo, v, 0)
	u.hi += carry
}

// div returns u / d rounded down. Each summand is below 2⁶³, so for a sum
// of d of them the quotient fits and u.hi < d, as bits.Div64 requires.
func (u uint128) div(d uint64) uint64 {
	q, _ := bits.Div64(u.hi, u.lo, d)
	return q
}
