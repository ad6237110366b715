package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"qa-sampling/fielderr"
	"qa-sampling/internal/importfile"
	qav1 "qa-sampling/proto/qa/v1"
)

// agentsChunkSize is how many agents go in one UpsertAgents call.
const agentsChunkSize = 1000

func newAgentsCommand(opts *globalOptions) *cobra.Command {
	agents := &cobra.Command{
		Use:   "agents",
		Short: "Manage the agent directory",
	}
	var file string
	importCmd := &cobra.Command{
		Use:   "import --file agents.jsonl",
		Short: "Create or update agents from a JSON Lines file",
		Long: "Reads one JSON object per line:\n" +
			`  {"agent_id": "a1", "name": "Li Na", "team_id": "t1", "supervisor_id": "s1", "hired_on": "2025-03-01", "active": true}` + "\n" +
			"and upserts the agents in chunks of 1000. \"active\" is optional and absent means true.\n" +
			"Each rejected line is reported as \"line N: field: reason\"; the exit status is 1 if any was.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, _, closeInput, err := openInput(file, cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer closeInput()
			conn, err := opts.dial()
			if err != nil {
				return err
			}
			defer func() { _ = conn.Close() }()
			imp := &agentImport{
				client: qav1.NewIngestServiceClient(conn),
				opts:   opts,
				stderr: cmd.ErrOrStderr(),
			}
			importErr := imp.run(cmd.Context(), in)
			summaryErr := imp.printSummary(cmd.OutOrStdout())
			if importErr != nil {
				return importErr
			}
			if summaryErr != nil {
				return summaryErr
			}
			if imp.counts.Rejected > 0 {
				return exitError{exitRejected}
			}
			return nil
		},
	}
	importCmd.Flags().StringVarP(&file, "file", "f", "", `JSON Lines file of agents ("-" for standard input)`)
	_ = importCmd.MarkFlagRequired("file")
	agents.AddCommand(importCmd)
	return agents
}

// agentCounts is the outcome of an import, also its --json form.
type agentCounts struct {
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Rejected  int64 `json:"rejected"`
}

type agentImport struct {
	client qav1.IngestServiceClient
	opts   *globalOptions
	stderr io.Writer
	counts agentCounts

	chunk []*qav1.Agent
	lines []int // line number of each agent in chunk
	// rejections since the last flush, printed in line order once the
	// server has answered for the lines among them.
	rejections []rejection
}

type rejection struct {
	line          int
	field, reason string
}

func (imp *agentImport) run(ctx context.Context, in io.Reader) error {
	lines := newLineReader(in)
	for {
		data, err := lines.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if lerr := (*fielderr.Error)(nil); errors.As(err, &lerr) {
			imp.reject(lines.number, lerr.First().Field, lerr.First().Reason)
			continue
		}
		if err != nil {
			imp.printRejections()
			return fmt.Errorf("read input: %w", err)
		}
		if isBlank(data) {
			continue
		}
		agent, lerr := importfile.ParseAgentLine(data)
		if lerr != nil {
			imp.reject(lines.number, lerr.First().Field, lerr.First().Reason)
			continue
		}
		imp.chunk = append(imp.chunk, agent)
		imp.lines = append(imp.lines, lines.number)
		if len(imp.chunk) == agentsChunkSize {
			if err := imp.flush(ctx); err != nil {
				return err
			}
		}
	}
	return imp.flush(ctx)
}

// flush sends the collected chunk and accounts for every answer.
func (imp *agentImport) flush(ctx context.Context) error {
	defer imp.printRejections()
	if len(imp.chunk) == 0 {
		return nil
	}
	callCtx, cancel := imp.opts.unaryContext(ctx)
	defer cancel()
	resp, err := imp.client.UpsertAgents(callCtx, &qav1.UpsertAgentsRequest{Agents: imp.chunk})
	if err != nil {
		return err
	}
	answered := make([]bool, len(imp.chunk))
	for _, r := range resp.GetResults() {
		i := r.GetIndex()
		if i < 0 || i >= int64(len(imp.chunk)) || answered[i] {
			continue
		}
		answered[i] = true
		switch r.GetStatus() {
		case qav1.ItemStatus_ITEM_STATUS_ACCEPTED:
			imp.counts.Created++
		case qav1.ItemStatus_ITEM_STATUS_UPDATED:
			imp.counts.Updated++
		case qav1.ItemStatus_ITEM_STATUS_REJECTED:
			imp.reject(imp.lines[i], r.GetField(), r.GetReason())
		default:
			imp.counts.Unchanged++
		}
	}
	var unanswered int
	for _, ok := range answered {
		if !ok {
			unanswered++
		}
	}
	// Fresh slices: the sent request is not ours to reuse.
	imp.chunk, imp.lines = nil, nil
	if unanswered > 0 {
		return fmt.Errorf("server left %d of %d agents unanswered", unanswered, len(answered))
	}
	return nil
}

func (imp *agentImport) reject(line int, field, reason string) {
	imp.counts.Rejected++
	imp.rejections = append(imp.rejections, rejection{line, field, reason})
}

func (imp *agentImport) printRejections() {
	slices.SortFunc(imp.rejections, func(a, b rejection) int { return a.line - b.line })
	for _, r := range imp.rejections {
		printRejection(imp.stderr, r.line, r.field, r.reason)
	}
	imp.rejections = imp.rejections[:0]
}

func (imp *agentImport) printSummary(w io.Writer) error {
	c := imp.counts
	if imp.opts.json {
		return json.NewEncoder(w).Encode(c)
	}
	_, err := fmt.Fprintf(w, "%d created, %d updated, %d unchanged, %d rejected\n", c.Created, c.Updated, c.Unchanged, c.Rejected)
	return err
}
