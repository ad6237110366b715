package server

import (
	"testing"
	"time"
)

// TestPartBoundsCutOnHours: the parts of a week cover it exactly, in
// order, and meet on a whole UTC hour, also in a week of 167 or 169 hours
// and one starting on a half hour; a range shorter than the parts is cut
// evenly.
func TestPartBoundsCutOnHours(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	for _, c := range []struct {
		name     string
		from, to time.Time
		onHours  bool
	}{
		{"UTC week", time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), true},
		{"167 hours (clocks forward)", time.Date(2026, 3, 9, 0, 0, 0, 0, newYork).AddDate(0, 0, -1), time.Date(2026, 3, 15, 0, 0, 0, 0, newYork), true},
		{"169 hours (clocks back)", time.Date(2026, 10, 26, 0, 0, 0, 0, newYork), time.Date(2026, 11, 2, 0, 0, 0, 0, newYork), true},
		{"half-hour zone", time.Date(2026, 11, 16, 0, 0, 0, 0, kolkata), time.Date(2026, 11, 23, 0, 0, 0, 0, kolkata), true},
		{"ninety minutes", time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 16, 1, 30, 0, 0, time.UTC), false},
	} {
		b := partBounds(c.from, c.to)
		if !b[0].Equal(c.from) || !b[len(b)-1].Equal(c.to) {
			t.Errorf("%s: parts %v do not cover [%v, %v)", c.name, b, c.from, c.to)
		}
		for i := 1; i < len(b); i++ {
			if !b[i].After(b[i-1]) {
				t.Errorf("%s: part %d is empty or backwards: %v", c.name, i, b)
			}
			if i < len(b)-1 && c.onHours && !b[i].Equal(b[i].Truncate(time.Hour)) {
				t.Errorf("%s: parts meet at %v, not on a UTC hour", c.name, b[i].UTC())
			}
		}
		if half := c.to.Sub(c.from) / 2; c.onHours && (b[1].Sub(c.from) > half || b[1].Sub(c.from) < half-time.Hour) {
			t.Errorf("%s: parts of %v and %v", c.name, b[1].Sub(c.from), c.to.Sub(b[1]))
		}
	}
}
