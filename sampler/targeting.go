package sampler

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"qa-sampling/fielderr"
)

// NamedRule is an admin's own targeted rule: a conversation matches it
// when every condition in When holds. Policy.Rules lists its Name where
// it should rank, and its picks have Name as their reason.
type NamedRule struct {
	Name string      `json:"name"`
	When []Condition `json:"when"`
}

// Condition is one predicate of a named rule: Field Op Value, or Field Op
// Values for OpIn and OpNotIn; Key names the attribute of FieldAttribute.
// Values are strings whatever the field: a number ("2"), a duration in
// Go's syntax ("10m", "90s") or a tag, tier, channel, flag or attribute
// value. A condition on a value the conversation does not have (no csat
// rating, no agent response, a missing attribute) does not hold, whatever
// the operator, as with SQL's NULL.
type Condition struct {
	Field  string   `json:"field"`
	Key    string   `json:"key,omitempty"`
	Op     string   `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
}

// Condition fields.
const (
	FieldChannel      = "channel"
	FieldTags         = "tags"
	FieldCustomerTier = "customer_tier"
	// FieldAttribute is the transcript attribute named by Condition.Key.
	FieldAttribute             = "attribute"
	FieldCSAT                  = "csat"
	FieldTransferCount         = "transfer_count"
	FieldHandleTime            = "handle_time"
	FieldFirstResponseTime     = "first_response_time"
	FieldMeanAgentResponseTime = "mean_agent_response_time"
	FieldMessageCount          = "message_count"
	FieldAgentMessageCount     = "agent_message_count"
	FieldCustomerMessageCount  = "customer_message_count"
	// FieldFlags are the automatic-check flags that fired (SPEC §6).
	FieldFlags = "flags"
)

// Condition operators. Tags, tiers, channels and attribute values compare
// folded (see fold.go); flags, which checks name, exactly.
const (
	OpEq = "eq"
	OpNe = "ne"
	// OpIn holds when the value is one of Values; on a list (tags, flags)
	// when one of the list's values is.
	OpIn = "in"
	// OpNotIn is OpIn's negation.
	OpNotIn = "not_in"
	// OpHas holds when a list (tags, flags) contains Value.
	OpHas = "has"
	// The comparisons compare numbers: counts, durations, and attribute
	// values read as decimal numbers (one that is not a number does not
	// hold).
	OpLt = "lt"
	OpLe = "le"
	OpGt = "gt"
	OpGe = "ge"
)

// Limits of the targeting parameters.
const (
	// MaxConditions bounds a named rule's conditions.
	MaxConditions = 16
	// MaxValues bounds a list of tags, tiers or condition values.
	MaxValues = 256
	// MaxRuleNameBytes bounds a named rule's name; it is every pick's
	// reason, shown in tables.
	MaxRuleNameBytes = 64
	// MaxMinTransfers bounds EscalationMinTransfers.
	MaxMinTransfers = 1000
)

// valueKind is what kind of value a field holds.
type valueKind uint8

const (
	valueList      valueKind = iota // tags, flags: several strings
	valueString                     // channel, customer tier
	valueAttribute                  // a string, compared as text or as a number
	valueInt                        // a count, csat
	valueDuration                   // a derived time
)

var (
	listOps      = []string{OpHas, OpIn, OpNotIn}
	stringOps    = []string{OpEq, OpNe, OpIn, OpNotIn}
	numberOps    = []string{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}
	attributeOps = []string{OpEq, OpNe, OpIn, OpNotIn, OpLt, OpLe, OpGt, OpGe}
)

// conditionFields lists the fields in the order error messages name them.
var conditionFields = []struct {
	name string
	kind valueKind
}{
	{FieldChannel, valueString},
	{FieldTags, valueList},
	{FieldCustomerTier, valueString},
	{FieldAttribute, valueAttribute},
	{FieldCSAT, valueInt},
	{FieldTransferCount, valueInt},
	{FieldHandleTime, valueDuration},
	{FieldFirstResponseTime, valueDuration},
	{FieldMeanAgentResponseTime, valueDuration},
	{FieldMessageCount, valueInt},
	{FieldAgentMessageCount, valueInt},
	{FieldCustomerMessageCount, valueInt},
	{FieldFlags, valueList},
}

func fieldKind(name string) (valueKind, bool) {
	for _, f := range conditionFields {
		if f.name == name {
			return f.kind, true
		}
	}
	return 0, false
}

func opsOf(kind valueKind) []string {
	switch kind {
	case valueList:
		return listOps
	case valueString:
		return stringOps
	case valueAttribute:
		return attributeOps
	}
	return numberOps
}

// builtinRules are the rule names a named rule cannot take.
var builtinRules = []string{RuleComplaint, RuleLowCSAT, RuleEscalated, RuleVIP, RuleLongHandleTime}

// ReadsAttributes reports whether a rule of p reads transcript
// attributes, which a run then has to load with each conversation.
func (p *Policy) ReadsAttributes() bool {
	return p.readsField(FieldAttribute)
}

// ReadsResponseTimes reports whether a rule of p reads the first or the
// mean agent response time.
func (p *Policy) ReadsResponseTimes() bool {
	return p.readsField(FieldFirstResponseTime) || p.readsField(FieldMeanAgentResponseTime)
}

func (p *Policy) readsField(field string) bool {
	for _, nr := range p.NamedRules {
		for _, c := range nr.When {
			if c.Field == field {
				return true
			}
		}
	}
	return false
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
	kindTag
	kindNamed
)

// rule is a targeted rule as a run matches it.
type rule struct {
	name string
	kind ruleKind
	// arg is the flag of kindCheck and the tag of kindTag.
	arg string
	// named is the index in Policy.NamedRules of kindNamed.
	named int
	// set is the value set (see matcher) kindComplaint, kindEscalated and
	// kindTag look for among the tags and kindVIP as the tier.
	set  int
	when []condition
}

// parseRule resolves a name of Policy.Rules; named maps the names of
// Policy.NamedRules to their index.
func parseRule(name string, named map[string]int) (rule, error) {
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
		return rule{name: name, kind: kindCheck, arg: flag}, nil
	}
	if tag, ok := strings.CutPrefix(name, TagRulePrefix); ok {
		if strings.TrimSpace(tag) == "" {
			return rule{}, fmt.Errorf("tag rule %s needs a tag after %q", fielderr.Quote(name), TagRulePrefix)
		}
		if problem := fielderr.IDProblem(name, fielderr.MaxIDBytes); problem != "" {
			return rule{}, fmt.Errorf("tag rule %s %s", fielderr.Quote(name), problem)
		}
		return rule{name: name, kind: kindTag, arg: tag}, nil
	}
	if i, ok := named[name]; ok {
		return rule{name: name, kind: kindNamed, named: i}, nil
	}
	known := strings.Join(builtinRules, ", ")
	if len(named) > 0 {
		names := make([]string, 0, len(named))
		for n := range named {
			names = append(names, n)
		}
		slices.Sort(names)
		known += ", the named rules " + strings.Join(names, ", ")
	}
	return rule{}, fmt.Errorf("unknown rule %s; known: %s, %s<flag> and %s<tag>",
		fielderr.Quote(name), known, CheckRulePrefix, TagRulePrefix)
}

// namedIndex maps the names of p.NamedRules to their index, the first of
// duplicates.
func (p *Policy) namedIndex() map[string]int {
	named := make(map[string]int, len(p.NamedRules))
	for i, nr := range p.NamedRules {
		if _, dup := named[nr.Name]; !dup && nr.Name != "" {
			named[nr.Name] = i
		}
	}
	return named
}

// checkRules records the problems of p.Rules.
func (p *Policy) checkRules(errs *fielderr.List) {
	if len(p.Rules) > MaxRules {
		errs.Add("rules", "at most %d rules, got %d", MaxRules, len(p.Rules))
	}
	named := p.namedIndex()
	seen := make(map[string]bool, len(p.Rules))
	for i, name := range p.Rules {
		field := "rules[" + strconv.Itoa(i) + "]"
		if _, err := parseRule(name, named); err != nil {
			errs.Add(field, "%v", err)
		}
		if seen[name] {
			errs.Add(field, "duplicate rule %s", fielderr.Quote(name))
		}
		seen[name] = true
	}
}

// checkTargeting records the problems of the built-in rules' parameters
// and of the named rules.
func (p *Policy) checkTargeting(errs *fielderr.List) {
	uses := func(rule string) bool { return slices.Contains(p.Rules, rule) }
	checkValues(errs, "complaint_tags", p.ComplaintTags, uses(RuleComplaint), "the complaint rule would match nothing")
	checkValues(errs, "escalation_tags", p.EscalationTags, uses(RuleEscalated) && p.EscalationMinTransfers == 0,
		"with escalation_min_transfers 0 the escalated rule would match nothing")
	if p.EscalationMinTransfers < 0 || p.EscalationMinTransfers > MaxMinTransfers {
		errs.Add("escalation_min_transfers", "must be between 0 (transfers do not count) and %d, got %d", MaxMinTransfers, p.EscalationMinTransfers)
	}
	checkValues(errs, "vip_tiers", p.VIPTiers, uses(RuleVIP), "the vip rule would match nothing")
	if p.LowCSATMax < 1 || p.LowCSATMax > 4 {
		errs.Add("low_csat_max", "must be between 1 and 4 (ratings are 1 to 5), got %d", p.LowCSATMax)
	}

	if len(p.NamedRules) > MaxRules {
		errs.Add("named_rules", "at most %d named rules, got %d", MaxRules, len(p.NamedRules))
		return
	}
	seen := make(map[string]bool, len(p.NamedRules))
	for i, nr := range p.NamedRules {
		prefix := "named_rules[" + strconv.Itoa(i) + "]"
		if problem := ruleNameProblem(nr.Name); problem != "" {
			errs.Add(prefix+".name", "%s", problem)
		} else if seen[nr.Name] {
			errs.Add(prefix+".name", "duplicate named rule %s", fielderr.Quote(nr.Name))
		} else if !slices.Contains(p.Rules, nr.Name) {
			errs.Add(prefix+".name", "%s is not in rules; list it there, its position is its priority", fielderr.Quote(nr.Name))
		}
		seen[nr.Name] = true
		switch n := len(nr.When); {
		case n == 0:
			errs.Add(prefix+".when", "at least one condition is required")
		case n > MaxConditions:
			errs.Add(prefix+".when", "at most %d conditions, got %d", MaxConditions, n)
		default:
			for j := range nr.When {
				checkCondition(errs, prefix+".when["+strconv.Itoa(j)+"]", &nr.When[j])
			}
		}
	}
}

// ruleNameProblem says why name cannot name a named rule, or "".
func ruleNameProblem(name string) string {
	switch {
	case name == "":
		return "required"
	case len(name) > MaxRuleNameBytes:
		return fmt.Sprintf("%s is %d bytes; at most %d are allowed", fielderr.Quote(name), len(name), MaxRuleNameBytes)
	case name == ReasonRandom || slices.ContainsFunc(builtinRules, func(b string) bool { return strings.EqualFold(b, name) }):
		return fmt.Sprintf("%s is a built-in reason; choose another name", fielderr.Quote(name))
	}
	for i, r := range name {
		letter := unicode.IsLetter(r)
		if i == 0 && !letter {
			return fmt.Sprintf("%s must start with a letter", fielderr.Quote(name))
		}
		if !letter && !unicode.IsDigit(r) && r != '_' && r != '-' {
			return fmt.Sprintf("%s may hold only letters, digits, _ and -, not %q", fielderr.Quote(name), r)
		}
	}
	return ""
}

// checkValues records the problems of a list of tags or tiers; an empty
// list is one when required, with why.
func checkValues(errs *fielderr.List, field string, values []string, required bool, why string) {
	switch {
	case len(values) == 0 && required:
		errs.Add(field, "empty; %s", why)
	case len(values) > MaxValues:
		errs.Add(field, "at most %d values, got %d", MaxValues, len(values))
		return
	}
	for i, v := range values {
		errs.ID(field+"["+strconv.Itoa(i)+"]", v, true)
	}
}

func checkCondition(errs *fielderr.List, prefix string, c *Condition) {
	kind, known := fieldKind(c.Field)
	switch {
	case c.Field == "":
		errs.Add(prefix+".field", "required")
	case !known:
		names := make([]string, len(conditionFields))
		for i, f := range conditionFields {
			names[i] = f.name
		}
		errs.Add(prefix+".field", "unknown field %s; known: %s", fielderr.Quote(c.Field), strings.Join(names, ", "))
	}
	switch {
	case c.Field == FieldAttribute:
		errs.ID(prefix+".key", c.Key, true)
	case c.Key != "":
		errs.Add(prefix+".key", "only a condition on %s has a key", FieldAttribute)
	}
	if !known {
		return
	}
	ops := opsOf(kind)
	switch {
	case c.Op == "":
		errs.Add(prefix+".op", "required; %s takes %s", c.Field, strings.Join(ops, ", "))
		return
	case !slices.Contains(ops, c.Op):
		errs.Add(prefix+".op", "%s does not apply to %s; use %s", fielderr.Quote(c.Op), c.Field, strings.Join(ops, ", "))
		return
	}
	if c.Op == OpIn || c.Op == OpNotIn {
		switch {
		case c.Value != "":
			errs.Add(prefix+".value", "%s takes values, not value", c.Op)
		case len(c.Values) == 0:
			errs.Add(prefix+".values", "required for %s", c.Op)
		case len(c.Values) > MaxValues:
			errs.Add(prefix+".values", "at most %d values, got %d", MaxValues, len(c.Values))
		default:
			for i, v := range c.Values {
				checkValue(errs, prefix+".values["+strconv.Itoa(i)+"]", kind, c.Op, v)
			}
		}
		return
	}
	if len(c.Values) > 0 {
		errs.Add(prefix+".values", "%s takes one value, not values", c.Op)
	}
	checkValue(errs, prefix+".value", kind, c.Op, c.Value)
}

// checkValue checks one value of a condition on a field of kind.
func checkValue(errs *fielderr.List, field string, kind valueKind, op, v string) {
	if v == "" {
		errs.Add(field, "required")
		return
	}
	var err error
	switch {
	case kind == valueInt:
		_, err = parseCount(v)
	case kind == valueDuration:
		_, err = parseDurationValue(v)
	case kind == valueAttribute && isComparison(op):
		_, err = parseNumber(v)
	default:
		errs.ID(field, v, true)
	}
	if err != nil {
		errs.Add(field, "%v", err)
	}
}

func isComparison(op string) bool {
	return op == OpLt || op == OpLe || op == OpGt || op == OpGe
}

func parseCount(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s is not a whole number ≥ 0", fielderr.Quote(v))
	}
	return n, nil
}

func parseDurationValue(v string) (int64, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s is not a duration ≥ 0 such as 90s, 10m or 1h30m", fielderr.Quote(v))
	}
	return int64(d), nil
}

func parseNumber(v string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(fold(v)), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%s is not a decimal number", fielderr.Quote(v))
	}
	return x, nil
}
