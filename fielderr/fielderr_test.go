package fielderr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuoteShowsAShortPrefixAndTheLength(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"2026-W47", `"2026-W47"`},
		{strings.Repeat("a", QuotedRunes), `"` + strings.Repeat("a", QuotedRunes) + `"`},
		{strings.Repeat("a", 3<<20), `"` + strings.Repeat("a", QuotedRunes) + `"… (3145728 bytes)`},
		// Runes, not bytes: a CJK value is not cut inside a character.
		{strings.Repeat("周", 40), `"` + strings.Repeat("周", QuotedRunes) + `"… (120 bytes)`},
		{"a\x00b\n", `"a\x00b\n"`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%.40q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestListCollectsEveryViolationAndPrefixes(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list has an error")
	}
	l.Add("a", "bad %d", 1)
	l.AddError("policy.", New("rules[0]", "unknown"))
	l.AddError("ratings", New("[x]", "unknown"))
	l.AddError("week", errors.New("not a week"))
	err := l.Err()
	fe, ok := As(fmt.Errorf("wrapped: %w", err))
	if !ok {
		t.Fatalf("As(%v) failed", err)
	}
	want := []Violation{{"a", "bad 1"}, {"policy.rules[0]", "unknown"}, {"ratings[x]", "unknown"}, {"week", "not a week"}}
	if fmt.Sprint(fe.Violations) != fmt.Sprint(want) {
		t.Errorf("violations %v, want %v", fe.Violations, want)
	}
	if got := err.Error(); got != "a: bad 1; policy.rules[0]: unknown; ratings[x]: unknown; and 1 more" {
		t.Errorf("message %q", got)
	}
	if Prefix("x", nil) != nil {
		t.Error("Prefix(nil) is not nil")
	}
}

func TestListBoundsTheViolations(t *testing.T) {
	var l List
	for range 1_000_000 {
		l.Add("ratings", "unknown")
	}
	fe, _ := As(l.Err())
	if n := len(fe.Violations); n != MaxViolations+1 {
		t.Fatalf("%d violations, want %d", n, MaxViolations+1)
	}
	if last := fe.Violations[MaxViolations].Reason; last != "999900 more problems not listed" {
		t.Errorf("last violation %q", last)
	}
}

func TestStringChecks(t *testing.T) {
	long := strings.Repeat("x", 10<<20)
	for _, tc := range []struct {
		name  string
		check func(*List)
		want  string // "" for valid
	}{
		{"id ok", func(l *List) { l.ID("team_id", "team-07", true) }, ""},
		{"id required", func(l *List) { l.ID("team_id", "", true) }, "team_id: required"},
		{"id optional", func(l *List) { l.ID("team_id", "", false) }, ""},
		{"id long", func(l *List) { l.ID("team_id", long, false) }, "team_id: is 10485760 bytes; at most 256 are allowed"},
		{"id newline", func(l *List) { l.ID("team_id", "a\nb", false) }, "team_id: contains control character U+000A at byte 1"},
		{"id bad utf8", func(l *List) { l.ID("team_id", "a\xff", false) }, "team_id: is not valid UTF-8"},
		{"name cjk", func(l *List) { l.Name("name", strings.Repeat("周", MaxNameRunes), true) }, ""},
		{"name long", func(l *List) { l.Name("name", strings.Repeat("周", MaxNameRunes+1), true) }, "name: is 201 characters; at most 200 are allowed"},
		{"name nul", func(l *List) { l.Name("name", "a\x00", true) }, "name: contains control character U+0000 at byte 1"},
		{"name blank", func(l *List) { l.Name("name", "  ", true) }, "name: required"},
		{"text lines", func(l *List) { l.Text("reason", "line 1\r\nline\t2", MaxProseBytes, true) }, ""},
		{"text nul", func(l *List) { l.Text("reason", "a\x00", MaxProseBytes, true) }, "reason: contains control character U+0000 at byte 1"},
		{"text long", func(l *List) { l.Text("reason", long, MaxProseBytes, false) }, "reason: is 10485760 bytes; at most 16384 are allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l List
			tc.check(&l)
			got := ""
			if err := l.Err(); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzQuote: whatever the value, the quote is short, valid UTF-8 and
// starts with the value's own beginning.
func FuzzQuote(f *testing.F) {
	f.Add("2026-W47")
	f.Add(strings.Repeat("周", 100))
	f.Add("\xff\xfe\x00\n")
	f.Add(strings.Repeat("…", 40))
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		if len(q) > 32*10+40 || !utf8.ValidString(q) {
			t.Fatalf("Quote(%d bytes) = %d bytes %q", len(s), len(q), q)
		}
		prefix, err := strconv.QuotedPrefix(q)
		unquoted, _ := strconv.Unquote(prefix)
		if err != nil || !strings.HasPrefix(s, unquoted) {
			t.Fatalf("Quote(%q) = %s does not quote a prefix (%v)", s, q, err)
		}
	})
}
