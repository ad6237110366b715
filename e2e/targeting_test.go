package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	qav1 "qa-sampling/proto/qa/v1"
)

// TestTargetingByTheTeamsOwnTags: on chats tagged 投诉 and customers of
// tier gold, a week got no complaint and no VIP picks, and `tag:投诉` was
// refused (issue 9 §1.7). On a real qad, each backend: a policy with its
// own VIP tiers, a named rule over tags and an attribute, and tag: rules is
// stored (an invalid named rule is refused naming the field), and the run
// of a finished week picks each targeted chat with its rule as the reason.
func TestTargetingByTheTeamsOwnTags(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { testTargetingByTheTeamsOwnTags(t, b.dsn) })
	}
}

func testTargetingByTheTeamsOwnTags(t *testing.T, dsn string) {
	const week = "2026-W47"
	srv := startServer(t, dsn, "--sample-schedule", "off")
	admin, ingestToken := srv.token("admin", "qa-lead"), srv.token("ingest", "platform")
	ctx := withToken(t.Context(), ingestToken)
	client := srv.client(ingestToken)
	if _, err := client.UpsertAgents(ctx, &qav1.UpsertAgentsRequest{Agents: agentsFor("a1", "a2", "a3", "a4")}); err != nil {
		t.Fatal(err)
	}
	// Six chats per agent; one of each agent's is the targeted one (and a3
	// has a refund too small for its rule).
	edits := map[string]func(*qav1.Transcript){
		"a1-t": func(c *qav1.Transcript) { c.Tags = []string{"物流", "投诉"} },
		"a2-t": func(c *qav1.Transcript) { c.CustomerTier = "ＧＯＬＤ" }, // full-width, as typed on a Chinese keyboard
		"a3-t": func(c *qav1.Transcript) {
			c.Tags = []string{"退款"}
			c.Attributes = map[string]string{"amount": "1500"}
		},
		"a3-0": func(c *qav1.Transcript) {
			c.Tags = []string{"退款"}
			c.Attributes = map[string]string{"amount": "200"}
		},
		"a4-t": func(c *qav1.Transcript) { c.Tags = []string{"差评"} },
	}
	for _, agent := range []string{"a1", "a2", "a3", "a4"} {
		for _, suffix := range []string{"0", "1", "2", "3", "4", "t"} {
			id := agent + "-" + suffix
			c := chat(id, agent, 2)
			if edit := edits[id]; edit != nil {
				edit(c)
			}
			if _, err := client.PushTranscript(ctx, &qav1.PushTranscriptRequest{Transcript: c}); err != nil {
				t.Fatal(err)
			}
		}
	}

	qactl := func(args ...string) string {
		t.Helper()
		out, errOut, code := srv.qactl(admin, args...)
		if code != 0 {
			t.Fatalf("qactl %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	setPolicy := func(doc string) (string, string, int) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "policy.json")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return srv.qactl(admin, "policy", "set", "--file", path)
	}
	policy := func(rules, namedRules string) string {
		return `{"random_per_agent": 0, "targeted_per_agent": 3, "new_hire_days": 90, "new_hire_extra": 0,
			"time_zone": "Asia/Shanghai", "handle_time_percentile": 0.9,
			"rules": [` + rules + `], "vip_tiers": ["gold", "platinum"], "named_rules": [` + namedRules + `]}`
	}
	const bigRefund = `{"name": "big_refund", "when": [
		{"field": "tags", "op": "has", "value": "退款"},
		{"field": "attribute", "key": "amount", "op": "ge", "value": "1000"}]}`

	// The rule users typed is accepted.
	if out, errOut, code := setPolicy(policy(`"tag:投诉"`, "")); code != 0 || !strings.Contains(out, "tag:投诉") {
		t.Fatalf("policy with tag:投诉: exit %d\n%s%s", code, out, errOut)
	}
	// An invalid named rule is refused, naming the field.
	badRule := strings.Replace(bigRefund, `"op": "has"`, `"op": "gt"`, 1)
	if out, errOut, code := setPolicy(policy(`"big_refund"`, badRule)); code != 3 || !strings.Contains(errOut, "INVALID_ARGUMENT") ||
		!strings.Contains(errOut, "policy.named_rules[0].when[0].op") {
		t.Fatalf("invalid named rule: exit %d\n%s%s\nwant 3, INVALID_ARGUMENT naming policy.named_rules[0].when[0].op", code, out, errOut)
	}
	out, errOut, code := setPolicy(policy(`"complaint", "vip", "big_refund", "tag:差评"`, bigRefund))
	if code != 0 {
		t.Fatalf("policy set: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"complaint_tags:", "complaint, 投诉", "vip_tiers:", "gold, platinum",
		"named_rules[0]:", "big_refund: tags has 退款 and attribute[amount] ge 1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("policy set printed\n%s\nwithout %q", out, want)
		}
	}

	qactl("sample", "run", "--week", week)
	targeted := map[string][]string{} // reason → external ids
	for _, p := range parsePicks(t, qactl("--json", "sample", "list", "--week", week)) {
		if p.Reason != "random" {
			targeted[p.Reason] = append(targeted[p.Reason], p.ExternalID)
		}
	}
	want := map[string]string{"complaint": "a1-t", "vip": "a2-t", "big_refund": "a3-t", "tag:差评": "a4-t"}
	for reason, id := range want {
		if got := targeted[reason]; len(got) != 1 || got[0] != id {
			t.Errorf("picks for %s: %v, want [%s]", reason, got, id)
		}
	}
	if len(targeted) != len(want) {
		t.Errorf("targeted picks %v, want only %v", targeted, want)
	}
	if t.Failed() {
		t.Log(qactl("sample", "list", "--week", week))
	}
}
