package sampler

import (
	"slices"
	"strings"
)

// MaxDisagreementWeeks bounds CheckDisagreement.Weeks.
const MaxDisagreementWeeks = 26

// CheckDisagreement (policy option "check_disagreement") weights the
// targeted picks toward the checks that agree least with the inspectors:
// before a run, each check's weight is 1 − its precision against the
// final reviews of the Weeks weeks before the sampled one (1 when it has
// no precision yet: nothing known), and the policy's check:<key> rules are
// taken in order of weight, highest first, in the places the check rules
// hold in the list (other rules keep theirs; ties keep the policy's
// order). A chat matched by a noisy check is therefore picked before one
// matched by a check the inspectors confirm. Within a rule, picks go by
// the week's seed as always, so the run is deterministic given the seed
// and the weights.
type CheckDisagreement struct {
	Weeks int `json:"weeks"`
}

func (c CheckDisagreement) validate(bad func(field, format string, args ...any)) {
	if c.Weeks < 1 || c.Weeks > MaxDisagreementWeeks {
		bad("check_disagreement.weeks", "must be between 1 and %d, got %d", MaxDisagreementWeeks, c.Weeks)
	}
}

// OrderByDisagreement returns rules with its check:<key> rules reordered
// by weight[key], highest first (stable), each in a slot a check rule held;
// a key missing from weight counts as 1.
func OrderByDisagreement(rules []string, weight map[string]float64) []string {
	out := slices.Clone(rules)
	var slots []int
	var checkRules []string
	for i, r := range rules {
		if strings.HasPrefix(r, CheckRulePrefix) {
			slots = append(slots, i)
			checkRules = append(checkRules, r)
		}
	}
	w := func(rule string) float64 {
		if v, ok := weight[strings.TrimPrefix(rule, CheckRulePrefix)]; ok {
			return v
		}
		return 1
	}
	slices.SortStableFunc(checkRules, func(a, b string) int {
		switch wa, wb := w(a), w(b); {
		case wa > wb:
			return -1
		case wa < wb:
			return 1
		}
		return 0
	})
	for i, slot := range slots {
		out[slot] = checkRules[i]
	}
	return out
}
