package redact

import (
	"slices"

	"qa-sampling/transcript"
)

// Field is a field of a pushed transcript that may carry personal data.
type Field uint8

// Fields, in the order of FieldNames.
const (
	MessageText Field = iota
	AttributeValue
	AttributeKey
	Tag
	CustomerID
	Channel
	CustomerTier
	numFields
)

// FieldNames are the fields' names in metrics.
var FieldNames = [numFields]string{"message", "attribute_value", "attribute_key", "tag", "customer_id", "channel", "customer_tier"}

func (f Field) String() string {
	if f < numFields {
		return FieldNames[f]
	}
	return "Field(?)"
}

// FieldCounts are replacements made in a transcript, by field and kind.
type FieldCounts [numFields]Counts

// Total is the replacements of every field, by kind.
func (fc *FieldCounts) Total() Counts {
	var c Counts
	for _, fcs := range fc {
		c.Add(fcs)
	}
	return c
}

// Transcript redacts every field of t that may carry a customer's
// personal data, in place, and returns how many of each kind it replaced
// in each field:
//
//   - Free text (message texts, attribute values) gets placeholders
//     (Text; an attribute's key serves as the words before its value, see
//     Labeled).
//   - Values that group or select chats (customer_id, channel,
//     customer_tier, tags, attribute keys) get pseudonyms under key (ID):
//     a platform that uses the customer's phone number or e-mail as the
//     customer id still gets one stable id per customer, so the same push
//     twice stays the same and chats of one customer stay together.
//   - external_id and the agent ids stay as pushed: they are the keys the
//     platform and the agent directory address a chat and an agent by (a
//     re-push, GetTranscript, calibration sets, the directory), and name
//     the conversation and the agent, not the customer.
//
// Messages, tags and attributes are copied on write, never modified under
// the caller: t's slices and map may be shared with the request they were
// decoded from. Two attribute keys that pseudonymise to the same key (one
// number written two ways) keep both values, joined by "; " in the order
// of the pushed keys, so the result does not depend on map order.
func (s Set) Transcript(t *transcript.Transcript, key *Key) FieldCounts {
	var fc FieldCounts
	if s == None {
		return fc
	}
	copied := false
	for i := range t.Messages {
		text, c := s.Text(t.Messages[i].Text)
		if c.Total() == 0 {
			continue
		}
		if !copied {
			t.Messages = append([]transcript.Message(nil), t.Messages...)
			copied = true
		}
		t.Messages[i].Text = text
		fc[MessageText].Add(c)
	}
	for _, f := range []struct {
		field Field
		value *string
	}{{CustomerID, &t.CustomerID}, {Channel, &t.Channel}, {CustomerTier, &t.CustomerTier}} {
		id, c := s.ID(key, *f.value)
		*f.value = id
		fc[f.field].Add(c)
	}
	copied = false
	for i, tag := range t.Tags {
		id, c := s.ID(key, tag)
		if c.Total() == 0 {
			continue
		}
		if !copied {
			t.Tags = slices.Clone(t.Tags)
			copied = true
		}
		t.Tags[i] = id
		fc[Tag].Add(c)
	}
	s.attributes(t, key, &fc)
	return fc
}

// attributes redacts the attribute values and pseudonymises the keys.
func (s Set) attributes(t *transcript.Transcript, key *Key, fc *FieldCounts) {
	var values map[string]string // the redacted values, by pushed key
	keysChanged := false
	for k, v := range t.Attributes {
		if _, c := s.ID(key, k); c.Total() > 0 {
			keysChanged = true
		}
		red, c := s.Labeled(k, v)
		if c.Total() == 0 {
			continue
		}
		if values == nil {
			values = make(map[string]string)
		}
		values[k] = red
		fc[AttributeValue].Add(c)
	}
	if values == nil && !keysChanged {
		return
	}
	attrs := make(map[string]string, len(t.Attributes))
	keys := make([]string, 0, len(t.Attributes))
	for k := range t.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := values[k]
		if !ok {
			v = t.Attributes[k]
		}
		id, c := s.ID(key, k)
		fc[AttributeKey].Add(c)
		if prev, dup := attrs[id]; dup {
			v = prev + "; " + v
		}
		attrs[id] = v
	}
	t.Attributes = attrs
}
