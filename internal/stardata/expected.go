package stardata

import (
	"time"

	"qa-sampling/transcript"
)

// ExpectedMetrics computes, straight from the raw STAR events, the metrics
// the service must derive for Convert(d). It deliberately does not call
// transcript.Derive and uses another formulation of the same rules, so
// that a mistake in either shows up as a disagreement:
//
// Split the visible messages at every agent message. An agent message is a
// reply when the customer wrote at least once since the previous agent
// message (or since the start), and its response time runs from the
// earliest of those customer messages. FirstResponse is the first reply's,
// MeanAgentResponse the mean over replies rounded down to the nanosecond;
// both are transcript.NoResponse without replies. STAR has no bot or
// system messages. HandleTime spans the earliest to the latest message
// time, or of any event time when there are no messages.
func ExpectedMetrics(d Dialogue) transcript.Metrics {
	m := transcript.Metrics{FirstResponse: transcript.NoResponse, MeanAgentResponse: transcript.NoResponse}
	var (
		sinceAgent    []int64 // times of customer messages since the last agent message
		responsesSecs []int64
		lo, hi        int64
		anyLo, anyHi  int64
	)
	for _, e := range d.Events {
		if e.UnixTime != 0 {
			if anyLo == 0 || e.UnixTime < anyLo {
				anyLo = e.UnixTime
			}
			if e.UnixTime > anyHi {
				anyHi = e.UnixTime
			}
		}
		isCustomer := e.Agent == "User" && e.Action == "utter"
		isAgent := e.Agent == "Wizard" && (e.Action == "utter" || e.Action == "pick_suggestion")
		if !isCustomer && !isAgent {
			continue
		}
		m.MessageCount++
		if lo == 0 || e.UnixTime < lo {
			lo = e.UnixTime
		}
		if e.UnixTime > hi {
			hi = e.UnixTime
		}
		if isCustomer {
			m.CustomerMessageCount++
			sinceAgent = append(sinceAgent, e.UnixTime)
			continue
		}
		m.AgentMessageCount++
		if len(sinceAgent) > 0 {
			responsesSecs = append(responsesSecs, e.UnixTime-sinceAgent[0])
			sinceAgent = sinceAgent[:0]
		}
	}
	if m.MessageCount == 0 {
		lo, hi = anyLo, anyHi
	}
	m.HandleTime = time.Duration(hi-lo) * time.Second
	if n := len(responsesSecs); n > 0 {
		var total int64
		for _, r := range responsesSecs {
			total += r
		}
		m.AgentReplyCount = n
		m.FirstResponse = time.Duration(responsesSecs[0]) * time.Second
		m.MeanAgentResponse = time.Duration(total) * time.Second / time.Duration(n)
	}
	return m
}
