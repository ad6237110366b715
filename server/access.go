package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/store"
)

// The ownership rule, one for every supervisor-facing call (feedback,
// acknowledgement, disputes, reviews, reports) and for the console: a
// supervisor sees and acts on everything about the agents they supervise
// now, as the agent directory says, including what was written before an
// agent moved to them; the previous supervisor loses access at the move.
//
// Record-level ownership (a record stays with whom it was addressed to)
// was the alternative. It was rejected because it splits one agent across
// two supervisors: the old one would keep a record whose review, report
// and re-scoring belong to the new one, a record could be acknowledged by
// someone who no longer coaches the agent, and a supervisor who left a
// team would keep reading its agents' history. Following the directory
// gives one lookup per call and one answer to "whose is this agent?".
//
// Everything here is either ownsAgent (one agent, already read) or, for
// list queries, supervisorScope, which the store applies as the same rule
// in SQL (store.FeedbackFilter.SupervisorID and DisputeFilter.SupervisorID
// select the agents a supervisor supervises now).

// ownsAgent reports whether who may see and act on agent a's records:
// admins on every agent, a supervisor on the agents they supervise now.
func ownsAgent(who Principal, a store.Agent) bool {
	switch who.Role {
	case store.RoleAdmin:
		return true
	case store.RoleSupervisor:
		return a.SupervisorID == who.Subject
	}
	return false
}

// ownsAgentID is ownsAgent for an agent id; an unknown agent is owned by
// no supervisor.
func ownsAgentID(ctx context.Context, st Storage, agentID string) (bool, error) {
	who, _ := PrincipalFrom(ctx)
	if who.Role == store.RoleAdmin {
		return true, nil
	}
	a, err := st.GetAgent(ctx, agentID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return ownsAgent(who, a), nil
}

// supervisorScope returns the supervisor whose agents a list call is
// confined to: the caller for a supervisor; for an admin, the requested
// one, or "" for all.
func supervisorScope(ctx context.Context, requested string) (string, error) {
	who, _ := PrincipalFrom(ctx)
	if who.Role == store.RoleAdmin {
		return requested, nil
	}
	if requested != "" && requested != who.Subject {
		return "", status.Error(codes.PermissionDenied, "supervisor_id: supervisors see only their own records; leave it empty")
	}
	return who.Subject, nil
}
