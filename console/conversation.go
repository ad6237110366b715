package console

import (
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	qav1 "qa-sampling/proto/qa/v1"
)

// Conversation is a transcript as the console shows it: numbered messages,
// each with its author's role said in words (colour only repeats it), agent
// names where the directory gave them, and the metrics the service derived.
// The review page and the supervisor's record page render it with the
// "conversation" partial (templates/partials/conversation.html).
type Conversation struct {
	ExternalID   string
	Channel      string
	CustomerTier string
	// AgentID handled the conversation (the last owner on a transfer);
	// AgentName is their directory name, empty when unknown.
	AgentID   string
	AgentName string
	StartedAt *timestamppb.Timestamp
	EndedAt   *timestamppb.Timestamp
	Tags      []string
	Messages  []ChatMessage
	// Metrics are the service's derived figures, ready to show.
	Metrics []Metric
	// Hints are the automatic checks' findings (SPEC §6), shown to the
	// inspector as hints, never as scores; empty when none fired.
	Hints []Hint
	// ContentRemovedAt is when retention removed the messages; nil while
	// they are kept.
	ContentRemovedAt *timestamppb.Timestamp
}

// ChatMessage is one message of the conversation.
type ChatMessage struct {
	// N numbers messages from 1, as inspectors cite them ("message 7").
	N int
	// Role is customer, agent, bot, system or unknown: the CSS class.
	Role string
	// RoleKey is the message key of the role's label.
	RoleKey string
	// Author is the agent's name (or id when the directory has none) of
	// an agent message; empty for the other roles.
	Author string
	// Transfer marks the first message of an agent other than the one
	// before: the chat was handed over here.
	Transfer bool
	Text     string
	SentAt   *timestamppb.Timestamp
	// Hints point at this message.
	Hints []Hint
}

// Anchor is the element id of the message, for links from hints.
func (m ChatMessage) Anchor() string { return "msg-" + strconv.Itoa(m.N) }

// Metric is one derived figure: a message key for its label and its value
// already formatted in the visitor's language.
type Metric struct {
	Key   string
	Value string
}

// Hint is one automatic check's finding.
type Hint struct {
	// Check is the check's API name, e.g. slow_first_response.
	Check string
	// Message is the 1-based number of the message it points to; 0 for
	// the conversation as a whole.
	Message int
	// Detail is what the check says, in the service's words.
	Detail string
}

// roleNames maps the API's roles to the CSS class and the label's key.
var roleNames = map[qav1.Role][2]string{
	qav1.Role_ROLE_CUSTOMER: {"customer", "conversation.role.customer"},
	qav1.Role_ROLE_AGENT:    {"agent", "conversation.role.agent"},
	qav1.Role_ROLE_BOT:      {"bot", "conversation.role.bot"},
	qav1.Role_ROLE_SYSTEM:   {"system", "conversation.role.system"},
}

// newConversation builds the view of t. names maps agent ids to directory
// names (nil or partial is fine: an unnamed agent shows as their id);
// hints are the checks' findings, each attached to its message.
func newConversation(v *View, t *qav1.Transcript, names map[string]string, hints []Hint) Conversation {
	c := Conversation{
		ExternalID: t.GetExternalId(), Channel: t.GetChannel(), CustomerTier: t.GetCustomerTier(),
		AgentID: t.GetAgentId(), AgentName: names[t.GetAgentId()],
		StartedAt: t.GetStartedAt(), EndedAt: t.GetEndedAt(), Tags: t.GetTags(), Hints: hints,
		ContentRemovedAt: t.GetContentRemovedAt(),
	}
	byMessage := map[int][]Hint{}
	for _, h := range hints {
		if h.Message > 0 {
			byMessage[h.Message] = append(byMessage[h.Message], h)
		}
	}
	lastAgent := ""
	for i, m := range t.GetMessages() {
		role, ok := roleNames[m.GetRole()]
		if !ok {
			role = [2]string{"unknown", "conversation.role.unknown"}
		}
		cm := ChatMessage{N: i + 1, Role: role[0], RoleKey: role[1], Text: m.GetText(), SentAt: m.GetSentAt(), Hints: byMessage[i+1]}
		if m.GetRole() == qav1.Role_ROLE_AGENT {
			author := m.GetAgentId()
			if author == "" {
				author = t.GetAgentId()
			}
			cm.Author = author
			if n := names[author]; n != "" {
				cm.Author = n
			}
			cm.Transfer = lastAgent != "" && author != lastAgent
			lastAgent = author
		}
		c.Messages = append(c.Messages, cm)
	}
	c.Metrics = conversationMetrics(v, t)
	return c
}

// conversationMetrics lists the figures the service derived, plus the
// transcript's own transfer count and CSAT; absent figures are left out
// rather than shown as zero.
func conversationMetrics(v *View, t *qav1.Transcript) []Metric {
	m := t.GetMetrics()
	var out []Metric
	add := func(key, value string) { out = append(out, Metric{Key: key, Value: value}) }
	if d := m.GetFirstResponseTime(); d != nil {
		add("conversation.metric.first_response", formatDuration(v, d))
	}
	if d := m.GetMeanAgentResponseTime(); d != nil {
		add("conversation.metric.mean_response", formatDuration(v, d))
	}
	if d := m.GetHandleTime(); d != nil {
		add("conversation.metric.handle_time", formatDuration(v, d))
	}
	if m != nil {
		add("conversation.metric.messages", fmt.Sprintf(v.T("conversation.metric.messages_value"),
			m.GetMessageCount(), m.GetCustomerMessageCount(), m.GetAgentMessageCount(), m.GetBotMessageCount()+m.GetSystemMessageCount()))
		add("conversation.metric.agent_replies", strconv.Itoa(int(m.GetAgentReplyCount())))
	}
	add("conversation.metric.transfers", strconv.Itoa(int(t.GetTransferCount())))
	if t.Csat != nil {
		add("conversation.metric.csat", fmt.Sprintf("%d / 5", t.GetCsat()))
	}
	return out
}

// formatDuration shows a duration the way people read waits: "45秒",
// "2分05秒", "1小时03分" (or the English units).
func formatDuration(v *View, d *durationpb.Duration) string {
	dur := d.AsDuration().Round(time.Second)
	if dur < 0 {
		dur = 0
	}
	h, m, s := int(dur/time.Hour), int(dur%time.Hour/time.Minute), int(dur%time.Minute/time.Second)
	switch {
	case h > 0:
		return fmt.Sprintf(v.T("conversation.duration.hm"), h, m)
	case m > 0:
		return fmt.Sprintf(v.T("conversation.duration.ms"), m, s)
	}
	return fmt.Sprintf(v.T("conversation.duration.s"), s)
}

// consoleHints turns the service's check hits into the page's hints, the
// detail in the visitor's language: the text as written and the phrase it
// matched, or the wait against its limit.
func consoleHints(v *View, hits []*qav1.CheckHit) []Hint {
	out := make([]Hint, 0, len(hits))
	for _, h := range hits {
		hint := Hint{Check: h.GetCheck(), Message: int(h.GetMessageIndex()) + 1}
		switch {
		case h.GetMatched() != "" && h.GetPhrase() != "" && h.GetMatched() != h.GetPhrase():
			hint.Detail = fmt.Sprintf(v.T("conversation.hint.matched_phrase"), h.GetMatched(), h.GetPhrase())
		case h.GetMatched() != "":
			hint.Detail = fmt.Sprintf(v.T("conversation.hint.matched"), h.GetMatched())
		case h.GetLimitMs() > 0:
			hint.Detail = fmt.Sprintf(v.T("conversation.hint.waited"),
				formatDuration(v, durationpb.New(time.Duration(h.GetWaitMs())*time.Millisecond)),
				formatDuration(v, durationpb.New(time.Duration(h.GetLimitMs())*time.Millisecond)))
		}
		out = append(out, hint)
	}
	return out
}
