package isoweek

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Week
		wantErr bool
	}{
		{in: "2026-W47", want: Week{2026, 47}},
		{in: "2026-W01", want: Week{2026, 1}},
		{in: "2020-W53", want: Week{2020, 53}}, // 2020 began on a Wednesday in a leap year
		{in: "2026-W53", want: Week{2026, 53}}, // 2026 begins on a Thursday
		{in: "2021-W53", wantErr: true},        // 2021 has 52 weeks
		{in: "2025-W53", wantErr: true},
		{in: "2026-W00", wantErr: true},
		{in: "2026-W54", wantErr: true},
		{in: "0000-W01", wantErr: true},
		{in: "2026-47", wantErr: true},
		{in: "2026W47", wantErr: true},
		{in: "2026-w47", wantErr: true},
		{in: "2026-W7", wantErr: true},
		{in: "26-W47", wantErr: true},
		{in: "+026-W47", wantErr: true},
		{in: "2026-W+7", wantErr: true},
		{in: " 2026-W47", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestWeekBounds(t *testing.T) {
	utc := time.UTC
	newYork := mustLoad("America/New_York")
	tests := []struct {
		week       Week
		loc        *time.Location
		start, end time.Time
	}{
		{Week{2026, 47}, shanghai,
			time.Date(2026, 11, 16, 0, 0, 0, 0, shanghai), time.Date(2026, 11, 23, 0, 0, 0, 0, shanghai)},
		// Week 1 can start in the previous calendar year ...
		{Week{2026, 1}, shanghai,
			time.Date(2025, 12, 29, 0, 0, 0, 0, shanghai), time.Date(2026, 1, 5, 0, 0, 0, 0, shanghai)},
		// ... or as late as 4 January.
		{Week{2021, 1}, utc,
			time.Date(2021, 1, 4, 0, 0, 0, 0, utc), time.Date(2021, 1, 11, 0, 0, 0, 0, utc)},
		// Week 53 runs into the next calendar year.
		{Week{2020, 53}, shanghai,
			time.Date(2020, 12, 28, 0, 0, 0, 0, shanghai), time.Date(2021, 1, 4, 0, 0, 0, 0, shanghai)},
		{Week{2026, 53}, utc,
			time.Date(2026, 12, 28, 0, 0, 0, 0, utc), time.Date(2027, 1, 4, 0, 0, 0, 0, utc)},
		// A daylight-saving change inside the week moves neither bound:
		// the week is 167 hours long.
		{Week{2026, 10}, newYork,
			time.Date(2026, 3, 2, 0, 0, 0, 0, newYork), time.Date(2026, 3, 9, 0, 0, 0, 0, newYork)},
	}
	for _, tt := range tests {
		t.Run(tt.week.String()+" "+tt.loc.String(), func(t *testing.T) {
			start, end := tt.week.Bounds(tt.loc)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Bounds = [%v, %v), want [%v, %v)", start, end, tt.start, tt.end)
			}
			if start.Weekday() != time.Monday || start.In(tt.loc).Hour() != 0 {
				t.Errorf("start %v is not Monday 00:00", start)
			}
			if got := Of(start, tt.loc); got != tt.week {
				t.Errorf("Of(start) = %v, want %v", got, tt.week)
			}
			if got := Of(end.Add(-time.Nanosecond), tt.loc); got != tt.week {
				t.Errorf("Of(end - 1ns) = %v, want %v", got, tt.week)
			}
			if got := Of(end, tt.loc); got == tt.week {
				t.Errorf("Of(end) = %v, want the next week", got)
			}
		})
	}
	start, end := Week{2026, 10}.Bounds(newYork)
	if d := end.Sub(start); d != 167*time.Hour {
		t.Errorf("DST week lasts %v, want 167h", d)
	}
}

func TestOfTimeZone(t *testing.T) {
	tests := []struct {
		name string
		t    time.Time
		loc  *time.Location
		want Week
	}{
		// Sunday 23:30 in Shanghai is Sunday 15:30 UTC: still week 47.
		{"Sunday 23:30 Shanghai", time.Date(2026, 11, 22, 15, 30, 0, 0, time.UTC), shanghai, Week{2026, 47}},
		// Monday 00:10 in Shanghai is still Sunday 16:10 in UTC, but the
		// policy's zone decides: week 48.
		{"Monday 00:10 Shanghai", time.Date(2026, 11, 22, 16, 10, 0, 0, time.UTC), shanghai, Week{2026, 48}},
		{"same instant in UTC", time.Date(2026, 11, 22, 16, 10, 0, 0, time.UTC), time.UTC, Week{2026, 47}},
		// 1 January 2021 was a Friday of 2020's week 53.
		{"New Year 2021", time.Date(2021, 1, 1, 12, 0, 0, 0, shanghai), shanghai, Week{2020, 53}},
		// 31 December 2024 was a Tuesday of 2025's week 1.
		{"New Year's Eve 2024", time.Date(2024, 12, 31, 12, 0, 0, 0, shanghai), shanghai, Week{2025, 1}},
		// Sunday 3 January 2021 23:59 Shanghai is the end of 2020-W53;
		// one minute later week 1 of 2021 begins.
		{"last minute of 2020-W53", time.Date(2021, 1, 3, 23, 59, 0, 0, shanghai), shanghai, Week{2020, 53}},
		{"first minute of 2021-W01", time.Date(2021, 1, 4, 0, 0, 0, 0, shanghai), shanghai, Week{2021, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.t, tt.loc); got != tt.want {
				t.Errorf("Of(%v, %v) = %v, want %v", tt.t, tt.loc, got, tt.want)
			}
			if !tt.want.Contains(tt.t, tt.loc) {
				t.Errorf("%v.Contains(%v) = false", tt.want, tt.t)
			}
		})
	}
}

func TestWeekNextPrev(t *testing.T) {
	tests := []struct{ w, next Week }{
		{Week{2026, 47}, Week{2026, 48}},
		{Week{2020, 52}, Week{2020, 53}},
		{Week{2020, 53}, Week{2021, 1}},
		{Week{2025, 52}, Week{2026, 1}},
		{Week{2026, 53}, Week{2027, 1}},
	}
	for _, tt := range tests {
		if got := tt.w.Next(); got != tt.next {
			t.Errorf("%v.Next() = %v, want %v", tt.w, got, tt.next)
		}
		if got := tt.next.Prev(); got != tt.w {
			t.Errorf("%v.Prev() = %v, want %v", tt.next, got, tt.w)
		}
	}
}

func TestWeekJSON(t *testing.T) {
	b, err := json.Marshal(struct{ Week Week }{Week{2026, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"Week":"2026-W03"}` {
		t.Errorf("Marshal = %s", b)
	}
	var v struct{ Week Week }
	if err := json.Unmarshal(b, &v); err != nil || v.Week != (Week{2026, 3}) {
		t.Errorf("Unmarshal = %v, %v", v.Week, err)
	}
	if err := json.Unmarshal([]byte(`{"Week":"2021-W53"}`), &v); err == nil {
		t.Error("Unmarshal of 2021-W53 succeeded")
	}
	if _, err := json.Marshal(Week{}); err == nil {
		t.Error("Marshal of the zero Week succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2026-W47", "2020-W53", "2021-W53", "9999-W52", "0001-W01", "2026-W+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := Parse(s)
		if err != nil {
			return
		}
		if w.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, w.String())
		}
		start, end := w.Bounds(time.UTC)
		if Of(start, time.UTC) != w || Of(end.Add(-time.Nanosecond), time.UTC) != w {
			t.Errorf("%v: bounds [%v, %v) are not in the week", w, start, end)
		}
		if w.Next().Prev() != w {
			t.Errorf("%v.Next().Prev() = %v", w, w.Next().Prev())
		}
	})
}

// A bad week is quoted by a short prefix: before, a 3 MB week came back
// whole in the error.
func TestParseQuotesAShortPrefix(t *testing.T) {
	_, err := Parse(strings.Repeat("9", 3<<20))
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), "… (3145728 bytes)") {
		t.Fatalf("Parse(3 MB) = %.300v", err)
	}
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var shanghai = mustLoad("Asia/Shanghai")
