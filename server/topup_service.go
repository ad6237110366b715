package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// topUpWeek is RunWeek with top_up: the week's run topped up now.
func (s *samplingService) topUpWeek(ctx context.Context, week isoweek.Week, trigger string) (*qav1.RunWeekResponse, error) {
	run, up, err := s.job.TopUpWeek(ctx, week, trigger)
	if notEnded := (*WeekNotEndedError)(nil); errors.As(err, &notEnded) {
		return nil, status.Error(codes.FailedPrecondition, notEnded.Error())
	}
	if noRun := (*NoRunError)(nil); errors.As(err, &noRun) {
		return nil, status.Error(codes.FailedPrecondition, noRun.Error())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out, err := s.runWithTopUps(ctx, run)
	if err != nil {
		return nil, err
	}
	return &qav1.RunWeekResponse{Run: out, TopUp: topUpToProto(up)}, nil
}

// runWithTopUps is runToProto with the run's top-ups and total picks.
func (s *samplingService) runWithTopUps(ctx context.Context, r store.Run) (*qav1.Run, error) {
	ups, err := s.store.ListTopUps(ctx, r.ID)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := runToProto(r)
	agents, err := s.store.RunAgents(ctx, r.ID)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out.Agents = int32(agents)
	out.TotalPicks = out.GetPicks()
	for _, up := range ups {
		out.TopUps = append(out.TopUps, topUpToProto(up))
		out.TotalPicks += int32(up.Picks)
	}
	return out, nil
}

func topUpToProto(u store.TopUp) *qav1.TopUp {
	return &qav1.TopUp{
		Seq: int32(u.Seq), CreatedAt: timestamppb.New(u.CreatedAt), Trigger: u.Trigger,
		Picks: int32(u.Picks), Shortfalls: int32(u.Shortfalls), Considered: int32(u.Considered),
	}
}

// previewTopUp previews a week that has a completed run under the current
// policy: what a top-up of it would add now (nothing is written; the
// seed, revealed by the run, is its commitment's).
func (s *samplingService) previewTopUp(ctx context.Context, run store.Run) (*qav1.PreviewWeekResponse, error) {
	plan, err := s.job.PlanTopUp(ctx, run)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.PreviewWeekResponse{Week: run.Week, PolicyVersion: run.PolicyVersion,
		SeedCommitment: SeedCommitment(run.Seed), TopUpOfRun: run.ID, Disagreement: disagreementToProto(plan.Order)}
	addPreviewPicks(out, plan.Result)
	return out, nameAgents(ctx, s.store, s.log, out.Picks)
}
