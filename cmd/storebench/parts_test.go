package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSampleParts: --sample --parts times every part of a preview over
// the week storebench wrote and prints the floor they set.
func TestSampleParts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "week.db")
	c := config{db: db, n: 3000, batch: 500, every: 3000, agents: 50, pool: 200, transferEvery: 20, seed: 1}
	var out strings.Builder
	if err := run(t.Context(), c, &out); err != nil {
		t.Fatal(err)
	}
	c.sample, c.repeat, c.parts, c.bare = true, 1, true, true
	out.Reset()
	if err := runSample(t.Context(), c, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"part: bare index scan",
		"part: the week's scan, two halves at once",
		"part: HMAC keys of the week's ids",
		"part: sampler over the week in memory",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !regexp.MustCompile(`parts: scan \+ sampler = CPU \S+; on 2 cores a preview takes at least \S+, [0-9.]+× the bare scan's CPU`).MatchString(got) {
		t.Errorf("output lacks the floor:\n%s", got)
	}
	for _, want := range []string{"over 3000 chats", "the week in memory: 3000 chats"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q: the 3000 chats written were not all read:\n%s", want, got)
		}
	}
}
