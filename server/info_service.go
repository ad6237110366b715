package server

import (
	"context"
	"errors"
	"log/slog"

	"qa-sampling/internal/buildinfo"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

// infoService answers every role with what clients need to present the
// server's data; GetPolicy, which also has the zone, is for admins.
type infoService struct {
	qav1.UnimplementedInfoServiceServer
	store Storage
	log   *slog.Logger
}

// GetServerInfo reads the newest policy without storing the default one
// (as GetPolicy does on first use): any role may call it, and reading
// must not write.
func (s *infoService) GetServerInfo(ctx context.Context, _ *qav1.GetServerInfoRequest) (*qav1.GetServerInfoResponse, error) {
	policy := sampler.DefaultPolicy()
	pv, err := s.store.LatestPolicy(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, storeError(ctx, s.log, err)
	default:
		if policy, err = decodePolicy(pv); err != nil {
			return nil, storeError(ctx, s.log, err)
		}
	}
	return &qav1.GetServerInfoResponse{TimeZone: policy.TimeZone, ServerVersion: buildinfo.String()}, nil
}
