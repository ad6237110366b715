package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/scoring"
	"qa-sampling/store"
)

func rubricFromProto(p *qav1.Rubric) scoring.Rubric {
	r := scoring.Rubric{Name: p.GetName()}
	for _, d := range p.GetDimensions() {
		r.Dimensions = append(r.Dimensions, scoring.Dimension{
			Key: d.GetKey(), Name: d.GetName(), Weight: d.GetWeight(), Criteria: d.GetCriteria(),
			Max: int(d.GetMax()), AllowNA: d.GetAllowNa(), Critical: d.GetCritical(),
		})
	}
	for _, f := range p.GetFlags() {
		r.Flags = append(r.Flags, scoring.Flag{Key: f.GetKey(), Name: f.GetName(), Description: f.GetDescription()})
	}
	// Thresholds left out mean the defaults (90/80/70), not zero.
	r.Thresholds = scoring.DefaultThresholds()
	if t := p.GetThresholds(); t != nil {
		r.Thresholds = scoring.Thresholds{Excellent: t.GetExcellent(), Good: t.GetGood(), Pass: t.GetPass()}
	}
	return r
}

func rubricToProto(r scoring.Rubric, rv store.RubricVersion) *qav1.Rubric {
	out := &qav1.Rubric{
		Version: rv.Version, Name: r.Name, Active: rv.Active, Locked: rv.Locked, CreatedBy: rv.CreatedBy,
		Thresholds: &qav1.GradeThresholds{Excellent: r.Thresholds.Excellent, Good: r.Thresholds.Good, Pass: r.Thresholds.Pass},
	}
	if !rv.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(rv.CreatedAt)
	}
	for _, d := range r.Dimensions {
		out.Dimensions = append(out.Dimensions, &qav1.Dimension{
			Key: d.Key, Name: d.Name, Weight: d.Weight, Criteria: d.Criteria,
			Max: int32(d.Max), AllowNa: d.AllowNA, Critical: d.Critical,
		})
	}
	for _, f := range r.Flags {
		out.Flags = append(out.Flags, &qav1.CriticalFlag{Key: f.Key, Name: f.Name, Description: f.Description})
	}
	return out
}

// rubricService manages rubric versions.
type rubricService struct {
	qav1.UnimplementedRubricServiceServer
	rubrics *rubricBook
	store   Storage
	log     *slog.Logger
}

func (s *rubricService) GetRubric(ctx context.Context, req *qav1.GetRubricRequest) (*qav1.GetRubricResponse, error) {
	// Read the version row itself (not the cache) for current flags.
	r, rv, err := s.rubrics.active(ctx)
	if v := req.GetVersion(); v != 0 {
		if rv, err = s.store.GetRubric(ctx, v); err == nil {
			r, err = s.rubrics.parse(rv)
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "rubric version %d not found", req.GetVersion())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetRubricResponse{Rubric: rubricToProto(r, rv)}, nil
}

func (s *rubricService) ListRubrics(ctx context.Context, req *qav1.ListRubricsRequest) (*qav1.ListRubricsResponse, error) {
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	if _, _, err := s.rubrics.active(ctx); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	versions, err := s.store.ListRubrics(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListRubricsResponse{}
	versions, out.NextPageToken = pageOf(pg, versions, func(rv store.RubricVersion) int64 { return rv.Version }, false)
	for _, rv := range versions {
		r, err := parseStoredRubric(rv)
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		out.Rubrics = append(out.Rubrics, rubricToProto(r, rv))
	}
	return out, nil
}

// validRubric converts and validates the request's rubric.
func validRubric(p *qav1.Rubric) (scoring.Rubric, error) {
	if p == nil {
		return scoring.Rubric{}, badField("rubric", "required")
	}
	r := rubricFromProto(p)
	if err := r.Validate(); err != nil {
		return scoring.Rubric{}, invalid("rubric", err)
	}
	return r, nil
}

func (s *rubricService) ValidateRubric(_ context.Context, req *qav1.ValidateRubricRequest) (*qav1.ValidateRubricResponse, error) {
	if _, err := validRubric(req.GetRubric()); err != nil {
		return nil, err
	}
	return &qav1.ValidateRubricResponse{}, nil
}

func (s *rubricService) CreateRubric(ctx context.Context, req *qav1.CreateRubricRequest) (*qav1.CreateRubricResponse, error) {
	r, err := validRubric(req.GetRubric())
	if err != nil {
		return nil, err
	}
	// The default first, so that a first custom rubric is version 2 and
	// the default stays on record.
	if _, _, err := s.rubrics.active(ctx); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	who, _ := PrincipalFrom(ctx)
	rv, err := s.store.AddRubric(ctx, r.JSON(), req.GetActivate(), who.Subject)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.CreateRubricResponse{Rubric: rubricToProto(r, rv)}, nil
}

func (s *rubricService) UpdateRubric(ctx context.Context, req *qav1.UpdateRubricRequest) (*qav1.UpdateRubricResponse, error) {
	version := req.GetRubric().GetVersion()
	if version <= 0 {
		return nil, badField("rubric.version", "required: the version to replace")
	}
	r, err := validRubric(req.GetRubric())
	if err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	rv, err := s.store.UpdateRubric(ctx, version, r.JSON(), who.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, status.Errorf(codes.NotFound, "rubric version %d not found", version)
	case errors.Is(err, store.ErrConflict):
		return nil, status.Errorf(codes.FailedPrecondition, "rubric version %d is used by a review and can no longer change; create a new version", version)
	case err != nil:
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.UpdateRubricResponse{Rubric: rubricToProto(r, rv)}, nil
}

func (s *rubricService) ActivateRubric(ctx context.Context, req *qav1.ActivateRubricRequest) (*qav1.ActivateRubricResponse, error) {
	if req.GetVersion() <= 0 {
		return nil, badField("version", "required")
	}
	who, _ := PrincipalFrom(ctx)
	rv, err := s.store.ActivateRubric(ctx, req.GetVersion(), who.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "rubric version %d not found", req.GetVersion())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	r, err := parseStoredRubric(rv)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.ActivateRubricResponse{Rubric: rubricToProto(r, rv)}, nil
}
