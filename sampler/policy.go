package sampler

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"qa-sampling/fielderr"
)

// Targeted rule names, as they appear in Policy.Rules and in Pick.Reason.
const (
	// RuleComplaint matches a conversation tagged "complaint".
	RuleComplaint = "complaint"
	// RuleLowCSAT matches a customer rating of 1 or 2; 0 (no rating) does
	// not match.
	RuleLowCSAT = "low_csat"
	// RuleEscalated matches a conversation tagged "escalated" or
	// transferred at least twice.
	RuleEscalated = "escalated"
	// RuleVIP matches customer tier "vip".
	RuleVIP = "vip"
	// RuleLongHandleTime matches a handle time strictly above the
	// percentile (Policy.HandleTimePercentile) of the agent's team's
	// conversations of the week.
	RuleLongHandleTime = "long_handle_time"
	// CheckRulePrefix starts the name of a rule that matches an
	// automatic-check flag (SPEC §6): "check:no_greeting" matches a
	// conversation whose Flags contain "no_greeting".
	CheckRulePrefix = "check:"
)

// ReasonRandom is the reason of a pick from the random part.
const ReasonRandom = "random"

// Limits Validate enforces.
const (
	// MinQuota is SPEC §4's floor: at least 3 conversations per agent and
	// week (fewer only when the agent has fewer).
	MinQuota = 3
	// MaxQuota bounds each quota field; the sampler's memory grows with
	// agents × quota, and no inspection team reviews more a week.
	MaxQuota = 100
	// MaxNewHireDays is ten years, far beyond any probation period.
	MaxNewHireDays = 3650
	// MaxRules is the number of rules a conversation's match set can hold.
	MaxRules = 64
)

// Policy is a versioned sampling policy (SPEC §4). The zero value is not
// usable: start from DefaultPolicy.
type Policy struct {
	// Version is assigned by the policy store; runs record it.
	Version int64 `json:"version"`
	// RandomPerAgent is the size of the random part for each agent.
	RandomPerAgent int `json:"random_per_agent"`
	// TargetedPerAgent is the number of targeted slots for each agent.
	TargetedPerAgent int `json:"targeted_per_agent"`
	// NewHireDays is the tenure, in days at the week's start, below which
	// an agent is a new hire.
	NewHireDays int `json:"new_hire_days"`
	// NewHireExtra is added to a new hire's random part.
	NewHireExtra int `json:"new_hire_extra"`
	// Rules are the targeted rules, highest priority first.
	Rules []string `json:"rules"`
	// TimeZone is the IANA zone that weeks and the week's start are taken
	// in.
	TimeZone string `json:"time_zone"`
	// HandleTimePercentile is the team percentile, in (0, 1), that
	// RuleLongHandleTime compares against.
	HandleTimePercentile float64 `json:"handle_time_percentile"`
}

// DefaultPolicy is SPEC §4's policy: 3 random and 2 targeted picks per
// agent, 2 more random for agents hired less than 90 days before the week,
// the five targeted rules in the SPEC's order, weeks in Asia/Shanghai.
func DefaultPolicy() Policy {
	return Policy{
		RandomPerAgent:       3,
		TargetedPerAgent:     2,
		NewHireDays:          90,
		NewHireExtra:         2,
		Rules:                []string{RuleComplaint, RuleLowCSAT, RuleEscalated, RuleVIP, RuleLongHandleTime},
		TimeZone:             "Asia/Shanghai",
		HandleTimePercentile: 0.90,
	}
}

// Validate checks p and returns every problem found as a *fielderr.Error,
// or nil.
func (p Policy) Validate() error {
	var errs fielderr.List
	bad := errs.Add
	if p.Version < 0 {
		bad("version", "must not be negative, got %d", p.Version)
	}
	for _, q := range []struct {
		field string
		value int
	}{
		{"random_per_agent", p.RandomPerAgent},
		{"targeted_per_agent", p.TargetedPerAgent},
		{"new_hire_extra", p.NewHireExtra},
	} {
		if q.value < 0 || q.value > MaxQuota {
			bad(q.field, "must be between 0 and %d, got %d", MaxQuota, q.value)
		}
	}
	if sum := p.RandomPerAgent + p.TargetedPerAgent; sum < MinQuota && p.RandomPerAgent >= 0 && p.TargetedPerAgent >= 0 {
		bad("random_per_agent", "random_per_agent + targeted_per_agent is %d; each agent's weekly quota must be at least %d", sum, MinQuota)
	}
	if p.NewHireDays < 0 || p.NewHireDays > MaxNewHireDays {
		bad("new_hire_days", "must be between 0 and %d, got %d", MaxNewHireDays, p.NewHireDays)
	}
	if len(p.Rules) > MaxRules {
		bad("rules", "at most %d rules, got %d", MaxRules, len(p.Rules))
	}
	seen := make(map[string]bool, len(p.Rules))
	for i, name := range p.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		if _, err := parseRule(name); err != nil {
			bad(field, "%v", err)
		}
		if seen[name] {
			bad(field, "duplicate rule %s", fielderr.Quote(name))
		}
		seen[name] = true
	}
	if _, err := p.Location(); err != nil {
		bad("time_zone", "%v", err)
	}
	if !(p.HandleTimePercentile > 0 && p.HandleTimePercentile < 1) {
		bad("handle_time_percentile", "must be strictly between 0 and 1, got %v", p.HandleTimePercentile)
	}
	return errs.Err()
}

// Location loads p.TimeZone. "Local" and "" are refused: a sample must
// not depend on the machine it was drawn on.
func (p Policy) Location() (*time.Location, error) {
	switch p.TimeZone {
	case "":
		return nil, errors.New("empty; name an IANA zone such as Asia/Shanghai")
	case "Local":
		return nil, errors.New(`"Local" depends on the server; name an IANA zone such as Asia/Shanghai`)
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %s", fielderr.Quote(p.TimeZone))
	}
	return loc, nil
}

// ruleKind is what a rule's predicate looks at.
type ruleKind uint8

const (
	kindComplaint ruleKind = iota
	kindLowCSAT
	kindEscalated
	kindVIP
	kindLongHandleTime
	kindCheck
)

// rule is a parsed targeted rule.
type rule struct {
	name string
	kind ruleKind
	flag string // for kindCheck
}

func parseRule(name string) (rule, error) {
	switch name {
	case RuleComplaint:
		return rule{name: name, kind: kindComplaint}, nil
	case RuleLowCSAT:
		return rule{name: name, kind: kindLowCSAT}, nil
	case RuleEscalated:
		return rule{name: name, kind: kindEscalated}, nil
	case RuleVIP:
		return rule{name: name, kind: kindVIP}, nil
	case RuleLongHandleTime:
		return rule{name: name, kind: kindLongHandleTime}, nil
	}
	if flag, ok := strings.CutPrefix(name, CheckRulePrefix); ok {
		// A flag is an id like a transcript's tags; spaces are refused too,
		// as checks name their flags in snake_case.
		if flag == "" || strings.IndexFunc(flag, unicode.IsSpace) >= 0 {
			return rule{}, fmt.Errorf("check rule %s needs a flag name without spaces after %q", fielderr.Quote(name), CheckRulePrefix)
		}
		if problem := fielderr.IDProblem(name, fielderr.MaxIDBytes); problem != "" {
			return rule{}, fmt.Errorf("check rule %s %s", fielderr.Quote(name), problem)
		}
		return rule{name: name, kind: kindCheck, flag: flag}, nil
	}
	return rule{}, fmt.Errorf("unknown rule %s; known: %s, %s, %s, %s, %s and %s<flag>",
		fielderr.Quote(name), RuleComplaint, RuleLowCSAT, RuleEscalated, RuleVIP, RuleLongHandleTime, CheckRulePrefix)
}

// matches reports whether c satisfies r. RuleLongHandleTime needs the
// team's threshold, known only at the end of a run, so it is decided there.
func (r *rule) matches(c *Conversation) bool {
	switch r.kind {
	case kindComplaint:
		return hasFold(c.Tags, "complaint")
	case kindLowCSAT:
		return c.CSAT >= 1 && c.CSAT <= 2
	case kindEscalated:
		return c.TransferCount >= 2 || hasFold(c.Tags, "escalated")
	case kindVIP:
		return strings.EqualFold(c.CustomerTier, "vip")
	case kindCheck:
		for _, f := range c.Flags {
			if f == r.flag {
				return true
			}
		}
	}
	return false
}

// hasFold reports whether list holds s, ignoring case: platforms differ in
// how they capitalise tags.
func hasFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
