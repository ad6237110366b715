// Package redact replaces customers' personal numbers and addresses in chat
// text with typed placeholders before anything is stored (SPEC §7,
// Privacy): Chinese mobile and landline numbers, 18-digit resident ID-card
// numbers, bank-card numbers and e-mail addresses.
//
// Chats are full of long digit strings that are not personal data (order
// and tracking numbers, amounts, dates, times), so a number is replaced
// only when its digits have the shape of one of these kinds and pass the
// checks the kind carries: an ID-card number its check digit and birth
// date, a bank-card number the Luhn check and a card-scheme prefix. A
// number glued to letters (SF1234567890123, DD…) is a code, never
// personal; a card-like number introduced as an order, tracking or
// invoice number (订单号, 运单, order …) is left alone. The functions are
// pure and safe for concurrent use; redacting redacted text changes
// nothing.
package redact

import (
	"fmt"
	"strings"
)

// Kind is one kind of personal data.
type Kind uint8

// Kinds, in the order of Names.
const (
	Phone Kind = iota
	Landline
	IDCard
	BankCard
	Email
	numKinds
)

// Names are the kinds' names in flags and metrics.
var Names = [numKinds]string{"phone", "landline", "id_card", "bank_card", "email"}

// Placeholders replace each kind.
var Placeholders = [numKinds]string{"〔手机号〕", "〔座机号〕", "〔身份证号〕", "〔银行卡号〕", "〔邮箱〕"}

func (k Kind) String() string {
	if k < numKinds {
		return Names[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Set is the kinds a redactor replaces.
type Set uint8

// All is every kind: the default. None turns redaction off.
const (
	All  Set = 1<<numKinds - 1
	None Set = 0
)

// Has reports whether s redacts k.
func (s Set) Has(k Kind) bool { return s&(1<<k) != 0 }

// ParseSet reads a comma-separated list of kind names, or "all" or "none".
func ParseSet(spec string) (Set, error) {
	spec = strings.TrimSpace(spec)
	switch spec {
	case "all":
		return All, nil
	case "none", "":
		return None, nil
	}
	var s Set
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		k := kindNamed(part)
		if k == numKinds {
			return 0, fmt.Errorf("%q is not a redaction kind; use all, none or a list of %s", part, strings.Join(Names[:], ", "))
		}
		s |= 1 << k
	}
	return s, nil
}

func kindNamed(name string) Kind {
	for k, n := range Names {
		if n == name {
			return Kind(k)
		}
	}
	return numKinds
}

// String is the set as ParseSet reads it.
func (s Set) String() string {
	switch s {
	case All:
		return "all"
	case None:
		return "none"
	}
	var names []string
	for k := range numKinds {
		if s.Has(k) {
			names = append(names, Names[k])
		}
	}
	return strings.Join(names, ",")
}

// Counts are replacements made, by kind.
type Counts [numKinds]int

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	for k := range c {
		c[k] += o[k]
	}
}

// Total is the number of replacements of every kind.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// span is a stretch of text to replace.
type span struct {
	start, end int
	kind       Kind
}

// Text returns text with the personal data of the kinds in s replaced, and
// how many of each were replaced. Text without a digit or an '@' is
// returned as it is, without allocating.
func (s Set) Text(text string) (string, Counts) {
	return s.replace(nil, false, "", text)
}

// Labeled is Text for a value that label names, such as an attribute's
// key: the label counts as the words before the value, so an order number
// under the key "order_id" is left alone as it would be after "订单号".
func (s Set) Labeled(label, value string) (string, Counts) {
	return s.replace(nil, false, label, value)
}

// replace finds the personal data in text and replaces each by its
// placeholder, or by its pseudonym under key if pseudonyms.
func (s Set) replace(key *Key, pseudonyms bool, label, text string) (string, Counts) {
	var counts Counts
	if s == None {
		return text, counts
	}
	var spans []span
	if s.Has(Email) {
		spans = findEmails(text, spans)
	}
	if s&^(1<<Email) != 0 {
		spans = findNumbers(s, label, text, spans)
	}
	if len(spans) == 0 {
		return text, counts
	}
	var b strings.Builder
	b.Grow(len(text) + (8+pseudonymLen)*len(spans))
	last := 0
	for _, sp := range spans {
		b.WriteString(text[last:sp.start])
		if pseudonyms {
			key.pseudonym(&b, sp.kind, text[sp.start:sp.end])
		} else {
			b.WriteString(Placeholders[sp.kind])
		}
		last = sp.end
		counts[sp.kind]++
	}
	b.WriteString(text[last:])
	return b.String(), counts
}
