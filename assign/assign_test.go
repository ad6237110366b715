package assign

import (
	"fmt"
	"testing"
)

func TestAssign(t *testing.T) {
	cases := []struct {
		name       string
		loads      map[string]int
		supervisor string
		recent     []string
		want       string
	}{
		{"least loaded", map[string]int{"i1": 3, "i2": 1, "i3": 2}, "", nil, "i2"},
		{"ties go to the lowest id", map[string]int{"i2": 0, "i1": 0}, "", nil, "i1"},
		{"never the agent's supervisor", map[string]int{"sup-1": 0, "i2": 5}, "sup-1", nil, "i2"},
		{"only the supervisor: nobody", map[string]int{"sup-1": 0}, "sup-1", nil, ""},
		{"no inspectors: nobody", map[string]int{}, "", nil, ""},
		{"rotation outranks load", map[string]int{"i1": 0, "i2": 4}, "", []string{"i1"}, "i2"},
		{"all recent: the one longest ago", map[string]int{"i1": 0, "i2": 0, "i3": 9}, "", []string{"i1", "i2", "i3"}, "i3"},
		{"recent supervisor stays excluded", map[string]int{"sup-1": 0, "i2": 0}, "sup-1", []string{"i2"}, "i2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := New(tc.loads).Assign(tc.supervisor, tc.recent); got != tc.want {
				t.Fatalf("Assign = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAssignSpreadsAWeek: 3 picks for each of 40 agents over 4 inspectors
// with no history end within one item of each other.
func TestAssignSpreadsAWeek(t *testing.T) {
	a := New(map[string]int{"i1": 0, "i2": 0, "i3": 0, "i4": 0})
	got := map[string]int{}
	for agent := range 40 {
		for range 3 {
			got[a.Assign(fmt.Sprintf("sup-%d", agent%3), nil)]++
		}
	}
	lo, hi := 1<<30, 0
	for _, n := range got {
		lo, hi = min(lo, n), max(hi, n)
	}
	if len(got) != 4 || hi-lo > 1 {
		t.Fatalf("loads after 120 picks: %v; want all four within one of each other", got)
	}
}

func TestRelease(t *testing.T) {
	a := New(map[string]int{"i1": 1, "i2": 1})
	a.Release("i1")
	a.Release("nobody")
	if got := a.Assign("", nil); got != "i1" {
		t.Fatalf("after releasing i1's item, Assign = %q, want i1", got)
	}
}

func TestOther(t *testing.T) {
	loads := map[string]int{"i1": 0, "i2": 4, "sup-1": 0}
	if got := Other(loads, "sup-1", nil, "i1"); got != "i2" {
		t.Fatalf("Other excluding i1 = %q, want i2", got)
	}
	if got := Other(loads, "sup-1", nil, "i2"); got != "i1" {
		t.Fatalf("Other excluding i2 = %q, want i1", got)
	}
	if got := Other(map[string]int{"i1": 0}, "", nil, "i1"); got != "" {
		t.Fatalf("Other with only the excluded one = %q, want nobody", got)
	}
	if loads["i1"] != 0 || loads["i2"] != 4 || len(loads) != 3 {
		t.Fatalf("Other changed the caller's loads: %v", loads)
	}
}
