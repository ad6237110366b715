package transcript

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"qa-sampling/fielderr"
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

func fieldErr(field, format string, args ...any) *fielderr.Error {
	return fielderr.New(field, format, args...)
}

// rename sets the field of a one-violation error built without one: field
// paths of messages are built only on error, as the loop is hot.
func rename(fe *fielderr.Error, field string) *fielderr.Error {
	if fe != nil {
		fe.Violations[0].Field = field
	}
	return fe
}

// Plausible times: a chat is from this century and not from the future
// (a day's grace absorbs clock skew between the platform and the server).
// Anything else is a unit or parsing mistake at the source, and would land
// in a week nobody samples or saturate a handle time.
var EarliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxFuture is how far after the server's clock a time may lie.
const MaxFuture = 24 * time.Hour

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

// Validate checks t against the API's rules and lim at time now and returns
// the first violation in field order, or nil. Checking stops at the first
// problem: it runs for every pushed transcript, and one clear thing to fix
// per rejected item is what an ingest result carries; the order is that
// of the API's fields, so the same input always reports the same field.
func Validate(t *Transcript, lim Limits, now time.Time) *fielderr.Error {
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
	if fe := checkTime("started_at", t.StartedAt, now); fe != nil {
		return fe
	}
	if fe := checkTime("ended_at", t.EndedAt, now); fe != nil {
		return fe
	}
	if t.EndedAt.Before(t.StartedAt) {
		return fieldErr("ended_at", "%s is before started_at %s", formatTime(t.EndedAt), formatTime(t.StartedAt))
	}
	if fe := checkMessages(t, lim, now); fe != nil {
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

func checkMessages(t *Transcript, lim Limits, now time.Time) *fielderr.Error {
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
		if fe := checkTime("", m.SentAt, now); fe != nil {
			return rename(fe, field("sent_at"))
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
			return rename(fe, field("agent_id"))
		}
	}
	return nil
}

func checkTags(tags []string, lim Limits) *fielderr.Error {
	if len(tags) > lim.MaxTags {
		return fieldErr("tags", "%d tags; at most %d are allowed", len(tags), lim.MaxTags)
	}
	for i, tag := range tags {
		if fe := checkID("", tag, true, lim); fe != nil {
			return rename(fe, "tags["+strconv.Itoa(i)+"]")
		}
	}
	return nil
}

func checkAttributes(attrs map[string]string, lim Limits) *fielderr.Error {
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
			return fieldErr("attributes", "key %s is %d bytes; at most %d are allowed", fielderr.Quote(k), len(k), lim.MaxIDBytes)
		}
		field := "attributes[" + strconv.Quote(k) + "]"
		if k == "" {
			return fieldErr(field, "key is empty")
		}
		if fe := checkID(field, k, true, lim); fe != nil {
			fe.Violations[0].Reason = "key " + fe.Violations[0].Reason
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

// AgentFields are the fields of an agent directory entry.
type AgentFields struct {
	AgentID, Name, TeamID, SupervisorID, HiredOn string
}

// ValidateAgent checks a directory entry and returns every problem:
// agent_id is required and, like team_id and supervisor_id, bounded as
// every id; name is a name (they head every report row); hired_on is empty
// (unknown) or a calendar date as YYYY-MM-DD.
func ValidateAgent(a AgentFields, lim Limits) *fielderr.Error {
	lim = lim.withDefaults()
	var l fielderr.List
	for _, f := range []struct {
		field, value string
		required     bool
	}{
		{"agent_id", a.AgentID, true},
		{"team_id", a.TeamID, false},
		{"supervisor_id", a.SupervisorID, false},
	} {
		if fe := checkID(f.field, f.value, f.required, lim); fe != nil {
			l.AddError("", fe)
		}
	}
	l.Name("name", a.Name, false)
	if a.HiredOn != "" {
		if _, err := time.Parse(time.DateOnly, a.HiredOn); err != nil {
			l.Add("hired_on", "%s is not a valid date; use YYYY-MM-DD, e.g. 2024-03-01", fielderr.Quote(a.HiredOn))
		}
	}
	return l.Collected()
}

// checkID checks an identifier-like string: ids travel into logs, SQL keys
// and CLI tables, so they must be bounded, valid UTF-8 and free of control
// characters (a stray newline would forge a log line or break a table).
func checkID(field, s string, required bool, lim Limits) *fielderr.Error {
	if s == "" {
		if required {
			return fieldErr(field, "required")
		}
		return nil
	}
	if problem := fielderr.IDProblem(s, lim.MaxIDBytes); problem != "" {
		return fieldErr(field, "%s", problem)
	}
	return nil
}

// checkTime requires a set time within the plausible range.
func checkTime(field string, t, now time.Time) *fielderr.Error {
	if t.IsZero() {
		return fieldErr(field, "required")
	}
	return CheckTimeRange(field, t, now)
}

// CheckTimeRange reports a time outside EarliestTime .. now+MaxFuture. A
// caller whose wire format tells a zero time from an absent one uses it
// for a present zero time, which Validate would take for a missing one.
func CheckTimeRange(field string, t, now time.Time) *fielderr.Error {
	if t.Before(EarliestTime) {
		return fieldErr(field, "%s is before %s; send times as RFC 3339 in UTC, e.g. 2026-11-16T09:00:00Z", formatTime(t), formatTime(EarliestTime))
	}
	if latest := now.Add(MaxFuture); t.After(latest) {
		return fieldErr(field, "%s is in the future (the server's clock is %s)", formatTime(t), formatTime(now.Truncate(time.Second)))
	}
	return nil
}

// formatTime prints t as RFC 3339 in UTC, with fractions only when present.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}
