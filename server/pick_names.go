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
	for _, p := range picks {
		if p.GetKind() != pickKindCalibration {
			ids = append(ids, p.GetAgentId())
		}
	}
	names, err := directoryNames(ctx, st, log, ids)
	if err != nil {
		return err
	}
	for _, p := range picks {
		if p.GetKind() != pickKindCalibration {
			p.AgentName = names[p.GetAgentId()]
		}
	}
	return nil
}

// nameReviewAgents fills each review's agent_name from the directory; a
// blind review (no agent id) stays nameless.
func nameReviewAgents(ctx context.Context, st Storage, log *slog.Logger, reviews []*qav1.Review) error {
	ids := make([]string, len(reviews))
	for i, r := range reviews {
		ids[i] = r.GetAgentId()
	}
	names, err := directoryNames(ctx, st, log, ids)
	if err != nil {
		return err
	}
	for _, r := range reviews {
		r.AgentName = names[r.GetAgentId()]
	}
	return nil
}

// directoryNames maps the agents among ids ("" and repeats allowed) to
// their directory names; agents the directory lacks are left out.
func directoryNames(ctx context.Context, st Storage, log *slog.Logger, ids []string) (map[string]string, error) {
	seen := map[string]bool{}
	var distinct []string
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			distinct = append(distinct, id)
		}
	}
	names := make(map[string]string, len(distinct))
	if len(distinct) > fewAgentsForLookups {
		agents, err := st.ListAgents(ctx)
		if err != nil {
			return nil, storeError(ctx, log, err)
		}
		for _, a := range agents {
			if seen[a.AgentID] {
				names[a.AgentID] = a.Name
			}
		}
		return names, nil
	}
	for _, id := range distinct {
		a, err := st.GetAgent(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return nil, storeError(ctx, log, err)
		}
		names[id] = a.Name
	}
	return names, nil
}
