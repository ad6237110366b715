package fielderr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Violation is one problem with one field.
type Violation struct {
	// Field is the path as the API spells it, e.g. "messages[3].sent_at";
	// empty when the problem is with the request as a whole.
	Field string
	// Reason says what is wrong in words a person can act on.
	Reason string
}

func (v Violation) String() string {
	if v.Field == "" {
		return v.Reason
	}
	return v.Field + ": " + v.Reason
}

// Error is every problem found in one request, in the order found. It
// always holds at least one violation.
type Error struct {
	Violations []Violation
}

// shownInMessage is how many violations Error spells out; the rest are
// counted. The message is what a CLI prints and a log line carries; the
// full list travels beside it (BadRequest).
const shownInMessage = 3

func (e *Error) Error() string {
	var b strings.Builder
	for i, v := range e.Violations {
		if i == shownInMessage {
			fmt.Fprintf(&b, "; and %d more", len(e.Violations)-shownInMessage)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.String())
	}
	return b.String()
}

// First is the first violation found.
func (e *Error) First() Violation { return e.Violations[0] }

// New is an error with one violation.
func New(field, format string, args ...any) *Error {
	return &Error{Violations: []Violation{{Field: field, Reason: fmt.Sprintf(format, args...)}}}
}

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var fe *Error
	ok := errors.As(err, &fe)
	return fe, ok
}

// Prefix returns err with prefix put before each field ("policy." +
// "rules[0]"), for a validator of a part of a request. An error that is not
// an *Error becomes a violation of the prefix itself; nil stays nil.
func Prefix(prefix string, err error) error {
	if err == nil {
		return nil
	}
	var l List
	l.AddError(prefix, err)
	return l.Err()
}

// MaxViolations bounds how many violations one Error lists: a request with
// a million bad entries gets the first of them and a count of the rest.
const MaxViolations = 100

// List collects violations. The zero value is ready to use.
type List struct {
	violations []Violation
	dropped    int
}

// Add records a violation of field; format and args must quote a caller's
// value only through Quote.
func (l *List) Add(field, format string, args ...any) {
	l.add(Violation{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (l *List) add(v Violation) {
	if len(l.violations) >= MaxViolations {
		l.dropped++
		return
	}
	l.violations = append(l.violations, v)
}

// AddError records err's violations with prefix put before each field; an
// error that is not an *Error becomes one violation of the prefix (less a
// trailing dot) with err's text as the reason.
func (l *List) AddError(prefix string, err error) {
	if err == nil {
		return
	}
	if fe, ok := As(err); ok {
		for _, v := range fe.Violations {
			v.Field = joinField(prefix, v.Field)
			l.add(v)
		}
		return
	}
	l.add(Violation{Field: strings.TrimSuffix(prefix, "."), Reason: err.Error()})
}

func joinField(prefix, field string) string {
	switch {
	case field == "":
		return strings.TrimSuffix(prefix, ".")
	case prefix == "" || strings.HasSuffix(prefix, ".") || strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}

// Len is how many violations were recorded.
func (l *List) Len() int { return len(l.violations) + l.dropped }

// Err returns the violations as an *Error, or nil when there are none.
func (l *List) Err() error {
	if fe := l.Collected(); fe != nil {
		return fe
	}
	return nil
}

// Collected is Err for a caller that keeps the concrete type.
func (l *List) Collected() *Error {
	if l.Len() == 0 {
		return nil
	}
	vs := l.violations
	if l.dropped > 0 {
		vs = append(vs[:len(vs):len(vs)], Violation{Reason: strconv.Itoa(l.dropped) + " more problems not listed"})
	}
	return &Error{Violations: vs}
}
