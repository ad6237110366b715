package server

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/checks"
	"qa-sampling/fielderr"
	"qa-sampling/isoweek"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/sampler"
	"qa-sampling/store"
)

type samplingService struct {
	qav1.UnimplementedSamplingServiceServer
	job   *SamplingJob
	store Storage
	log   *slog.Logger
}

// policyFromProto converts a policy; the built-in rules' parameters left
// out (an empty list, an unset number) take DefaultPolicy's values, so
// that a policy written before they existed keeps working. So do the time
// zone and the handle-time percentile: left out, they read as "" and 0,
// which no policy may have (the sampler refuses them), so the defaults
// change no valid policy's meaning. The quota numbers cannot: 0 is a
// valid choice there, and left out means 0.
func policyFromProto(p *qav1.Policy) sampler.Policy {
	def := sampler.DefaultPolicy()
	orDefault := func(v, d []string) []string {
		if len(v) == 0 {
			return d
		}
		return v
	}
	out := sampler.Policy{
		RandomPerAgent:         int(p.GetRandomPerAgent()),
		TargetedPerAgent:       int(p.GetTargetedPerAgent()),
		NewHireDays:            int(p.GetNewHireDays()),
		NewHireExtra:           int(p.GetNewHireExtra()),
		Rules:                  p.GetRules(),
		TimeZone:               cmp.Or(p.GetTimeZone(), def.TimeZone),
		HandleTimePercentile:   cmp.Or(p.GetHandleTimePercentile(), def.HandleTimePercentile),
		ComplaintTags:          orDefault(p.GetComplaintTags(), def.ComplaintTags),
		EscalationTags:         orDefault(p.GetEscalationTags(), def.EscalationTags),
		EscalationMinTransfers: def.EscalationMinTransfers,
		VIPTiers:               orDefault(p.GetVipTiers(), def.VIPTiers),
		LowCSATMax:             def.LowCSATMax,
	}
	if p.EscalationMinTransfers != nil {
		out.EscalationMinTransfers = int(p.GetEscalationMinTransfers())
	}
	if p.LowCsatMax != nil {
		out.LowCSATMax = int(p.GetLowCsatMax())
	}
	if c := p.GetCheckDisagreement(); c != nil {
		out.CheckDisagreement = &sampler.CheckDisagreement{Weeks: int(c.GetWeeks())}
	}
	if a := p.GetAdaptive(); a != nil {
		out.Adaptive = &sampler.Adaptive{MaxExtra: int(a.GetMaxExtra()), PassScore: a.GetPassScore(), Weeks: int(a.GetWeeks()),
			InspectorCapacity: int(a.GetInspectorCapacity())}
	}
	for _, nr := range p.GetNamedRules() {
		rule := sampler.NamedRule{Name: nr.GetName()}
		for _, c := range nr.GetWhen() {
			rule.When = append(rule.When, sampler.Condition{
				Field: c.GetField(), Key: c.GetKey(), Op: c.GetOp(), Value: c.GetValue(), Values: c.GetValues(),
			})
		}
		out.NamedRules = append(out.NamedRules, rule)
	}
	return out
}

func policyToProto(p sampler.Policy, pv store.PolicyVersion) *qav1.Policy {
	out := &qav1.Policy{
		Version:                p.Version,
		RandomPerAgent:         int32(p.RandomPerAgent),
		TargetedPerAgent:       int32(p.TargetedPerAgent),
		NewHireDays:            int32(p.NewHireDays),
		NewHireExtra:           int32(p.NewHireExtra),
		Rules:                  p.Rules,
		TimeZone:               p.TimeZone,
		HandleTimePercentile:   p.HandleTimePercentile,
		CreatedBy:              pv.CreatedBy,
		ComplaintTags:          p.ComplaintTags,
		EscalationTags:         p.EscalationTags,
		EscalationMinTransfers: proto.Int32(int32(p.EscalationMinTransfers)),
		VipTiers:               p.VIPTiers,
		LowCsatMax:             proto.Int32(int32(p.LowCSATMax)),
	}
	if c := p.CheckDisagreement; c != nil {
		out.CheckDisagreement = &qav1.CheckDisagreement{Weeks: int32(c.Weeks)}
	}
	if a := p.Adaptive; a != nil {
		out.Adaptive = &qav1.AdaptiveQuota{MaxExtra: int32(a.MaxExtra), PassScore: a.PassScore, Weeks: int32(a.Weeks),
			InspectorCapacity: int32(a.InspectorCapacity)}
	}
	for _, nr := range p.NamedRules {
		rule := &qav1.NamedRule{Name: nr.Name}
		for _, c := range nr.When {
			rule.When = append(rule.When, &qav1.Condition{Field: c.Field, Key: c.Key, Op: c.Op, Value: c.Value, Values: c.Values})
		}
		out.NamedRules = append(out.NamedRules, rule)
	}
	if !pv.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(pv.CreatedAt)
	}
	return out
}

func (s *samplingService) GetPolicy(ctx context.Context, req *qav1.GetPolicyRequest) (*qav1.GetPolicyResponse, error) {
	var pv store.PolicyVersion
	var err error
	if req.GetVersion() == 0 {
		pv, err = s.job.LatestPolicy(ctx) // stores the default on first use
	} else {
		pv, err = s.store.GetPolicy(ctx, req.GetVersion())
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "policy version %d not found", req.GetVersion())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	p, err := decodePolicy(pv)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetPolicyResponse{Policy: policyToProto(p, pv)}, nil
}

// ValidatePolicy answers as UpdatePolicy would, without storing: every
// problem as INVALID_ARGUMENT with a BadRequest, like ValidateRubric.
func (s *samplingService) ValidatePolicy(_ context.Context, req *qav1.ValidatePolicyRequest) (*qav1.ValidatePolicyResponse, error) {
	if _, err := validPolicy(req.GetPolicy()); err != nil {
		return nil, err
	}
	return &qav1.ValidatePolicyResponse{}, nil
}

// validPolicy converts and validates the request's policy.
func validPolicy(pp *qav1.Policy) (sampler.Policy, error) {
	if pp == nil {
		return sampler.Policy{}, badField("policy", "required")
	}
	p := policyFromProto(pp)
	if err := p.Validate(); err != nil {
		return sampler.Policy{}, invalid("policy", err)
	}
	// A check: rule names a check of package checks: a misspelt one would
	// validate and never match.
	for i, r := range p.Rules {
		if key, ok := strings.CutPrefix(r, sampler.CheckRulePrefix); ok {
			if _, known := checks.Bit(key); !known {
				return sampler.Policy{}, badField(fmt.Sprintf("policy.rules[%d]", i), "unknown check %s; checks are %s",
					fielderr.Quote(key), strings.Join(checks.Keys, ", "))
			}
		}
	}
	return p, nil
}

func (s *samplingService) UpdatePolicy(ctx context.Context, req *qav1.UpdatePolicyRequest) (*qav1.UpdatePolicyResponse, error) {
	p, err := validPolicy(req.GetPolicy())
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	pv, err := s.store.AddPolicyVersion(ctx, doc, who.Subject)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	p.Version = pv.Version
	return &qav1.UpdatePolicyResponse{Policy: policyToProto(p, pv)}, nil
}

// checkWeek records a violation of field when s is set and not an ISO week.
func checkWeek(l *fielderr.List, field, s string) {
	if s == "" {
		return
	}
	if _, err := isoweek.Parse(s); err != nil {
		l.AddError(field, err)
	}
}

func parseWeek(s string) (isoweek.Week, error) {
	w, err := isoweek.Parse(s)
	if err != nil {
		return w, invalid("week", err)
	}
	return w, nil
}

func runToProto(r store.Run) *qav1.Run {
	out := &qav1.Run{
		Id: r.ID, Week: r.Week, PolicyVersion: r.PolicyVersion, Seed: hex.EncodeToString(r.Seed),
		SeedCommitment: SeedCommitment(r.Seed),
		Trigger:        r.Trigger, CreatedAt: timestamppb.New(r.CreatedAt), Picks: int32(r.Picks), Shortfalls: int32(r.Shortfalls),
	}
	if !r.CompletedAt.IsZero() {
		out.CompletedAt = timestamppb.New(r.CompletedAt)
	}
	out.Disagreement = disagreementToProto(r.Disagreement)
	return out
}

// disagreementToProto converts a run's rule order; nil stays nil.
func disagreementToProto(d *store.RunDisagreement) *qav1.DisagreementOrder {
	if d == nil {
		return nil
	}
	out := &qav1.DisagreementOrder{
		Rules: d.Rules, FromWeek: d.FromWeek, ToWeek: d.ToWeek, ReviewsBefore: timestamppb.New(d.ReviewsBefore),
		CheckSetVersion: d.CheckSetVersion, Reviews: int32(d.Reviews),
	}
	for _, w := range d.Weights {
		out.Weights = append(out.Weights, &qav1.CheckWeight{Check: w.Check, Dimension: w.Dimension, Tp: w.TP, Fp: w.FP, Weight: w.Weight})
	}
	return out
}

func pickToProto(p store.Pick) *qav1.Pick {
	return &qav1.Pick{
		Id: p.ID, RunId: p.RunID, ExternalId: p.ExternalID, AgentId: p.AgentID, Reason: p.Reason, Rank: int32(p.Rank),
		Key: sampler.KeyHex(p.Key), InspectorId: p.InspectorID, Status: string(p.Status),
		SkipReason: p.SkipReason, ReplacesId: p.ReplacesID,
	}
}

func (s *samplingService) RunWeek(ctx context.Context, req *qav1.RunWeekRequest) (*qav1.RunWeekResponse, error) {
	week, err := parseWeek(req.GetWeek())
	if err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	if req.GetTopUp() {
		return s.topUpWeek(ctx, week, "manual:"+who.Subject)
	}
	run, created, err := s.job.RunWeek(ctx, week, "manual:"+who.Subject)
	if notEnded := (*WeekNotEndedError)(nil); errors.As(err, &notEnded) {
		return nil, status.Error(codes.FailedPrecondition, notEnded.Error())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out, err := s.runWithTopUps(ctx, run)
	if err != nil {
		return nil, err
	}
	return &qav1.RunWeekResponse{Run: out, Created: created}, nil
}

func (s *samplingService) PreviewWeek(ctx context.Context, req *qav1.PreviewWeekRequest) (*qav1.PreviewWeekResponse, error) {
	week, err := parseWeek(req.GetWeek())
	if err != nil {
		return nil, err
	}
	policy, err := s.job.Policy(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	// The week's seed, which its run uses: the preview shows the run's
	// picks and only the seed's commitment. A week whose run under this
	// policy is unfinished is recomputed as its run will be, not counting
	// the run's own picks as picked before.
	seed, err := s.job.WeekSeed(ctx, week)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	var excludeRun int64
	runs, err := s.store.ListRuns(ctx, week.String())
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	// The rule order: as a run made now would compute it, or the
	// unfinished run's own (check_disagreement.go).
	var unfinished *store.Run
	for _, r := range runs {
		if r.PolicyVersion != policy.Version {
			continue
		}
		// Run already: what running it now does is a top-up.
		if !r.CompletedAt.IsZero() {
			return s.previewTopUp(ctx, r)
		}
		excludeRun, seed, unfinished = r.ID, r.Seed, &r
	}
	var order *store.RunDisagreement
	if unfinished != nil {
		order, err = s.job.runOrder(ctx, *unfinished, policy)
	} else {
		order, err = s.job.disagreementOrder(ctx, week, policy, s.job.Now())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	if order != nil {
		policy.Rules = order.Rules
	}
	res, _, err := s.job.Compute(ctx, week, policy, seed, 0, excludeRun)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.PreviewWeekResponse{Week: week.String(), PolicyVersion: policy.Version, SeedCommitment: SeedCommitment(seed),
		Disagreement: disagreementToProto(order)}
	addPreviewPicks(out, res)
	return out, nameAgents(ctx, s.store, s.log, out.Picks)
}

// addPreviewPicks adds res's picks and shortfalls to a preview.
func addPreviewPicks(out *qav1.PreviewWeekResponse, res *sampler.Result) {
	for _, p := range res.Picks {
		out.Picks = append(out.Picks, &qav1.Pick{RunId: out.GetTopUpOfRun(), ExternalId: p.ExternalID, AgentId: p.AgentID, Reason: p.Reason,
			Rank: int32(p.Rank), Key: sampler.KeyHex(p.Key)})
	}
	for _, sf := range res.Shortfalls {
		out.Shortfalls = append(out.Shortfalls, &qav1.Shortfall{AgentId: sf.AgentID, Wanted: int32(sf.Wanted), Got: int32(sf.Got)})
	}
}

func (s *samplingService) GetRun(ctx context.Context, req *qav1.GetRunRequest) (*qav1.GetRunResponse, error) {
	run, err := s.store.GetRun(ctx, req.GetId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "run %d not found", req.GetId())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out, err := s.runWithTopUps(ctx, run)
	if err != nil {
		return nil, err
	}
	return &qav1.GetRunResponse{Run: out}, nil
}

func (s *samplingService) ListRuns(ctx context.Context, req *qav1.ListRunsRequest) (*qav1.ListRunsResponse, error) {
	var l fielderr.List
	checkWeek(&l, "week", req.GetWeek())
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	runs, err := s.store.ListRuns(ctx, req.GetWeek())
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListRunsResponse{}
	runs, out.NextPageToken = pageOf(pg, runs, func(r store.Run) int64 { return r.ID }, true)
	for _, r := range runs {
		run, err := s.runWithTopUps(ctx, r)
		if err != nil {
			return nil, err
		}
		out.Runs = append(out.Runs, run)
	}
	return out, nil
}

func (s *samplingService) ListPicks(ctx context.Context, req *qav1.ListPicksRequest) (*qav1.ListPicksResponse, error) {
	var l fielderr.List
	pg := idPage(&l, req.GetPageSize(), req.GetPageToken(), 0)
	checkWeek(&l, "week", req.GetWeek())
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	picks, err := s.store.ListPicks(ctx, store.PickFilter{
		RunID: req.GetRunId(), Week: req.GetWeek(), AgentID: req.GetAgentId(), Reason: req.GetReason(),
		InspectorID: req.GetInspectorId(), Status: store.PickStatus(req.GetStatus()), AfterID: pg.after, Limit: pg.fetch(),
	})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.ListPicksResponse{}
	picks, out.NextPageToken = cut(pg, picks, func(p store.Pick) int64 { return p.ID })
	for _, p := range picks {
		out.Picks = append(out.Picks, pickToProto(p))
	}
	return out, nameAgents(ctx, s.store, s.log, out.Picks)
}

func inspectorToProto(in store.Inspector) *qav1.Inspector {
	active := in.Active
	return &qav1.Inspector{Id: in.ID, Name: in.Name, Active: &active}
}

func (s *samplingService) UpsertInspector(ctx context.Context, req *qav1.UpsertInspectorRequest) (*qav1.UpsertInspectorResponse, error) {
	in := req.GetInspector()
	var l fielderr.List
	l.ID("inspector.id", in.GetId(), true)
	l.Name("inspector.name", in.GetName(), false)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	rec := store.Inspector{ID: in.GetId(), Name: in.GetName(), Active: in.Active == nil || in.GetActive()}
	who, _ := PrincipalFrom(ctx)
	if _, err := s.store.UpsertInspector(ctx, rec, who.Subject); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	out := &qav1.UpsertInspectorResponse{Inspector: inspectorToProto(rec)}
	if !rec.Active {
		moved, err := returnOpenItems(ctx, s.store, s.log, rec.ID, who.Subject)
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		for _, p := range moved {
			out.ReturnedItems = append(out.ReturnedItems, pickToProto(p))
		}
	}
	return out, nil
}

func (s *samplingService) ListInspectors(ctx context.Context, req *qav1.ListInspectorsRequest) (*qav1.ListInspectorsResponse, error) {
	var l fielderr.List
	pg := keyPage(&l, req.GetPageSize(), req.GetPageToken())
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	ins, err := s.store.ListInspectors(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	open, pool, err := s.store.Workload(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	// Byte order, as pageOf compares: a database collation may differ.
	slices.SortFunc(ins, func(a, b store.Inspector) int { return strings.Compare(a.ID, b.ID) })
	out := &qav1.ListInspectorsResponse{PoolItems: int32(pool)}
	ins, out.NextPageToken = pageOf(pg, ins, func(in store.Inspector) string { return in.ID }, false)
	for _, in := range ins {
		p := inspectorToProto(in)
		items := open[in.ID]
		p.AssignedItems, p.DisputedItems = int32(items.Assigned), int32(items.Disputed)
		p.OpenItems = p.AssignedItems + p.DisputedItems
		out.Inspectors = append(out.Inspectors, p)
	}
	return out, nil
}
