package redact

import "qa-sampling/transcript"

// Transcript redacts the message texts and attribute values of t in place
// and returns how many of each kind it replaced. Messages and attributes
// are copied on write, never modified under the caller: t's slices and map
// may be shared with the request they were decoded from. Attribute keys
// serve as the words before their values (see Labeled). Ids, channel and
// tier are the platform's codes, not the customer's words, and stay.
func (s Set) Transcript(t *transcript.Transcript) Counts {
	var total Counts
	if s == None {
		return total
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
		total.Add(c)
	}
	var attrs map[string]string
	for k, v := range t.Attributes {
		red, c := s.Labeled(k, v)
		if c.Total() == 0 {
			continue
		}
		if attrs == nil {
			attrs = make(map[string]string, len(t.Attributes))
			for k2, v2 := range t.Attributes {
				attrs[k2] = v2
			}
		}
		attrs[k] = red
		total.Add(c)
	}
	if attrs != nil {
		t.Attributes = attrs
	}
	return total
}
