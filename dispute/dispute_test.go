package dispute

import (
	"errors"
	"testing"
	"time"
)

func TestCheckOpen(t *testing.T) {
	finalised := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	const window = 14 * 24 * time.Hour
	open := Contested{ReviewID: 7, InspectorID: "i1", FinalizedAt: finalised}
	with := func(f func(*Contested)) Contested { c := open; f(&c); return c }
	cases := []struct {
		name string
		c    Contested
		now  time.Time
		want any // nil or a pointer to the error type
	}{
		{"within the window", open, finalised.Add(time.Hour), nil},
		{"at the window's last instant", open, finalised.Add(window), nil},
		{"after the window", open, finalised.Add(window + time.Millisecond), &WindowClosedError{}},
		{"retracted", with(func(c *Contested) { c.SupersededByID = 9 }), finalised.Add(time.Hour), &RetractedError{}},
		{"retracted wins over a closed window", with(func(c *Contested) { c.SupersededByID = 9 }), finalised.Add(2 * window), &RetractedError{}},
		{"one open dispute per review", with(func(c *Contested) { c.OpenDisputeID = 3 }), finalised.Add(time.Hour), &AlreadyOpenError{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOpen(tc.c, tc.now, window)
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("CheckOpen = %v, want nil", err)
				}
			case *WindowClosedError:
				if !errors.As(err, &want) || !want.Closed.Equal(finalised.Add(window)) || want.ReviewID != 7 {
					t.Fatalf("CheckOpen = %#v, want the window closed at %v", err, finalised.Add(window))
				}
			case *RetractedError:
				if !errors.As(err, &want) || want.SupersededByID != 9 {
					t.Fatalf("CheckOpen = %#v, want retracted, replaced by 9", err)
				}
			case *AlreadyOpenError:
				if !errors.As(err, &want) || want.DisputeID != 3 {
					t.Fatalf("CheckOpen = %#v, want already open as dispute 3", err)
				}
			}
		})
	}
}

func TestAssignee(t *testing.T) {
	c := Contested{ReviewID: 7, InspectorID: "i1"}
	cases := []struct {
		name       string
		loads      map[string]int
		supervisor string
		recent     []string
		want       string
	}{
		{"never the reviewer, however idle", map[string]int{"i1": 0, "i2": 9}, "", nil, "i2"},
		{"never the agent's supervisor", map[string]int{"i1": 0, "sup": 0, "i3": 5}, "sup", nil, "i3"},
		{"rotation among the others", map[string]int{"i1": 0, "i2": 0, "i3": 3}, "", []string{"i2"}, "i3"},
		{"only the reviewer: nobody", map[string]int{"i1": 0}, "", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Assignee(c, tc.loads, tc.supervisor, tc.recent); got != tc.want {
				t.Fatalf("Assignee = %q, want %q", got, tc.want)
			}
		})
	}
}
