package isoweek

import (
	"fmt"
	"time"

	"qa-sampling/fielderr"
)

// Week is an ISO 8601 week: weeks start on Monday, and week 1 of a year is
// the one holding its first Thursday (so 29–31 December can be in week 1
// of the next year and 1–3 January in week 52 or 53 of the previous).
// Make one with Parse, New or Of; the zero Week is invalid.
type Week struct {
	Year   int // ISO week-numbering year, which can differ from the calendar year
	Number int // 1..52 or 53
}

// New returns the week, or an error if year has no such week.
func New(year, number int) (Week, error) {
	w := Week{Year: year, Number: number}
	if err := w.Validate(); err != nil {
		return Week{}, err
	}
	return w, nil
}

// Parse parses the ISO 8601 extended form "2026-W47".
func Parse(s string) (Week, error) {
	var year, number int
	// Sscanf accepts "2026-W7" and signs; checking the length and digits
	// first keeps the accepted form exact.
	if len(s) != 8 || s[4] != '-' || s[5] != 'W' || !digits(s[:4]) || !digits(s[6:]) {
		return Week{}, fmt.Errorf("week %s: want the ISO form YYYY-Www, such as 2026-W47", fielderr.Quote(s))
	}
	if _, err := fmt.Sscanf(s, "%4d-W%2d", &year, &number); err != nil {
		return Week{}, fmt.Errorf("week %s: %w", fielderr.Quote(s), err)
	}
	w := Week{Year: year, Number: number}
	if err := w.Validate(); err != nil {
		return Week{}, fmt.Errorf("week %s: %w", fielderr.Quote(s), err)
	}
	return w, nil
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Validate says why w is not a week that exists, or returns nil.
func (w Week) Validate() error {
	if w.Year < 1 || w.Year > 9999 {
		return fmt.Errorf("year %d out of range 1..9999", w.Year)
	}
	if n := weeksIn(w.Year); w.Number < 1 || w.Number > n {
		return fmt.Errorf("ISO year %d has weeks 1..%d, not %d", w.Year, n, w.Number)
	}
	return nil
}

// Valid reports whether w is a week that exists.
func (w Week) Valid() bool { return w.Validate() == nil }

// weeksIn is 52 or 53: 28 December is always in the year's last week.
func weeksIn(year int) int {
	_, n := time.Date(year, time.December, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
	return n
}

// String returns the ISO form, "2026-W47".
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Number) }

// MarshalText implements encoding.TextMarshaler with the ISO form.
func (w Week) MarshalText() ([]byte, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return []byte(w.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with the ISO form.
func (w *Week) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// Bounds returns the week as [start, end): Monday 00:00 to the next
// Monday 00:00, wall-clock time in loc. Days are counted on the calendar,
// not as 168 hours, so a daylight-saving change inside the week moves
// neither bound.
func (w Week) Bounds(loc *time.Location) (start, end time.Time) {
	day := w.mondayOfYearDay()
	start = time.Date(w.Year, time.January, day, 0, 0, 0, 0, loc)
	end = time.Date(w.Year, time.January, day+7, 0, 0, 0, 0, loc)
	return start, end
}

// mondayOfYearDay is the week's Monday as a day of January of w.Year
// (time.Date normalises days past the month's end and below 1).
func (w Week) mondayOfYearDay() int {
	// 4 January is always in week 1.
	jan4 := time.Date(w.Year, time.January, 4, 0, 0, 0, 0, time.UTC)
	sinceMonday := (int(jan4.Weekday()) + 6) % 7
	return 4 - sinceMonday + 7*(w.Number-1)
}

// Contains reports whether t falls in the week in loc.
func (w Week) Contains(t time.Time, loc *time.Location) bool {
	return Of(t, loc) == w
}

// Next is the following week.
func (w Week) Next() Week { return w.add(7) }

// Prev is the preceding week.
func (w Week) Prev() Week { return w.add(-7) }

func (w Week) add(days int) Week {
	return Of(time.Date(w.Year, time.January, w.mondayOfYearDay()+days, 12, 0, 0, 0, time.UTC), time.UTC)
}

// Of is the ISO week t falls in, with t read as wall-clock time in loc.
// A conversation belongs to Of(its EndedAt, the policy's zone).
func Of(t time.Time, loc *time.Location) Week {
	y, n := t.In(loc).ISOWeek()
	return Week{Year: y, Number: n}
}
