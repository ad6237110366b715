// Package importfile is the JSONL import format, defined once: one
// transcript or agent per line, SPEC §3 field names, RFC 3339 times. The
// record types below are both what the writers encode (test data, qagen,
// the STAR converter) and what the parser decodes (qactl), so the two
// sides cannot drift apart.
package importfile

import (
	"bufio"
	"encoding/json"
	"io"
	"time"

	"qa-sampling/transcript"
)

// TranscriptRecord is one line of the transcript import format. Times
// stay strings so that a bad one can be reported with its exact path.
type TranscriptRecord struct {
	ExternalID    string            `json:"external_id"`
	AgentID       string            `json:"agent_id"`
	Channel       string            `json:"channel"`
	CustomerID    string            `json:"customer_id"`
	CustomerTier  string            `json:"customer_tier"`
	StartedAt     string            `json:"started_at"` // RFC 3339
	EndedAt       string            `json:"ended_at"`
	Messages      []MessageRecord   `json:"messages"`
	Tags          []string          `json:"tags"`
	CSAT          *int32            `json:"csat,omitempty"` // absent or null: no rating
	TransferCount int32             `json:"transfer_count"`
	Attributes    map[string]string `json:"attributes"`
}

// MessageRecord is one message of a TranscriptRecord.
type MessageRecord struct {
	Role    string `json:"role"` // agent, customer, bot or system
	Text    string `json:"text"`
	SentAt  string `json:"sent_at"`
	AgentID string `json:"agent_id,omitempty"` // absent: the transcript's agent
}

// Record returns t in the import format.
func Record(t *transcript.Transcript) TranscriptRecord {
	r := TranscriptRecord{
		ExternalID:    t.ExternalID,
		AgentID:       t.AgentID,
		Channel:       t.Channel,
		CustomerID:    t.CustomerID,
		CustomerTier:  t.CustomerTier,
		StartedAt:     formatTime(t.StartedAt),
		EndedAt:       formatTime(t.EndedAt),
		Messages:      make([]MessageRecord, len(t.Messages)),
		Tags:          t.Tags,
		TransferCount: int32(t.TransferCount),
		Attributes:    t.Attributes,
	}
	if t.CSAT != 0 { // 0 is transcript's "no rating"
		r.CSAT = new(int32(t.CSAT))
	}
	for i, m := range t.Messages {
		r.Messages[i] = MessageRecord{Role: m.Role.String(), Text: m.Text, SentAt: formatTime(m.SentAt), AgentID: m.AgentID}
	}
	// Empty collections as [] and {}, not null, for readers that do not
	// expect null.
	if r.Tags == nil {
		r.Tags = []string{}
	}
	if r.Attributes == nil {
		r.Attributes = map[string]string{}
	}
	return r
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// WriteTranscriptsJSONL writes ts in the import format, one object a line.
func WriteTranscriptsJSONL(w io.Writer, ts []transcript.Transcript) error {
	return writeJSONL(w, len(ts), func(i int) any { return Record(&ts[i]) })
}

// Agent is one line of the agent import format.
type Agent struct {
	AgentID      string `json:"agent_id"`
	Name         string `json:"name"`
	TeamID       string `json:"team_id"`
	SupervisorID string `json:"supervisor_id"`
	HiredOn      string `json:"hired_on"`
	Active       *bool  `json:"active,omitempty"` // absent or null: active
}

// WriteAgentsJSONL writes the directory in the import format, one object
// a line.
func WriteAgentsJSONL(w io.Writer, agents []Agent) error {
	return writeJSONL(w, len(agents), func(i int) any { return agents[i] })
}

func writeJSONL(w io.Writer, n int, item func(int) any) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode ends every value with a newline
	enc.SetEscapeHTML(false)
	for i := range n {
		if err := enc.Encode(item(i)); err != nil {
			return err
		}
	}
	return bw.Flush()
}
