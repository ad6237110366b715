package main

import (
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	qav1 "qa-sampling/proto/qa/v1"
)

func newInspectorCommand(opts *globalOptions) *cobra.Command {
	cmd := &cobra.Command{Use: "inspector", Short: "Register and list QA inspectors (admin)"}
	var name string
	var inactive bool
	add := &cobra.Command{
		Use:   "add ID --name NAME",
		Short: "Register or update an inspector; ID is their token's subject",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			active := !inactive
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				resp, err := c.sampling.UpsertInspector(c.ctx, &qav1.UpsertInspectorRequest{Inspector: &qav1.Inspector{Id: args[0], Name: name, Active: &active}})
				if err != nil || opts.json {
					return resp, err
				}
				return nil, printUpsertedInspector(cmd.OutOrStdout(), resp)
			})
		},
	}
	add.Flags().StringVar(&name, "name", "", "the inspector's name")
	add.Flags().BoolVar(&inactive, "inactive", false, "register as inactive, or deactivate: no new items, their calls are refused, their open items go to others (listed as returned_items)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List inspectors with their open items (assigned, and disputed re-scorings), and the pool's size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.call(cmd, func(c clients) (proto.Message, error) {
				all := &qav1.ListInspectorsResponse{}
				err := allPages(func(token string) (string, error) {
					resp, err := c.sampling.ListInspectors(c.ctx, &qav1.ListInspectorsRequest{PageSize: 1000, PageToken: token})
					all.Inspectors = append(all.Inspectors, resp.GetInspectors()...)
					all.PoolItems = resp.GetPoolItems()
					return resp.GetNextPageToken(), err
				})
				if err != nil || opts.json {
					return all, err
				}
				return nil, printInspectors(cmd.OutOrStdout(), all)
			})
		},
	}
	cmd.AddCommand(add, list)
	return cmd
}
