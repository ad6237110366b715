package sampler

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"qa-sampling/fielderr"
	"qa-sampling/transcript"
)

// legacyDocument is a policy as stored before the built-in rules had
// parameters.
const legacyDocument = `{"version":0,"random_per_agent":3,"targeted_per_agent":2,"new_hire_days":90,"new_hire_extra":2,` +
	`"rules":["complaint","low_csat","escalated","vip","long_handle_time"],"time_zone":"Asia/Shanghai","handle_time_percentile":0.9}`

func TestLegacyDocumentKeepsTheOldRules(t *testing.T) {
	var p Policy
	if err := json.Unmarshal([]byte(legacyDocument), &p); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("legacy policy invalid: %v", err)
	}
	if !slices.Equal(p.ComplaintTags, []string{"complaint"}) || !slices.Equal(p.EscalationTags, []string{"escalated"}) ||
		!slices.Equal(p.VIPTiers, []string{"vip"}) || p.EscalationMinTransfers != 2 || p.LowCSATMax != 2 || p.NamedRules != nil {
		t.Errorf("legacy document decoded to %+v, want English tags, vip, transfers ≥ 2, csat ≤ 2", p)
	}
	// The same conversations under the legacy and the default policy: the
	// legacy one does not see the Chinese tags.
	tests := []struct {
		rule          string
		edit          func(*Conversation)
		legacy, today bool
	}{
		{"complaint", tag("complaint"), true, true},
		{"complaint", tag("投诉"), false, true},
		{"escalated", tag("升级"), false, true},
		{"escalated", tag("Escalated"), true, true},
		{"escalated", func(c *Conversation) { c.TransferCount = 2 }, true, true},
		{"escalated", func(c *Conversation) { c.TransferCount = 1 }, false, false},
		{"low_csat", csat(2), true, true},
		{"low_csat", csat(3), false, false},
		{"vip", func(c *Conversation) { c.CustomerTier = "VIP" }, true, true},
		{"vip", func(c *Conversation) { c.CustomerTier = "gold" }, false, false},
	}
	for _, tt := range tests {
		for _, policy := range []struct {
			name string
			p    Policy
			want bool
		}{{"legacy", p, tt.legacy}, {"default", DefaultPolicy(), tt.today}} {
			pol := policy.p
			pol.Rules = []string{tt.rule}
			got := targetedPicks(t, pol, tt.edit)
			if matched := len(got) == 1 && got[0].Reason == tt.rule; matched != policy.want {
				c := conv("x", "a")
				tt.edit(&c)
				t.Errorf("%s policy, rule %s on %+v: matched %v, want %v", policy.name, tt.rule, c, matched, policy.want)
			}
		}
	}
}

func TestPolicyJSONRoundTrips(t *testing.T) {
	p := DefaultPolicy()
	p.Rules = append(p.Rules, "refund", "tag:退款")
	p.NamedRules = []NamedRule{{Name: "refund", When: []Condition{
		{Field: FieldTags, Op: OpIn, Values: []string{"退款", "refund"}},
		{Field: FieldAttribute, Key: "shop", Op: OpEq, Value: "flagship"},
	}}}
	doc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, p)
	}
	// Parameters set to "nothing" stay so: only absent ones are legacy.
	var none Policy
	if err := json.Unmarshal([]byte(`{"escalation_tags":[],"escalation_min_transfers":0}`), &none); err != nil {
		t.Fatal(err)
	}
	if len(none.EscalationTags) != 0 || none.EscalationMinTransfers != 0 || !slices.Equal(none.ComplaintTags, []string{"complaint"}) {
		t.Errorf("decoded %+v", none)
	}
}

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"vip", "vip"},
		{"VIP", "vip"},
		{"Ｖｉｐ", "vip"},   // full-width
		{"ＶＩＰ", "vip"},   // full-width capitals
		{"投诉", "投诉"},     // CJK is its own fold
		{"ｸﾚｰﾑ", "クレーム"}, // half-width katakana
		{"Straße", "straße"},
		{"ſ", "s"},       // long s folds with s
		{"\u212a", "k"},  // Kelvin sign
		{"Ｔａｇ１", "tag1"}, // full-width digit
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTagsAndTiersCompareFolded(t *testing.T) {
	p := DefaultPolicy()
	p.VIPTiers = []string{"Gold", "ＰＬＡＴＩＮＵＭ"}
	tests := []struct {
		rule  string
		edit  func(*Conversation)
		match bool
	}{
		{"complaint", tag("ＣＯＭＰＬＡＩＮＴ"), true},
		{"complaint", tag("Complaint"), true},
		{"complaint", tag("投诉"), true},
		{"complaint", tag("投诉中"), false},
		{"escalated", tag("升级"), true},
		{"vip", func(c *Conversation) { c.CustomerTier = "gold" }, true},
		{"vip", func(c *Conversation) { c.CustomerTier = "ｇｏｌｄ" }, true},
		{"vip", func(c *Conversation) { c.CustomerTier = "platinum" }, true},
		{"vip", func(c *Conversation) { c.CustomerTier = "vip" }, false}, // not in this policy's tiers
		{"tag:投诉", tag("投诉"), true},
		{"tag:投诉", tag("complaint"), false},
		{"tag:Refund", tag("ＲＥＦＵＮＤ"), true},
	}
	for _, tt := range tests {
		pol := p
		pol.Rules = []string{tt.rule}
		got := targetedPicks(t, pol, tt.edit)
		if matched := len(got) == 1 && got[0].Reason == tt.rule; matched != tt.match {
			c := conv("x", "a")
			tt.edit(&c)
			t.Errorf("rule %s on tags %q tier %q: matched %v (picks %v), want %v", tt.rule, c.Tags, c.CustomerTier, matched, got, tt.match)
		}
	}
}

func TestBuiltinParameters(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Policy)
		rule  string
		conv  func(*Conversation)
		match bool
	}{
		{"csat at the max", func(p *Policy) { p.LowCSATMax = 3 }, RuleLowCSAT, csat(3), true},
		{"csat above the max", func(p *Policy) { p.LowCSATMax = 3 }, RuleLowCSAT, csat(4), false},
		{"no rating is never low", func(p *Policy) { p.LowCSATMax = 4 }, RuleLowCSAT, csat(0), false},
		{"transfers at the threshold", func(p *Policy) { p.EscalationMinTransfers = 3 }, RuleEscalated,
			func(c *Conversation) { c.TransferCount = 3 }, true},
		{"transfers below the threshold", func(p *Policy) { p.EscalationMinTransfers = 3 }, RuleEscalated,
			func(c *Conversation) { c.TransferCount = 2 }, false},
		{"transfers left out", func(p *Policy) { p.EscalationMinTransfers = 0 }, RuleEscalated,
			func(c *Conversation) { c.TransferCount = 9 }, false},
		{"transfers left out, tag still counts", func(p *Policy) { p.EscalationMinTransfers = 0 }, RuleEscalated, tag("升级"), true},
		{"own complaint tags", func(p *Policy) { p.ComplaintTags = []string{"差评"} }, RuleComplaint, tag("差评"), true},
		{"own complaint tags replace the default", func(p *Policy) { p.ComplaintTags = []string{"差评"} }, RuleComplaint, tag("投诉"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.edit(&p)
			p.Rules = []string{tt.rule}
			got := targetedPicks(t, p, tt.conv)
			if matched := len(got) == 1; matched != tt.match {
				t.Errorf("picks %v, want a match: %v", got, tt.match)
			}
		})
	}
}

func TestNamedRuleConditions(t *testing.T) {
	attrs := func(kv ...string) func(*Conversation) {
		return func(c *Conversation) {
			c.Attributes = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				c.Attributes[kv[i]] = kv[i+1]
			}
		}
	}
	set := func(f func(*Conversation)) func(*Conversation) { return f }
	tests := []struct {
		cond  Condition
		edit  func(*Conversation)
		match bool
	}{
		{Condition{Field: FieldChannel, Op: OpEq, Value: "phone"}, set(func(c *Conversation) { c.Channel = "Phone" }), true},
		{Condition{Field: FieldChannel, Op: OpEq, Value: "phone"}, set(func(c *Conversation) { c.Channel = "chat" }), false},
		{Condition{Field: FieldChannel, Op: OpNe, Value: "phone"}, set(func(c *Conversation) { c.Channel = "chat" }), true},
		{Condition{Field: FieldChannel, Op: OpIn, Values: []string{"phone", "email"}}, set(func(c *Conversation) { c.Channel = "email" }), true},
		{Condition{Field: FieldChannel, Op: OpNotIn, Values: []string{"phone", "email"}}, set(func(c *Conversation) { c.Channel = "email" }), false},

		{Condition{Field: FieldTags, Op: OpHas, Value: "退款"}, tag("other", "退款"), true},
		{Condition{Field: FieldTags, Op: OpHas, Value: "退款"}, tag("other"), false},
		{Condition{Field: FieldTags, Op: OpIn, Values: []string{"退款", "refund"}}, tag("REFUND"), true},
		{Condition{Field: FieldTags, Op: OpNotIn, Values: []string{"退款", "refund"}}, tag("other"), true},
		{Condition{Field: FieldTags, Op: OpNotIn, Values: []string{"退款", "refund"}}, tag("other", "退款"), false},

		{Condition{Field: FieldCustomerTier, Op: OpEq, Value: "gold"}, set(func(c *Conversation) { c.CustomerTier = "ＧＯＬＤ" }), true},
		{Condition{Field: FieldCustomerTier, Op: OpIn, Values: []string{"gold", "platinum"}}, set(func(c *Conversation) { c.CustomerTier = "silver" }), false},
		{Condition{Field: FieldCustomerTier, Op: OpNotIn, Values: []string{"gold", "platinum"}}, set(func(c *Conversation) { c.CustomerTier = "silver" }), true},
		{Condition{Field: FieldCustomerTier, Op: OpNe, Value: "gold"}, set(func(c *Conversation) { c.CustomerTier = "gold" }), false},

		{Condition{Field: FieldAttribute, Key: "shop", Op: OpEq, Value: "flagship"}, attrs("shop", "Flagship"), true},
		{Condition{Field: FieldAttribute, Key: "shop", Op: OpEq, Value: "flagship"}, attrs("shop", "outlet"), false},
		{Condition{Field: FieldAttribute, Key: "shop", Op: OpEq, Value: "旗舰店"}, attrs("shop", "旗舰店"), true},
		{Condition{Field: FieldAttribute, Key: "shop", Op: OpNe, Value: "flagship"}, attrs("shop", "outlet"), true},
		{Condition{Field: FieldAttribute, Key: "shop", Op: OpNe, Value: "flagship"}, attrs(), false}, // missing: never holds
		{Condition{Field: FieldAttribute, Key: "shop", Op: OpIn, Values: []string{"a", "ｂ"}}, attrs("shop", "B"), true},
		{Condition{Field: FieldAttribute, Key: "shop", Op: OpNotIn, Values: []string{"a", "b"}}, attrs("shop", "c"), true},
		{Condition{Field: FieldAttribute, Key: "amount", Op: OpGt, Value: "500"}, attrs("amount", "1200.50"), true},
		{Condition{Field: FieldAttribute, Key: "amount", Op: OpGt, Value: "500"}, attrs("amount", "499"), false},
		{Condition{Field: FieldAttribute, Key: "amount", Op: OpGe, Value: "500"}, attrs("amount", "５００"), true}, // full-width digits
		{Condition{Field: FieldAttribute, Key: "amount", Op: OpLt, Value: "500"}, attrs("amount", "n/a"), false},
		{Condition{Field: FieldAttribute, Key: "amount", Op: OpLe, Value: "-1"}, attrs("amount", "-1"), true},

		{Condition{Field: FieldCSAT, Op: OpLe, Value: "3"}, csat(3), true},
		{Condition{Field: FieldCSAT, Op: OpLe, Value: "3"}, csat(0), false}, // no rating
		{Condition{Field: FieldCSAT, Op: OpNe, Value: "5"}, csat(0), false}, // no rating, whatever the operator
		{Condition{Field: FieldCSAT, Op: OpEq, Value: "5"}, csat(5), true},
		{Condition{Field: FieldTransferCount, Op: OpGe, Value: "1"}, set(func(c *Conversation) { c.TransferCount = 1 }), true},
		{Condition{Field: FieldTransferCount, Op: OpGe, Value: "1"}, set(func(c *Conversation) { c.TransferCount = 0 }), false},

		{Condition{Field: FieldHandleTime, Op: OpGt, Value: "10m"}, set(func(c *Conversation) { c.HandleTime = 11 * time.Minute }), true},
		{Condition{Field: FieldHandleTime, Op: OpGt, Value: "10m"}, set(func(c *Conversation) { c.HandleTime = 10 * time.Minute }), false},
		{Condition{Field: FieldFirstResponseTime, Op: OpGe, Value: "60s"}, set(func(c *Conversation) { c.FirstResponse = time.Minute }), true},
		{Condition{Field: FieldFirstResponseTime, Op: OpLt, Value: "60s"}, set(func(c *Conversation) { c.FirstResponse = transcript.NoResponse }), false},
		{Condition{Field: FieldMeanAgentResponseTime, Op: OpGt, Value: "1m30s"}, set(func(c *Conversation) { c.MeanAgentResponse = 2 * time.Minute }), true},
		{Condition{Field: FieldMeanAgentResponseTime, Op: OpGt, Value: "0s"}, set(func(c *Conversation) { c.MeanAgentResponse = transcript.NoResponse }), false},
		{Condition{Field: FieldMessageCount, Op: OpGt, Value: "5"}, set(func(c *Conversation) { c.MessageCount = 6 }), true},
		{Condition{Field: FieldAgentMessageCount, Op: OpLt, Value: "3"}, set(func(c *Conversation) { c.AgentMessageCount = 2 }), true},
		{Condition{Field: FieldCustomerMessageCount, Op: OpEq, Value: "3"}, set(func(c *Conversation) { c.CustomerMessageCount = 4 }), false},

		{Condition{Field: FieldFlags, Op: OpHas, Value: "no_greeting"}, set(func(c *Conversation) { c.Flags = []string{"slow", "no_greeting"} }), true},
		{Condition{Field: FieldFlags, Op: OpIn, Values: []string{"a", "slow"}}, set(func(c *Conversation) { c.Flags = []string{"slow"} }), true},
		{Condition{Field: FieldFlags, Op: OpNotIn, Values: []string{"a", "slow"}}, set(func(c *Conversation) { c.Flags = []string{"slow"} }), false},
		{Condition{Field: FieldFlags, Op: OpNotIn, Values: []string{"a", "slow"}}, set(func(c *Conversation) {}), true},
	}
	for _, tt := range tests {
		p := DefaultPolicy()
		p.Rules = []string{"mine"}
		p.NamedRules = []NamedRule{{Name: "mine", When: []Condition{tt.cond}}}
		if err := p.Validate(); err != nil {
			t.Fatalf("%+v: %v", tt.cond, err)
		}
		c := conv("x", "a")
		tt.edit(&c)
		if matched := newMatcher(&p).match(&c) == 1; matched != tt.match {
			t.Errorf("condition %+v on %+v: matched %v, want %v", tt.cond, c, matched, tt.match)
		}
	}
}

func TestNamedRuleNeedsEveryCondition(t *testing.T) {
	p := DefaultPolicy()
	p.Rules = []string{"gold_refund"}
	p.NamedRules = []NamedRule{{Name: "gold_refund", When: []Condition{
		{Field: FieldTags, Op: OpHas, Value: "退款"},
		{Field: FieldCustomerTier, Op: OpIn, Values: []string{"gold", "platinum"}},
	}}}
	onlyTag := func(c *Conversation) { c.Tags = []string{"退款"} }
	onlyTier := func(c *Conversation) { c.CustomerTier = "platinum" }
	tagAndTier := func(c *Conversation) { c.Tags = []string{"退款"}; c.CustomerTier = "gold" }
	got := targetedPicks(t, p, onlyTag, onlyTier, tagAndTier)
	both := sortedByKey("c", 13, "a")[12].ExternalID // targetedPicks' last
	if len(got) != 1 || got[0].Reason != "gold_refund" || got[0].ExternalID != both {
		t.Errorf("targeted picks %v, want one gold_refund pick of %s, the only conversation with both", got, both)
	}
}

func TestPriorityFollowsRulesWithNamedRules(t *testing.T) {
	p := DefaultPolicy()
	// On the channel of the random part's picks: a conversation alone in
	// its channel would be taken by the random part for coverage.
	p.NamedRules = []NamedRule{{Name: "long_chat", When: []Condition{
		{Field: FieldChannel, Op: OpEq, Value: "chat"},
		{Field: FieldHandleTime, Op: OpGe, Value: "20m"},
	}}}
	longChat := func(c *Conversation) { c.HandleTime = 30 * time.Minute }
	complaint := tag("投诉")
	vipGold := func(c *Conversation) { c.CustomerTier = "gold" }
	p.VIPTiers = []string{"gold"}
	tests := []struct {
		rules    []string
		targeted int
		want     []string
	}{
		{[]string{"long_chat", "complaint", "vip"}, 1, []string{"long_chat"}},
		{[]string{"complaint", "long_chat", "vip"}, 1, []string{"complaint"}},
		{[]string{"vip", "long_chat", "complaint"}, 3, []string{"vip", "long_chat", "complaint"}},
		{[]string{"tag:投诉", "long_chat"}, 2, []string{"tag:投诉", "long_chat"}},
	}
	for _, tt := range tests {
		pol := p
		pol.Rules = tt.rules
		pol.TargetedPerAgent = tt.targeted
		got := targetedPicks(t, pol, longChat, complaint, vipGold)
		if !slices.Equal(reasons(got), tt.want) {
			t.Errorf("rules %q: reasons %q, want %q", tt.rules, reasons(got), tt.want)
		}
	}
}

func TestNamedRuleValidation(t *testing.T) {
	rule := func(name string, when ...Condition) NamedRule { return NamedRule{Name: name, When: when} }
	good := Condition{Field: FieldTags, Op: OpHas, Value: "退款"}
	tests := []struct {
		name   string
		edit   func(*Policy)
		field  string
		inText string
	}{
		{"builtin name", func(p *Policy) { p.NamedRules = []NamedRule{rule("vip", good)} }, "named_rules[0].name", "built-in"},
		{"builtin name in capitals", func(p *Policy) { p.NamedRules = []NamedRule{rule("VIP", good)} }, "named_rules[0].name", "built-in"},
		{"random", func(p *Policy) { p.NamedRules = []NamedRule{rule("random", good)} }, "named_rules[0].name", "built-in"},
		{"empty name", func(p *Policy) { p.NamedRules = []NamedRule{rule("", good)} }, "named_rules[0].name", "required"},
		{"name with colon", func(p *Policy) { p.NamedRules = []NamedRule{rule("tag:x", good)} }, "named_rules[0].name", "only letters"},
		{"name with space", func(p *Policy) { p.NamedRules = []NamedRule{rule("big refund", good)} }, "named_rules[0].name", "only letters"},
		{"name starting with a digit", func(p *Policy) { p.NamedRules = []NamedRule{rule("1st", good)} }, "named_rules[0].name", "start with a letter"},
		{"long name", func(p *Policy) { p.NamedRules = []NamedRule{rule(strings.Repeat("r", 65), good)} }, "named_rules[0].name", "at most 64"},
		{"duplicate name", func(p *Policy) {
			p.Rules = append(p.Rules, "refund")
			p.NamedRules = []NamedRule{rule("refund", good), rule("refund", good)}
		}, "named_rules[1].name", "duplicate"},
		{"not in rules", func(p *Policy) { p.NamedRules = []NamedRule{rule("refund", good)} }, "named_rules[0].name", "not in rules"},
		{"no conditions", func(p *Policy) { p.NamedRules = []NamedRule{rule("refund")} }, "named_rules[0].when", "at least one"},
		{"unknown field", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: "mood", Op: OpEq, Value: "bad"})}
		}, "named_rules[0].when[0].field", `unknown field "mood"`},
		{"missing field", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Op: OpEq, Value: "bad"})}
		}, "named_rules[0].when[0].field", "required"},
		{"op not for the field", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", good, Condition{Field: FieldTags, Op: OpGt, Value: "x"})}
		}, "named_rules[0].when[1].op", `"gt" does not apply to tags; use has, in, not_in`},
		{"missing op", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldCSAT, Value: "2"})}
		}, "named_rules[0].when[0].op", "required"},
		{"in without values", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldChannel, Op: OpIn})}
		}, "named_rules[0].when[0].values", "required"},
		{"in with value", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldChannel, Op: OpIn, Value: "phone"})}
		}, "named_rules[0].when[0].value", "takes values"},
		{"eq with values", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldChannel, Op: OpEq, Value: "a", Values: []string{"b"}})}
		}, "named_rules[0].when[0].values", "one value"},
		{"missing value", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldChannel, Op: OpEq})}
		}, "named_rules[0].when[0].value", "required"},
		{"not a count", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldCSAT, Op: OpLe, Value: "two"})}
		}, "named_rules[0].when[0].value", "whole number"},
		{"not a duration", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldHandleTime, Op: OpGt, Value: "600"})}
		}, "named_rules[0].when[0].value", "duration"},
		{"attribute not a number", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldAttribute, Key: "amount", Op: OpGt, Value: "lots"})}
		}, "named_rules[0].when[0].value", "decimal number"},
		{"attribute without key", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldAttribute, Op: OpEq, Value: "x"})}
		}, "named_rules[0].when[0].key", "required"},
		{"key on another field", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldChannel, Key: "x", Op: OpEq, Value: "x"})}
		}, "named_rules[0].when[0].key", "only a condition on attribute"},
		{"bad value in values", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldCSAT, Op: OpIn, Values: []string{"1"}})}
		}, "named_rules[0].when[0].op", "does not apply to csat"},
		{"control character in a tag value", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", Condition{Field: FieldTags, Op: OpIn, Values: []string{"ok", "a\nb"}})}
		}, "named_rules[0].when[0].values[1]", "control character"},
		{"too many conditions", func(p *Policy) {
			p.NamedRules = []NamedRule{rule("refund", slices.Repeat([]Condition{good}, MaxConditions+1)...)}
		}, "named_rules[0].when", "at most 16"},
		{"empty complaint tags", func(p *Policy) { p.ComplaintTags = nil }, "complaint_tags", "match nothing"},
		{"blank complaint tag", func(p *Policy) { p.ComplaintTags = []string{"投诉", " "} }, "complaint_tags[1]", "required"},
		{"empty vip tiers", func(p *Policy) { p.VIPTiers = []string{} }, "vip_tiers", "match nothing"},
		{"no escalation at all", func(p *Policy) { p.EscalationTags, p.EscalationMinTransfers = nil, 0 }, "escalation_tags", "match nothing"},
		{"negative transfers", func(p *Policy) { p.EscalationMinTransfers = -1 }, "escalation_min_transfers", "between 0"},
		{"csat max zero", func(p *Policy) { p.LowCSATMax = 0 }, "low_csat_max", "between 1 and 4"},
		{"csat max five", func(p *Policy) { p.LowCSATMax = 5 }, "low_csat_max", "between 1 and 4"},
		{"unknown rule names the named rules", func(p *Policy) {
			p.Rules = []string{"refund", "refnud"}
			p.NamedRules = []NamedRule{rule("refund", good)}
		}, "rules[1]", `unknown rule "refnud"; known: complaint, low_csat, escalated, vip, long_handle_time, the named rules refund, check:<flag> and tag:<tag>`},
		{"empty tag rule", func(p *Policy) { p.Rules = []string{"tag:"} }, "rules[0]", "needs a tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.edit(&p)
			err := p.Validate()
			fe, ok := fielderr.As(err)
			if !ok {
				t.Fatalf("Validate() = %v, want a *fielderr.Error", err)
			}
			found := false
			for _, v := range fe.Violations {
				if v.Field == tt.field && strings.Contains(v.Reason, tt.inText) {
					found = true
				}
			}
			if !found {
				t.Errorf("Validate() = %q, want a violation of %s mentioning %q", err, tt.field, tt.inText)
			}
		})
	}
}

func TestNamedRulesAccepted(t *testing.T) {
	p := DefaultPolicy()
	p.Rules = []string{"complaint", "退款_金卡", "tag:投诉", "check:no_greeting", "vip", "slow-reply"}
	p.VIPTiers = []string{"gold", "platinum"}
	p.NamedRules = []NamedRule{
		{Name: "退款_金卡", When: []Condition{
			{Field: FieldTags, Op: OpHas, Value: "退款"},
			{Field: FieldCustomerTier, Op: OpIn, Values: []string{"gold", "platinum"}},
			{Field: FieldAttribute, Key: "order_amount", Op: OpGe, Value: "1000"},
		}},
		{Name: "slow-reply", When: []Condition{{Field: FieldFirstResponseTime, Op: OpGt, Value: "5m"}}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if !p.ReadsAttributes() || !p.ReadsResponseTimes() {
		t.Error("the policy reads attributes and response times")
	}
	if d := DefaultPolicy(); d.ReadsAttributes() || d.ReadsResponseTimes() {
		t.Error("the default policy reads neither attributes nor response times")
	}
}

// TestMatchingAllocatesNothing guards the weekly run's speed: folding and
// looking up tags, tiers and channels reuses one buffer.
func TestMatchingAllocatesNothing(t *testing.T) {
	p := DefaultPolicy()
	p.Rules = append(p.Rules, "tag:退款", "mine")
	p.NamedRules = []NamedRule{{Name: "mine", When: []Condition{
		{Field: FieldChannel, Op: OpIn, Values: []string{"phone", "email"}},
		{Field: FieldAttribute, Key: "shop", Op: OpEq, Value: "旗舰店"},
		{Field: FieldCustomerTier, Op: OpNe, Value: "gold"},
	}}}
	m := newMatcher(&p)
	c := conv("x", "a")
	c.Channel = "Phone"
	c.Tags = []string{"ＣＯＭＰＬＡＩＮＴ", "退款", "Refund", "升级"}
	c.CustomerTier = "ＶＩＰ"
	c.Attributes = map[string]string{"shop": "旗舰店"}
	var mask uint64
	if n := testing.AllocsPerRun(100, func() { mask = m.match(&c) }); n != 0 {
		t.Errorf("match allocates %v times per conversation", n)
	}
	// complaint, escalated, vip, tag:退款, mine
	if want := uint64(1<<0 | 1<<2 | 1<<3 | 1<<5 | 1<<6); mask != want {
		t.Errorf("mask %b, want %b", mask, want)
	}
}
