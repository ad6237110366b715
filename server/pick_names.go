package server

import (
	"context"
	"errors"
	"log/slog"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// fewAgentsForLookups is how many distinct agents a list names one
// GetAgent at a time; more (a week's picks) read the directory once.
const fewAgentsForLookups = 20

// nameAgents fills each pick's agent_name from the agent directory, so
// lists show people rather than ids. Calibration items are blind and stay
// nameless (they carry no agent id either; checked here as well so a
// future change to them cannot leak the name).
func nameAgents(ctx context.Context, st Storage, log *slog.Logger, picks []*qav1.Pick) error {
	var ids []string
	seen := map[string]bool{}
	for _, p := range picks {
		if id := p.GetAgentId(); id != "" && p.GetKind() != pickKindCalibration && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	names := make(map[string]string, len(ids))
	if len(ids) > fewAgentsForLookups {
		agents, err := st.ListAgents(ctx)
		if err != nil {
			return storeError(ctx, log, err)
		}
		for _, a := range agents {
			if seen[a.AgentID] {
				names[a.AgentID] = a.Name
			}
		}
	} else {
		for _, id := range ids {
			a, err := st.GetAgent(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue
			case err != nil:
				return storeError(ctx, log, err)
			}
			names[id] = a.Name
		}
	}
	for _, p := range picks {
		if p.GetKind() != pickKindCalibration {
			p.AgentName = names[p.GetAgentId()]
		}
	}
	return nil
}
