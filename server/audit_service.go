package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// auditService reads the audit trail.
type auditService struct {
	qav1.UnimplementedAuditServiceServer
	store Storage
	log   *slog.Logger
}

func (s *auditService) ListAuditEvents(ctx context.Context, req *qav1.ListAuditEventsRequest) (*qav1.ListAuditEventsResponse, error) {
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), req.GetAfterId())
	since, until := boundTime(&l, "since", req.GetSince()), boundTime(&l, "until", req.GetUntil())
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		l.Add("until", "%s is not after since (%s)", until.Format(time.RFC3339Nano), since.Format(time.RFC3339Nano))
	}
	if req.GetNewestFirst() && req.GetAfterId() != 0 {
		l.Add("after_id", "not with newest_first: page with page_token")
	}
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	filter := store.AuditFilter{
		Actor: req.GetActor(), Action: req.GetAction(), Entity: req.GetEntity(), EntityID: req.GetEntityId(),
		Since: since, Until: until, Limit: pg.fetch(),
	}
	if req.GetNewestFirst() {
		// The token is the last (oldest) id of the previous page.
		filter.NewestFirst, filter.BeforeID = true, pg.after
	} else {
		filter.AfterID = pg.after
	}
	events, err := s.store.ListAudit(ctx, filter)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListAuditEventsResponse{}
	events, out.NextPageToken = cut(pg, events, func(e store.AuditEvent) int64 { return e.ID })
	if out.NextPageToken != "" {
		out.NextAfterId = events[len(events)-1].ID
	}
	for _, e := range events {
		out.Events = append(out.Events, &qav1.AuditEvent{
			Id: e.ID, At: timestamppb.New(e.At), Actor: e.Actor, Action: e.Action, Entity: e.Entity, EntityId: e.EntityID, Detail: e.Detail,
		})
	}
	return out, nil
}

// boundTime is an optional time bound of a listing: absent is the zero
// time, no bound.
func boundTime(l *fielderr.List, field string, ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	if err := ts.CheckValid(); err != nil {
		l.Add(field, "not a valid timestamp")
		return time.Time{}
	}
	return ts.AsTime()
}
