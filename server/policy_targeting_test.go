package server

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

// protoPolicy is the default policy as a client sends it, before the
// built-in rules had parameters.
func protoPolicy() *qav1.Policy {
	d := sampler.DefaultPolicy()
	return &qav1.Policy{
		RandomPerAgent: int32(d.RandomPerAgent), TargetedPerAgent: int32(d.TargetedPerAgent),
		NewHireDays: int32(d.NewHireDays), NewHireExtra: int32(d.NewHireExtra), Rules: d.Rules,
		TimeZone: d.TimeZone, HandleTimePercentile: d.HandleTimePercentile,
	}
}

func TestPolicyWithoutParametersTakesTheDefaults(t *testing.T) {
	p, err := validPolicy(protoPolicy())
	if err != nil {
		t.Fatal(err)
	}
	d := sampler.DefaultPolicy()
	if !slices.Equal(p.ComplaintTags, d.ComplaintTags) || !slices.Equal(p.EscalationTags, d.EscalationTags) ||
		!slices.Equal(p.VIPTiers, d.VIPTiers) || p.EscalationMinTransfers != 2 || p.LowCSATMax != 2 {
		t.Errorf("policy without parameters = %+v, want DefaultPolicy's", p)
	}
}

// TestPolicyWithoutZoneOrPercentileTakesTheDefaults: a policy file that
// leaves out time_zone and handle_time_percentile (read as "" and 0, which
// no policy may have) gets Asia/Shanghai and 0.9, as qactl's help says;
// the quota numbers left out stay 0 (a valid choice there).
func TestPolicyWithoutZoneOrPercentileTakesTheDefaults(t *testing.T) {
	in := protoPolicy()
	in.TimeZone, in.HandleTimePercentile, in.NewHireExtra = "", 0, 0
	p, err := validPolicy(in)
	if err != nil {
		t.Fatal(err)
	}
	d := sampler.DefaultPolicy()
	if p.TimeZone != d.TimeZone || p.HandleTimePercentile != d.HandleTimePercentile || p.NewHireExtra != 0 {
		t.Errorf("time zone %q, percentile %v, new_hire_extra %d; want %q, %v and 0", p.TimeZone, p.HandleTimePercentile, p.NewHireExtra,
			d.TimeZone, d.HandleTimePercentile)
	}
	// What is given is kept, and a wrong value is still refused by name.
	in.TimeZone, in.HandleTimePercentile = "Europe/Berlin", 0.75
	if p, err := validPolicy(in); err != nil || p.TimeZone != "Europe/Berlin" || p.HandleTimePercentile != 0.75 {
		t.Errorf("given zone and percentile: %q %v %v", p.TimeZone, p.HandleTimePercentile, err)
	}
	in.TimeZone = "Local"
	if _, err := validPolicy(in); err == nil || !strings.Contains(err.Error(), "policy.time_zone") {
		t.Errorf("Local: %v, want a refusal naming policy.time_zone", err)
	}
}

func TestPolicyTargetingRoundTrips(t *testing.T) {
	in := protoPolicy()
	in.Rules = append(in.Rules, "gold_refund", "tag:投诉")
	in.ComplaintTags = []string{"投诉", "差评"}
	in.EscalationTags = []string{"升级"}
	in.EscalationMinTransfers = proto.Int32(0) // set: transfers do not count
	in.VipTiers = []string{"gold", "platinum"}
	in.LowCsatMax = proto.Int32(3)
	in.NamedRules = []*qav1.NamedRule{{Name: "gold_refund", When: []*qav1.Condition{
		{Field: "tags", Op: "has", Value: "退款"},
		{Field: "attribute", Key: "amount", Op: "ge", Value: "500"},
		{Field: "channel", Op: "in", Values: []string{"phone", "chat"}},
	}}}
	p, err := validPolicy(in)
	if err != nil {
		t.Fatal(err)
	}
	// Stored as JSON and read back, as UpdatePolicy and GetPolicy do.
	doc, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := decodePolicy(store.PolicyVersion{Version: 7, Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	out := policyToProto(stored, store.PolicyVersion{Version: 7})
	in.Version = 7
	if !proto.Equal(out, in) {
		t.Errorf("round trip\n got %v\nwant %v", out, in)
	}
}

func TestLegacyStoredPolicyShowsTheOldParameters(t *testing.T) {
	doc := []byte(`{"random_per_agent":3,"targeted_per_agent":2,"new_hire_days":90,"new_hire_extra":2,` +
		`"rules":["complaint","low_csat","escalated","vip","long_handle_time"],"time_zone":"Asia/Shanghai","handle_time_percentile":0.9}`)
	p, err := decodePolicy(store.PolicyVersion{Version: 1, Document: doc})
	if err != nil {
		t.Fatal(err)
	}
	out := policyToProto(p, store.PolicyVersion{Version: 1})
	if !slices.Equal(out.GetComplaintTags(), []string{"complaint"}) || !slices.Equal(out.GetEscalationTags(), []string{"escalated"}) ||
		!slices.Equal(out.GetVipTiers(), []string{"vip"}) || out.GetEscalationMinTransfers() != 2 || out.GetLowCsatMax() != 2 {
		t.Errorf("legacy policy shown as %v, want its English-only parameters", out)
	}
}

func TestInvalidNamedRuleNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		edit  func(*qav1.Policy)
		field string
	}{
		{func(p *qav1.Policy) {
			p.Rules = append(p.Rules, "refund")
			p.NamedRules = []*qav1.NamedRule{
				{Name: "refund", When: []*qav1.Condition{{Field: "tags", Op: "has", Value: "退款"}}},
				{Name: "slow", When: []*qav1.Condition{{Field: "handle_time", Op: "has", Value: "10m"}}},
			}
		}, "policy.named_rules[1].name"}, // first of its problems: not in rules
		{func(p *qav1.Policy) {
			p.Rules = append(p.Rules, "slow")
			p.NamedRules = []*qav1.NamedRule{{Name: "slow", When: []*qav1.Condition{{Field: "handle_time", Op: "has", Value: "10m"}}}}
		}, "policy.named_rules[0].when[0].op"},
		{func(p *qav1.Policy) { p.LowCsatMax = proto.Int32(0) }, "policy.low_csat_max"},
		{func(p *qav1.Policy) { p.VipTiers = []string{"gold", "bad\ntier"} }, "policy.vip_tiers[1]"},
	} {
		p := protoPolicy()
		tc.edit(p)
		_, err := validPolicy(p)
		wantField(t, err, tc.field)
	}
}
