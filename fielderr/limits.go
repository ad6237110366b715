package fielderr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits every stored string obeys. Ids and names travel into SQL keys,
// log lines, CLI tables and every report row, so they are short and single
// line; free text is prose a person wrote and may span lines.
const (
	// MaxIDBytes bounds an id (agent, team, supervisor, inspector, tag).
	MaxIDBytes = 256
	// MaxNameRunes bounds a person's or thing's display name.
	MaxNameRunes = 200
	// MaxNoteBytes bounds a short free-text field: a skip reason, an
	// acknowledgement note, one strength or suggestion.
	MaxNoteBytes = 4 << 10
	// MaxProseBytes bounds a long free-text field: a review comment, a
	// dispute reason or resolution, coaching notes.
	MaxProseBytes = 16 << 10
)

// IDProblem says why s is not a valid non-empty id, or "" when it is one:
// at most maxBytes of valid UTF-8 without control characters (a newline
// would forge a log line or break a table).
func IDProblem(s string, maxBytes int) string {
	if len(s) > maxBytes {
		return fmt.Sprintf("is %d bytes; at most %d are allowed", len(s), maxBytes)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains control character %U at byte %d", r, i)
		}
	}
	return ""
}

// NameProblem says why s is not a valid name, or "" when it is one: like
// an id, but counted in runes, as names are mostly CJK.
func NameProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		return fmt.Sprintf("is %d characters; at most %d are allowed", n, MaxNameRunes)
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains control character %U at byte %d", r, i)
		}
	}
	return ""
}

// TextProblem says why s is not valid free text of at most maxBytes, or ""
// when it is: valid UTF-8, and of the control characters only line breaks
// and tabs, which prose uses.
func TextProblem(s string, maxBytes int) string {
	if len(s) > maxBytes {
		return fmt.Sprintf("is %d bytes; at most %d are allowed", len(s), maxBytes)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return fmt.Sprintf("contains control character %U at byte %d", r, i)
		}
	}
	return ""
}

// ID records a violation when s is not a valid id; empty is a violation
// only when required.
func (l *List) ID(field, s string, required bool) {
	l.check(field, s, required, IDProblem(s, MaxIDBytes))
}

// Name records a violation when s is not a valid name; empty (or blank)
// is a violation only when required.
func (l *List) Name(field, s string, required bool) {
	l.check(field, s, required, NameProblem(s))
}

// Text records a violation when s is not valid free text of at most
// maxBytes; empty (or blank) is a violation only when required.
func (l *List) Text(field, s string, maxBytes int, required bool) {
	l.check(field, s, required, TextProblem(s, maxBytes))
}

func (l *List) check(field, s string, required bool, problem string) {
	switch {
	case required && strings.TrimSpace(s) == "":
		l.Add(field, "required")
	case problem != "":
		l.Add(field, "%s", problem)
	}
}
