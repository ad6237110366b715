package main

import (
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
			`   "rules": ["complaint", "low_csat", "escalated", "vip", "long_handle_time"],` + "\n" +
			`   "time_zone": "Asia/Shanghai", "handle_time_percentile": 0.9}` + "\n" +
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
	set := &cobra.Command{
		Use:   "set --file policy.json",
		Short: "Validate a policy and store it as a new version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p qav1.Policy
			if err := readProtoJSON(cmd, file, &p); err != nil {
				return err
			}
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.UpdatePolicy(c.ctx, &qav1.UpdatePolicyRequest{Policy: &p})
				if err != nil || opts.json {
					return resp.GetPolicy(), err
				}
				return nil, printPolicy(cmd.OutOrStdout(), resp.GetPolicy(), time.Local)
			})
		},
	}
	set.Flags().StringVarP(&file, "file", "f", "", "policy JSON file, - for standard input")
	_ = set.MarkFlagRequired("file")
	cmd.AddCommand(get, set)
	return cmd
}
