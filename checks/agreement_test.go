package checks

import (
	"math"
	"strings"
	"testing"

	"qa-sampling/fielderr"
)

func TestAgreeCountsEachCheckAgainstItsDimension(t *testing.T) {
	s := Default()
	all := s.EnabledMask()
	greet, _ := Bit(NoGreeting)
	slow, _ := Bit(SlowFirstResponse)
	att := func(v int) Rating { return Rating{Key: "attitude", Value: v, Max: 5} }
	eff := func(v int) Rating { return Rating{Key: "efficiency", Value: v, Max: 5} }
	reviewed := []ReviewedChat{
		{Flags: greet, Ran: all, Ratings: []Rating{att(1), eff(5)}},                            // greeting tp, slow tn
		{Flags: greet, Ran: all, Ratings: []Rating{att(3), eff(2)}},                            // greeting fp (3 of 5 passes), slow fn
		{Flags: greet | slow, Ran: all, Ratings: []Rating{att(2), eff(0)}},                     // greeting tp, slow tp
		{Flags: 0, Ran: all, Ratings: []Rating{att(0), {Key: "efficiency", NA: true, Max: 5}}}, // greeting fn, slow excluded (N/A)
		{Flags: greet, Ran: 0, Ratings: []Rating{att(0), eff(0)}},                              // never checked: excluded
		{Flags: 0, Ran: all, Ratings: []Rating{{Key: "knowledge", Value: 0, Max: 5}}},          // dimensions not rated
	}
	got := Agree(&s, reviewed)
	if len(got) != len(Keys) {
		t.Fatalf("%d agreements", len(got))
	}
	g := got[2]
	if g.Check != NoGreeting || g.Dimension != "attitude" || g.TP != 2 || g.FP != 1 || g.FN != 1 || g.TN != 0 {
		t.Errorf("no_greeting: %+v", g)
	}
	if math.Abs(g.Precision-2.0/3) > 1e-12 || math.Abs(g.Recall-2.0/3) > 1e-12 {
		t.Errorf("no_greeting precision %v recall %v", g.Precision, g.Recall)
	}
	f := got[0]
	if f.Dimension != "efficiency" || f.TP != 1 || f.FP != 0 || f.FN != 1 || f.TN != 1 || f.Precision != 1 || f.Recall != 0.5 {
		t.Errorf("slow_first_response: %+v", f)
	}
	if e := got[5]; e.Compared() != 4 || e.TN != 1 || e.FN != 3 || !math.IsNaN(e.Precision) || e.Recall != 0 {
		t.Errorf("no_empathy never fired: %+v", e)
	}
}

func TestDimensionsAreConfigurableAndValidated(t *testing.T) {
	s := Default()
	s.Dimensions = map[string]string{NoEmpathy: "communication", "no_smile": "attitude", ForbiddenPhrase: " "}
	err := s.Validate()
	fe, ok := fielderr.As(err)
	if !ok || len(fe.Violations) != 2 || fe.Violations[0].Field != "dimensions.forbidden_phrase" || fe.Violations[1].Field != "dimensions.no_smile" {
		t.Fatalf("Validate: %v", err)
	}
	s.Dimensions = map[string]string{NoEmpathy: "communication"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Dimension(NoEmpathy) != "communication" || s.Dimension(NoGreeting) != "attitude" {
		t.Errorf("Dimension: %q %q", s.Dimension(NoEmpathy), s.Dimension(NoGreeting))
	}
	err = s.ValidateDimensions([]string{"attitude", "knowledge"})
	fe, ok = fielderr.As(err)
	if !ok || len(fe.Violations) != 3 || fe.Violations[0].Field != "dimensions.slow_first_response" ||
		!strings.Contains(fe.Violations[2].Reason, "communication") {
		t.Fatalf("ValidateDimensions: %v", err)
	}
	if err := s.ValidateDimensions([]string{"attitude", "efficiency", "communication"}); err != nil {
		t.Fatal(err)
	}
}

func TestRatesPerWeekAndOverall(t *testing.T) {
	greet, _ := Bit(NoGreeting)
	slow, _ := Bit(SlowReply)
	set := Default()
	all := set.EnabledMask()
	weeks := []string{"2026-W47", "2026-W48"}
	got := Rates(weeks, []FlagCount{
		{Week: "2026-W47", Ran: all, Flags: 0, Chats: 6},
		{Week: "2026-W47", Ran: all, Flags: greet, Chats: 3},
		{Week: "2026-W47", Ran: all, Flags: greet | slow, Chats: 1},
		{Week: "2026-W46", Ran: all, Flags: greet, Chats: 100}, // not asked for
	})
	g := got[2]
	if g.Check != NoGreeting || g.Chats != 10 || g.Fired != 4 || g.Rate != 0.4 || len(g.ByWeek) != 2 ||
		g.ByWeek[0] != (WeekRate{Week: "2026-W47", Chats: 10, Fired: 4, Rate: 0.4}) || g.ByWeek[1] != (WeekRate{Week: "2026-W48"}) {
		t.Errorf("no_greeting: %+v", g)
	}
	if s := got[1]; s.Check != SlowReply || s.Fired != 1 || s.Rate != 0.1 {
		t.Errorf("slow_reply: %+v", s)
	}
}

// TestRatesCountOnlyWhereTheCheckRan: chats checked by a version with a
// check off are in the other checks' denominators, not in that check's,
// and a week checked under both versions sums each check over its own.
func TestRatesCountOnlyWhereTheCheckRan(t *testing.T) {
	empathy, _ := Bit(NoEmpathy)
	greet, _ := Bit(NoGreeting)
	set := Default()
	all := set.EnabledMask()
	off := all &^ empathy // a version with no_empathy disabled
	weeks := []string{"2026-W47", "2026-W48"}
	got := Rates(weeks, []FlagCount{
		{Week: "2026-W47", Ran: all, Flags: empathy, Chats: 2},
		{Week: "2026-W47", Ran: all, Flags: 0, Chats: 8},
		{Week: "2026-W47", Ran: off, Flags: greet, Chats: 5},
		{Week: "2026-W48", Ran: off, Flags: 0, Chats: 10},
	})
	byKey := map[string]Rate{}
	for _, r := range got {
		byKey[r.Check] = r
	}
	e := byKey[NoEmpathy]
	if e.Chats != 10 || e.Fired != 2 || e.Rate != 0.2 ||
		e.ByWeek[0] != (WeekRate{Week: "2026-W47", Chats: 10, Fired: 2, Rate: 0.2}) || e.ByWeek[1] != (WeekRate{Week: "2026-W48"}) {
		t.Errorf("no_empathy counts chats checked without it: %+v", e)
	}
	g := byKey[NoGreeting]
	if g.Chats != 25 || g.Fired != 5 || g.Rate != 0.2 || g.ByWeek[0].Chats != 15 || g.ByWeek[1].Chats != 10 {
		t.Errorf("no_greeting: %+v", g)
	}
}
