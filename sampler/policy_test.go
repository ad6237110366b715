package sampler

import (
	"math"
	"strings"
	"testing"

	"qa-sampling/fielderr"
)

func TestDefaultPolicyIsValid(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.RandomPerAgent != 3 || p.TargetedPerAgent != 2 || p.NewHireDays != 90 || p.NewHireExtra != 2 ||
		p.TimeZone != "Asia/Shanghai" || p.HandleTimePercentile != 0.90 {
		t.Errorf("DefaultPolicy() = %+v, want SPEC §4's defaults", p)
	}
	want := []string{"complaint", "low_csat", "escalated", "vip", "long_handle_time"}
	if strings.Join(p.Rules, ",") != strings.Join(want, ",") {
		t.Errorf("Rules = %q, want %q", p.Rules, want)
	}
}

func TestPolicyValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*Policy)
		field  string
		inText string
	}{
		{"negative version", func(p *Policy) { p.Version = -1 }, "version", "negative"},
		{"negative random quota", func(p *Policy) { p.RandomPerAgent = -1; p.TargetedPerAgent = 5 }, "random_per_agent", "between 0"},
		{"negative targeted quota", func(p *Policy) { p.TargetedPerAgent = -2 }, "targeted_per_agent", "between 0"},
		{"negative new-hire extra", func(p *Policy) { p.NewHireExtra = -1 }, "new_hire_extra", "between 0"},
		{"huge random quota", func(p *Policy) { p.RandomPerAgent = MaxQuota + 1 }, "random_per_agent", "between 0"},
		{"quota below three", func(p *Policy) { p.RandomPerAgent, p.TargetedPerAgent = 1, 1 }, "random_per_agent", "at least 3"},
		{"negative new-hire days", func(p *Policy) { p.NewHireDays = -1 }, "new_hire_days", "between 0"},
		{"unknown rule", func(p *Policy) { p.Rules = []string{"complaint", "rude"} }, "rules[1]", `unknown rule "rude"`},
		{"duplicate rule", func(p *Policy) { p.Rules = []string{"vip", "complaint", "vip"} }, "rules[2]", "duplicate"},
		{"check rule without flag", func(p *Policy) { p.Rules = []string{"check:"} }, "rules[0]", "flag name"},
		{"check rule with space", func(p *Policy) { p.Rules = []string{"check:no greeting"} }, "rules[0]", "flag name"},
		{"too many rules", func(p *Policy) {
			p.Rules = nil
			for i := range MaxRules + 1 {
				p.Rules = append(p.Rules, "check:f"+strings.Repeat("x", i))
			}
		}, "rules", "at most 64"},
		{"empty time zone", func(p *Policy) { p.TimeZone = "" }, "time_zone", "empty"},
		{"local time zone", func(p *Policy) { p.TimeZone = "Local" }, "time_zone", "depends on the server"},
		{"unknown time zone", func(p *Policy) { p.TimeZone = "Asia/Atlantis" }, "time_zone", "unknown time zone"},
		{"huge unknown rule", func(p *Policy) { p.Rules = []string{strings.Repeat("r", 3<<20)} }, "rules[0]", `unknown rule "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr"… (3145728 bytes)`},
		{"huge check rule", func(p *Policy) { p.Rules = []string{"check:" + strings.Repeat("f", 3<<20)} }, "rules[0]", "is 3145734 bytes; at most 256"},
		{"NUL in check rule", func(p *Policy) { p.Rules = []string{"check:a\x00"} }, "rules[0]", "control character U+0000"},
		{"huge time zone", func(p *Policy) { p.TimeZone = strings.Repeat("z", 3<<20) }, "time_zone", `unknown time zone "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"… (3145728 bytes)`},
		{"percentile zero", func(p *Policy) { p.HandleTimePercentile = 0 }, "handle_time_percentile", "strictly between"},
		{"percentile one", func(p *Policy) { p.HandleTimePercentile = 1 }, "handle_time_percentile", "strictly between"},
		{"percentile NaN", func(p *Policy) { p.HandleTimePercentile = math.NaN() }, "handle_time_percentile", "strictly between"},
		{"percentile as percent", func(p *Policy) { p.HandleTimePercentile = 90 }, "handle_time_percentile", "strictly between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.edit(&p)
			err := p.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			fe, ok := fielderr.As(err)
			if !ok {
				t.Fatalf("Validate() = %v, want a *fielderr.Error", err)
			}
			if fe.First().Field != tt.field {
				t.Errorf("Field = %q, want %q (error %v)", fe.First().Field, tt.field, err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("message of %d bytes", len(err.Error()))
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), tt.inText) {
				t.Errorf("Validate() = %q, want it to start with %q and mention %q", err, tt.field+": ", tt.inText)
			}
		})
	}
}

func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	p := DefaultPolicy()
	p.TargetedPerAgent = -1
	p.TimeZone = "Nowhere/Town"
	err := p.Validate()
	for _, field := range []string{"targeted_per_agent: ", "time_zone: "} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, want it to name %q", err, field)
		}
	}
}

func TestPolicyValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
	}{
		{"random only", func(p *Policy) { p.RandomPerAgent, p.TargetedPerAgent, p.Rules = 3, 0, nil }},
		{"check rules", func(p *Policy) { p.Rules = append(p.Rules, "check:no_greeting", "check:slow_first_response") }},
		{"no new-hire extra", func(p *Policy) { p.NewHireDays, p.NewHireExtra = 0, 0 }},
		{"other zone", func(p *Policy) { p.TimeZone = "Europe/Berlin" }},
		{"median", func(p *Policy) { p.HandleTimePercentile = 0.5 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.edit(&p)
			if err := p.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}
