package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newPolicyCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Read and change the sampling policy (admin)",
		Long: "The policy is JSON with the API's field names, e.g.\n" +
			`  {"random_per_agent": 3, "targeted_per_agent": 2, "new_hire_days": 90, "new_hire_extra": 2,` + "\n" +
			`   "rules": ["complaint", "low_csat", "escalated", "vip", "long_handle_time", "gold_refund", "tag:差评"],` + "\n" +
			`   "time_zone": "Asia/Shanghai", "handle_time_percentile": 0.9,` + "\n" +
			`   "complaint_tags": ["complaint", "投诉"], "escalation_tags": ["escalated", "升级"],` + "\n" +
			`   "escalation_min_transfers": 2, "vip_tiers": ["gold", "platinum"], "low_csat_max": 2,` + "\n" +
			`   "named_rules": [{"name": "gold_refund", "when": [` + "\n" +
			`     {"field": "tags", "op": "has", "value": "退款"},` + "\n" +
			`     {"field": "attribute", "key": "amount", "op": "ge", "value": "500"}]}],` + "\n" +
			`   "adaptive": {"max_extra": 3, "pass_score": 70, "weeks": 4, "inspector_capacity": 60}}` + "\n" +
			"Rules are tried in the order of rules; a pick's reason is the rule's name. Tags and tiers\n" +
			"compare case- and width-insensitively, not simplified/traditional (list both 投诉 and 投訴).\n" +
			"Left out, time_zone, handle_time_percentile and the targeting parameters\n" +
			"(complaint_tags … low_csat_max) take their defaults (README, Sampling);\n" +
			"the quota numbers (random_per_agent, targeted_per_agent, new_hire_days, new_hire_extra) are 0.\n" +
			"`policy get` prints it (one field a line; as JSON with --json); `policy set --file F` stores a new version.",
	}
	var version int64
	get := &cobra.Command{
		Use:   "get",
		Short: "Print the newest policy, or --version N",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.GetPolicy(c.ctx, &qav1.GetPolicyRequest{Version: version})
				if err != nil || opts.json {
					return resp.GetPolicy(), err
				}
				return nil, printPolicy(cmd.OutOrStdout(), resp.GetPolicy(), time.Local)
			})
		},
	}
	get.Flags().Int64Var(&version, "version", 0, "a stored version; 0 for the newest")
	var file string
	var dryRun bool
	set := &cobra.Command{
		Use:   "set --file policy.json",
		Short: "Validate a policy and store it as a new version (--dry-run: validate only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p qav1.Policy
			if err := readProtoJSON(cmd, file, &p); err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				if dryRun {
					resp, err := c.sampling.ValidatePolicy(c.ctx, &qav1.ValidatePolicyRequest{Policy: &p})
					if err != nil || opts.json {
						return resp, err
					}
					_, err = fmt.Fprintln(cmd.OutOrStdout(), "valid")
					return nil, err
				}
				resp, err := c.sampling.UpdatePolicy(c.ctx, &qav1.UpdatePolicyRequest{Policy: &p})
				if err != nil || opts.json {
					return resp.GetPolicy(), err
				}
				return nil, printPolicy(cmd.OutOrStdout(), resp.GetPolicy(), time.Local)
			})
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "policy JSON file, - for standard input")
	set.Flags().BoolVar(&dryRun, "dry-run", false, "only validate (ValidatePolicy); nothing is stored")
	_ = set.MarkFlagRequired("file")
	cmd.AddCommand(get, set)
	return cmd
}

// printTargeting adds the built-in rules' parameters and the named rules
// to printPolicy's lines, a named rule as its conditions joined by "and".
func printTargeting(line func(name, value string), p *qav1.Policy) {
	list := func(values []string) string {
		out := make([]string, len(values))
		for i, v := range values {
			out[i] = policyValue(v)
		}
		return strings.Join(out, ", ")
	}
	line("complaint_tags", list(p.GetComplaintTags()))
	line("escalation_tags", list(p.GetEscalationTags()))
	line("escalation_min_transfers", strconv.Itoa(int(p.GetEscalationMinTransfers())))
	line("vip_tiers", list(p.GetVipTiers()))
	line("low_csat_max", strconv.Itoa(int(p.GetLowCsatMax())))
	for i, nr := range p.GetNamedRules() {
		conds := make([]string, len(nr.GetWhen()))
		for j, c := range nr.GetWhen() {
			field := sanitize(c.GetField())
			if c.GetKey() != "" {
				field += "[" + policyValue(c.GetKey()) + "]"
			}
			value := policyValue(c.GetValue())
			if len(c.GetValues()) > 0 {
				value = "[" + list(c.GetValues()) + "]"
			}
			conds[j] = field + " " + sanitize(c.GetOp()) + " " + value
		}
		line(fmt.Sprintf("named_rules[%d]", i), policyValue(nr.GetName())+": "+strings.Join(conds, " and "))
	}
}

// policyValue shows a tag, tier or condition value: as it is, or quoted
// when it has a space or a character the lines use.
func policyValue(v string) string {
	if v == "" || strings.ContainsAny(v, " ,[]:\"") || sanitize(v) != v {
		return strconv.Quote(v)
	}
	return v
}
