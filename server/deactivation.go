package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/dispute"
	"qa-sampling/fielderr"
	"qa-sampling/store"
)

// Deactivating an inspector (UpsertInspector with active false) is the
// admin's one switch: their calls are refused from then on, whatever
// token they hold, and their open items go to others. Drafts are not
// handed on: the next inspector scores afresh (someone else's half-done
// judgement would anchor theirs), and the draft stays stored with its
// author, as after ReleaseItem.

// activeInspectors refuses every call of a deactivated inspector. It runs
// after authorize, on every call, so deactivation needs no token hunt and
// no cache expiry: one primary-key lookup per inspector call. An inspector
// token whose subject was never registered keeps working (its queue is
// empty), as before.
type activeInspectors struct {
	store Storage
	log   *slog.Logger
}

func (a activeInspectors) check(ctx context.Context) error {
	who, ok := PrincipalFrom(ctx)
	if !ok || who.Role != store.RoleInspector {
		return nil
	}
	in, err := a.store.GetInspector(ctx, who.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return storeError(ctx, a.log, err)
	}
	if !in.Active {
		return status.Errorf(codes.PermissionDenied, "inspector %s is deactivated; an admin can reactivate them", fielderr.Quote(who.Subject))
	}
	return nil
}

func (a activeInspectors) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (a activeInspectors) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := a.check(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// returnOpenItems takes a deactivated inspector's open items from them:
// assigned ones to the pool and on to another inspector by the assignment
// rules, disputed ones to another inspector who may re-score them. It
// returns the moved items as they are now. Each step is audited by the
// store. Deactivating again repeats what a failure left undone.
func returnOpenItems(ctx context.Context, st Storage, job *SamplingJob, log *slog.Logger, inspectorID, actor string) ([]store.Pick, error) {
	returned, err := st.ReturnInspectorItems(ctx, inspectorID, actor)
	if err != nil {
		return nil, err
	}
	out := make([]store.Pick, 0, len(returned))
	for _, p := range returned {
		// The inspector is inactive, so the rules no longer offer them.
		if moved, ok, err := job.Reassign(ctx, p, inspectorID); err != nil {
			return nil, err
		} else if ok {
			p = moved
		}
		out = append(out, p)
	}
	open, err := st.ListDisputes(ctx, store.DisputeFilter{AssigneeID: inspectorID, Status: store.DisputeOpen})
	if err != nil {
		return nil, err
	}
	for _, d := range open {
		rv, err := st.GetReview(ctx, d.ReviewID)
		if err != nil {
			return nil, err
		}
		in, err := assignmentInputsFor(ctx, st, d.AgentID)
		if err != nil {
			return nil, err
		}
		to := dispute.Assignee(dispute.Contested{ReviewID: rv.ID, InspectorID: rv.InspectorID}, in.loads, in.supervisorID, in.recent)
		if to == "" {
			log.WarnContext(ctx, "no inspector can take over a deactivated inspector's dispute", "dispute_id", d.ID, "inspector_id", inspectorID)
			continue
		}
		if _, err := st.ReassignDispute(ctx, d.ID, inspectorID, to, actor); errors.Is(err, store.ErrConflict) {
			continue // resolved meanwhile
		} else if err != nil {
			return nil, err
		}
		picks, err := st.ListPicks(ctx, store.PickFilter{AfterID: d.PickID - 1, Limit: 1})
		if err != nil {
			return nil, err
		}
		out = append(out, picks...)
	}
	return out, nil
}
