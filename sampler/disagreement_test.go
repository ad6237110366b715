package sampler

import (
	"slices"
	"strings"
	"testing"
)

func TestOrderByDisagreementPutsTheNoisiestCheckFirst(t *testing.T) {
	rules := []string{"complaint", "check:no_greeting", "vip", "check:forbidden_phrase", "check:slow_reply", "check:no_empathy"}
	got := OrderByDisagreement(rules, map[string]float64{
		"no_greeting": 0.1, "forbidden_phrase": 0.6, "no_empathy": 0.6, // slow_reply unknown: 1
	})
	want := []string{"complaint", "check:slow_reply", "vip", "check:forbidden_phrase", "check:no_empathy", "check:no_greeting"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if rules[1] != "check:no_greeting" {
		t.Error("the policy's rules were changed in place")
	}
}

func TestCheckDisagreementWeeksValidated(t *testing.T) {
	p := DefaultPolicy()
	p.CheckDisagreement = &CheckDisagreement{Weeks: 0}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "check_disagreement.weeks") {
		t.Errorf("Validate = %v, want check_disagreement.weeks", err)
	}
	p.CheckDisagreement.Weeks = 8
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
}
