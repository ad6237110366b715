package sampler

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"qa-sampling/fielderr"
)

// Targeted rule names, as they appear in Policy.Rules and in Pick.Reason.
// The built-in rules' parameters are part of the policy; tags and tiers
// compare folded (see fold.go).
const (
	// RuleComplaint matches a conversation with one of
	// Policy.ComplaintTags.
	RuleComplaint = "complaint"
	// RuleLowCSAT matches a customer rating from 1 to Policy.LowCSATMax; 0
	// (no rating) does not match.
	RuleLowCSAT = "low_csat"
	// RuleEscalated matches a conversation with one of
	// Policy.EscalationTags or transferred at least
	// Policy.EscalationMinTransfers times (when that is not 0).
	RuleEscalated = "escalated"
	// RuleVIP matches a customer tier in Policy.VIPTiers.
	RuleVIP = "vip"
	// RuleLongHandleTime matches a handle time strictly above the
	// percentile (Policy.HandleTimePercentile) of the agent's team's
	// conversations of the week.
	RuleLongHandleTime = "long_handle_time"
	// CheckRulePrefix starts the name of a rule that matches an
	// automatic-check flag (SPEC §6): "check:no_greeting" matches a
	// conversation whose Flags contain "no_greeting".
	CheckRulePrefix = "check:"
	// TagRulePrefix starts the name of a rule that matches one tag:
	// "tag:投诉" matches a conversation tagged 投诉 (folded, so "tag:VIP"
	// matches "vip" and "ＶＩＰ" too).
	TagRulePrefix = "tag:"
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
	// ComplaintTags are the tags RuleComplaint matches.
	ComplaintTags []string `json:"complaint_tags"`
	// EscalationTags are the tags RuleEscalated matches.
	EscalationTags []string `json:"escalation_tags"`
	// EscalationMinTransfers is the transfer count from which
	// RuleEscalated matches; 0 leaves transfers out of it.
	EscalationMinTransfers int `json:"escalation_min_transfers"`
	// VIPTiers are the customer tiers RuleVIP matches.
	VIPTiers []string `json:"vip_tiers"`
	// LowCSATMax is the highest rating RuleLowCSAT matches.
	LowCSATMax int `json:"low_csat_max"`
	// NamedRules are the admin's own rules; Rules names them to give each
	// its priority.
	NamedRules []NamedRule `json:"named_rules,omitempty"`
	// Adaptive, when set, adds extra picks for agents whose recent score
	// is undecided (see Adaptive); nil leaves quotas fixed.
	Adaptive *Adaptive `json:"adaptive,omitempty"`
	// CheckDisagreement, when set, orders the check:<key> rules by how
	// much each check disagrees with the inspectors (see
	// CheckDisagreement); nil keeps the policy's order.
	CheckDisagreement *CheckDisagreement `json:"check_disagreement,omitempty"`
}

// UnmarshalJSON decodes a stored policy document. A document stored
// before the built-in rules had parameters has none of their fields and
// decodes to the parameters the rules had then (legacyTargeting), so that
// its runs are reproduced as they were drawn.
func (p *Policy) UnmarshalJSON(b []byte) error {
	type document Policy // without this method
	d := document(legacyTargeting())
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	*p = Policy(d)
	return nil
}

// legacyTargeting is a policy with only the built-in rules' parameters
// set, to what they were when the rules had none: English tags only.
func legacyTargeting() Policy {
	return Policy{
		ComplaintTags:          []string{"complaint"},
		EscalationTags:         []string{"escalated"},
		EscalationMinTransfers: 2,
		VIPTiers:               []string{"vip"},
		LowCSATMax:             2,
	}
}

// DefaultPolicy is SPEC §4's policy: 3 random and 2 targeted picks per
// agent, 2 more random for agents hired less than 90 days before the week,
// the five targeted rules in the SPEC's order, weeks in Asia/Shanghai.
// Complaint and escalation tags include the Chinese ones platforms use.
func DefaultPolicy() Policy {
	return Policy{
		RandomPerAgent:         3,
		TargetedPerAgent:       2,
		NewHireDays:            90,
		NewHireExtra:           2,
		Rules:                  []string{RuleComplaint, RuleLowCSAT, RuleEscalated, RuleVIP, RuleLongHandleTime},
		TimeZone:               "Asia/Shanghai",
		HandleTimePercentile:   0.90,
		ComplaintTags:          []string{"complaint", "投诉"},
		EscalationTags:         []string{"escalated", "升级"},
		EscalationMinTransfers: 2,
		VIPTiers:               []string{"vip"},
		LowCSATMax:             2,
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
	p.checkRules(&errs)
	if _, err := p.Location(); err != nil {
		bad("time_zone", "%v", err)
	}
	if !(p.HandleTimePercentile > 0 && p.HandleTimePercentile < 1) {
		bad("handle_time_percentile", "must be strictly between 0 and 1, got %v", p.HandleTimePercentile)
	}
	p.checkTargeting(&errs)
	if p.Adaptive != nil {
		p.Adaptive.validate(bad)
	}
	if p.CheckDisagreement != nil {
		p.CheckDisagreement.validate(bad)
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
