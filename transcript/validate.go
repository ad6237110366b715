package transcript

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits bound what one pushed transcript may hold. A zero field means the
// default, so a configuration that sets only some limits keeps sane values
// for the rest.
type Limits struct {
	MaxMessages   int // messages per transcript
	MaxTextBytes  int // bytes per message text and per attribute value
	MaxIDBytes    int // bytes per id, channel, tier, tag and attribute key
	MaxTags       int // tags per transcript
	MaxAttributes int // attributes per transcript
}

// DefaultLimits are generous for real chats (the longest in the STAR corpus
// has 54 messages) while keeping one transcript well below a gRPC message.
func DefaultLimits() Limits {
	return Limits{
		MaxMessages:   2000,
		MaxTextBytes:  64 << 10,
		MaxIDBytes:    256,
		MaxTags:       64,
		MaxAttributes: 64,
	}
}

func (lim Limits) withDefaults() Limits {
	def := DefaultLimits()
	for _, p := range []struct{ v, d *int }{
		{&lim.MaxMessages, &def.MaxMessages},
		{&lim.MaxTextBytes, &def.MaxTextBytes},
		{&lim.MaxIDBytes, &def.MaxIDBytes},
		{&lim.MaxTags, &def.MaxTags},
		{&lim.MaxAttributes, &def.MaxAttributes},
	} {
		if *p.v <= 0 {
			*p.v = *p.d
		}
	}
	return lim
}

// FieldError is a rejected input: Field is named as the API spells it
// ("messages[3].sent_at"), Reason says what is wrong in words a person
// reading a CLI can act on.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// String returns the role as the import format and the CLI spell it.
func (r Role) String() string {
	switch r {
	case RoleAgent:
		return "agent"
	case RoleCustomer:
		return "customer"
	case RoleBot:
		return "bot"
	case RoleSystem:
		return "system"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Validate checks t against the API's rules and lim and returns the first
// violation in field order, or nil. Checking stops at the first problem so
// that a client fixes one clear thing at a time; the order is that of the
// API's fields, so the same input always reports the same field.
func Validate(t *Transcript, lim Limits) *FieldError {
	lim = lim.withDefaults()
	if fe := checkID("external_id", t.ExternalID, true, lim); fe != nil {
		return fe
	}
	if fe := checkID("agent_id", t.AgentID, true, lim); fe != nil {
		return fe
	}
	if fe := checkID("channel", t.Channel, true, lim); fe != nil {
		return fe
	}
	if fe := checkID("customer_id", t.CustomerID, false, lim); fe != nil {
		return fe
	}
	if fe := checkID("customer_tier", t.CustomerTier, false, lim); fe != nil {
		return fe
	}
	if fe := checkTime("started_at", t.StartedAt); fe != nil {
		return fe
	}
	if fe := checkTime("ended_at", t.EndedAt); fe != nil {
		return fe
	}
	if t.EndedAt.Before(t.StartedAt) {
		return fieldErr("ended_at", "%s is before started_at %s", formatTime(t.EndedAt), formatTime(t.StartedAt))
	}
	if fe := checkMessages(t, lim); fe != nil {
		return fe
	}
	if fe := checkTags(t.Tags, lim); fe != nil {
		return fe
	}
	if t.CSAT < 0 || t.CSAT > 5 {
		return fieldErr("csat", "%d is out of range 1..5 (leave it out when the customer gave no rating)", t.CSAT)
	}
	if t.TransferCount < 0 {
		return fieldErr("transfer_count", "%d is negative", t.TransferCount)
	}
	return checkAttributes(t.Attributes, lim)
}

func checkMessages(t *Transcript, lim Limits) *FieldError {
	switch n := len(t.Messages); {
	case n == 0:
		return fieldErr("messages", "at least one message is required")
	case n > lim.MaxMessages:
		return fieldErr("messages", "%d messages; at most %d are allowed", n, lim.MaxMessages)
	}
	for i := range t.Messages {
		m := &t.Messages[i]
		// Field names are built only for an error: this loop runs for every
		// message of every pushed transcript.
		field := func(name string) string { return "messages[" + strconv.Itoa(i) + "]." + name }
		switch {
		case m.Role == RoleUnknown:
			return fieldErr(field("role"), "not set; use agent, customer, bot or system")
		case m.Role > RoleSystem:
			return fieldErr(field("role"), "unknown role %d; use agent, customer, bot or system", uint8(m.Role))
		}
		if fe := checkTime("", m.SentAt); fe != nil {
			fe.Field = field("sent_at")
			return fe
		}
		if m.SentAt.Before(t.StartedAt) {
			return fieldErr(field("sent_at"), "%s is before started_at %s", formatTime(m.SentAt), formatTime(t.StartedAt))
		}
		if m.SentAt.After(t.EndedAt) {
			return fieldErr(field("sent_at"), "%s is after ended_at %s", formatTime(m.SentAt), formatTime(t.EndedAt))
		}
		// Response times are measured by position, so the list must be in
		// the order the messages were sent.
		if i > 0 && m.SentAt.Before(t.Messages[i-1].SentAt) {
			return fieldErr(field("sent_at"), "%s is before messages[%d].sent_at %s; send messages in the order they were sent",
				formatTime(m.SentAt), i-1, formatTime(t.Messages[i-1].SentAt))
		}
		if !utf8.ValidString(m.Text) {
			return fieldErr(field("text"), "is not valid UTF-8")
		}
		if len(m.Text) > lim.MaxTextBytes {
			return fieldErr(field("text"), "is %d bytes; at most %d are allowed", len(m.Text), lim.MaxTextBytes)
		}
		if m.AgentID != "" && m.Role != RoleAgent {
			return fieldErr(field("agent_id"), "set on a %s message; only agent messages name an author", m.Role)
		}
		if fe := checkID("", m.AgentID, false, lim); fe != nil {
			fe.Field = field("agent_id")
			return fe
		}
	}
	return nil
}

func checkTags(tags []string, lim Limits) *FieldError {
	if len(tags) > lim.MaxTags {
		return fieldErr("tags", "%d tags; at most %d are allowed", len(tags), lim.MaxTags)
	}
	for i, tag := range tags {
		if fe := checkID("", tag, true, lim); fe != nil {
			fe.Field = "tags[" + strconv.Itoa(i) + "]"
			return fe
		}
	}
	return nil
}

func checkAttributes(attrs map[string]string, lim Limits) *FieldError {
	if len(attrs) > lim.MaxAttributes {
		return fieldErr("attributes", "%d attributes; at most %d are allowed", len(attrs), lim.MaxAttributes)
	}
	// Sorted so that the first violation reported does not depend on map order.
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) > lim.MaxIDBytes {
			// Not named in the field: an over-long key would flood the message.
			return fieldErr("attributes", "key %s is %d bytes; at most %d are allowed", quotePrefix(k), len(k), lim.MaxIDBytes)
		}
		field := "attributes[" + strconv.Quote(k) + "]"
		if k == "" {
			return fieldErr(field, "key is empty")
		}
		if fe := checkID(field, k, true, lim); fe != nil {
			fe.Reason = "key " + fe.Reason
			return fe
		}
		v := attrs[k]
		if !utf8.ValidString(v) {
			return fieldErr(field, "value is not valid UTF-8")
		}
		if len(v) > lim.MaxTextBytes {
			return fieldErr(field, "value is %d bytes; at most %d are allowed", len(v), lim.MaxTextBytes)
		}
	}
	return nil
}

// ValidateAgentFields checks the fields of a directory entry that the store
// relies on: agent_id is required and bounded like every id; hired_on is
// empty (unknown) or a calendar date as YYYY-MM-DD.
func ValidateAgentFields(agentID, hiredOn string, lim Limits) *FieldError {
	lim = lim.withDefaults()
	if fe := checkID("agent_id", agentID, true, lim); fe != nil {
		return fe
	}
	if hiredOn != "" {
		if _, err := time.Parse(time.DateOnly, hiredOn); err != nil {
			return fieldErr("hired_on", "%s is not a valid date; use YYYY-MM-DD, e.g. 2024-03-01", quotePrefix(hiredOn))
		}
	}
	return nil
}

// checkID checks an identifier-like string: ids travel into logs, SQL keys
// and CLI tables, so they must be bounded, valid UTF-8 and free of control
// characters (a stray newline would forge a log line or break a table).
func checkID(field, s string, required bool, lim Limits) *FieldError {
	if s == "" {
		if required {
			return fieldErr(field, "required")
		}
		return nil
	}
	if len(s) > lim.MaxIDBytes {
		return fieldErr(field, "is %d bytes; at most %d are allowed", len(s), lim.MaxIDBytes)
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "is not valid UTF-8")
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fieldErr(field, "contains control character %U at byte %d", r, i)
		}
	}
	return nil
}

// checkTime requires a set time within the years RFC 3339 and protobuf
// timestamps can carry, so that whatever is stored can be read back.
func checkTime(field string, t time.Time) *FieldError {
	if t.IsZero() {
		return fieldErr(field, "required")
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fieldErr(field, "year %d is outside 0001..9999", y)
	}
	return nil
}

// quotePrefix quotes s, cut to its first 32 bytes, for echoing input
// that may be arbitrarily long.
func quotePrefix(s string) string {
	const shown = 32
	if len(s) <= shown {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:shown]) + "..."
}

// formatTime prints t as RFC 3339 in UTC, with fractions only when present.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
