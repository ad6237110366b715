package main

import (
	"io"
	"os"
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

// TestSamplePartsRefused: --parts is refused, naming the flag, where its
// figures would be wrong or it would be ignored: on PostgreSQL (this
// process's CPU leaves out the server's scans), with no round to take the
// best of, and without --sample. Nothing is opened first.
func TestSamplePartsRefused(t *testing.T) {
	sqlite := filepath.Join(t.TempDir(), "none.db")
	for _, tc := range []struct {
		name string
		c    config
		want string
	}{
		{"postgres", config{db: "postgres://nobody@127.0.0.1:1/none?sslmode=disable", sample: true, repeat: 3, parts: true}, "PostgreSQL"},
		{"no rounds", config{db: sqlite, sample: true, repeat: 0, parts: true}, "--repeat 0"},
		{"without --sample", config{db: sqlite, repeat: 3, parts: true}, "--sample"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkParts(tc.c)
			if err == nil || !strings.Contains(err.Error(), "--parts") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("checkParts = %v; want an error naming --parts and %q", err, tc.want)
			}
			if tc.c.sample {
				if err := runSample(t.Context(), tc.c, io.Discard); err == nil || !strings.Contains(err.Error(), "--parts") {
					t.Fatalf("runSample = %v; want the --parts refusal", err)
				}
			}
		})
	}
	if _, err := os.Stat(sqlite); !os.IsNotExist(err) {
		t.Errorf("%s: %v; a refused --parts must open nothing", sqlite, err)
	}
	if err := checkParts(config{db: "postgres://x@h/db", sample: true, repeat: 1}); err != nil {
		t.Errorf("without --parts: %v", err)
	}
}
