package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

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

// returnOpenItems takes a deactivated inspector's open items from them,
// as an admin's move of all of them to the pool would (workload.go):
// assigned ones to another inspector by the assignment rules, or to the
// pool if no one else may take them; disputed ones to another inspector
// who may re-score them. It returns the moved items as they are now; a
// re-scoring no one else may take stays with them and is logged.
// Deactivating again repeats what a failure left undone.
func returnOpenItems(ctx context.Context, st Storage, log *slog.Logger, inspectorID, actor string) ([]store.Pick, error) {
	open, err := openItemsOf(ctx, st, inspectorID)
	if err != nil {
		return nil, err
	}
	res, err := reassignItems(ctx, st, open, moveTarget{pool: true},
		store.Reassignment{MoveNote: store.MoveNote{Actor: actor, Reason: "inspector deactivated", Bulk: true}})
	if err != nil {
		return nil, err
	}
	for _, u := range res.notMoved {
		log.WarnContext(ctx, "a deactivated inspector's item stays with them", "item_id", u.pick.ID, "inspector_id", inspectorID, "why", u.reason)
	}
	return res.moved, nil
}
