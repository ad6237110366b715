package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/checks"
	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// checkRefresh is how long ingest trusts the check set it compiled before
// asking the store for a newer version (another replica, or an admin's
// update through another process, may have stored one).
const checkRefresh = 10 * time.Second

// checkBook holds the compiled newest check set for ingest.
type checkBook struct {
	store store.CheckSetStore
	now   func() time.Time

	mu      sync.Mutex
	checker *checks.Checker
	loaded  time.Time
}

// latest returns the newest stored version, storing the default as
// version 1 on first use so that every stored hit names a stored version.
func (b *checkBook) latest(ctx context.Context) (store.CheckSetVersion, error) {
	v, err := b.store.LatestCheckSet(ctx)
	if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	doc, err := json.Marshal(checks.Default())
	if err != nil {
		return store.CheckSetVersion{}, err
	}
	return b.store.AddCheckSetVersion(ctx, doc, "default")
}

// current returns the checker of the newest version, compiled once per
// version and re-read at most every checkRefresh.
func (b *checkBook) current(ctx context.Context) (*checks.Checker, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.checker != nil && b.now().Sub(b.loaded) < checkRefresh {
		return b.checker, nil
	}
	v, err := b.latest(ctx)
	if err != nil {
		return nil, err
	}
	if b.checker == nil || b.checker.Set().Version != v.Version {
		set, err := decodeCheckSet(v)
		if err != nil {
			return nil, err
		}
		c, err := checks.Compile(set)
		if err != nil {
			return nil, fmt.Errorf("check set version %d: %w", v.Version, err)
		}
		b.checker = c
	}
	b.loaded = b.now()
	return b.checker, nil
}

// use makes c current at once: the process that stored a version checks
// the next push with it.
func (b *checkBook) use(c *checks.Checker) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.checker, b.loaded = c, b.now()
}

func decodeCheckSet(v store.CheckSetVersion) (checks.Set, error) {
	var s checks.Set
	if err := json.Unmarshal(v.Document, &s); err != nil {
		return checks.Set{}, fmt.Errorf("check set version %d: %w", v.Version, err)
	}
	s.Version = v.Version
	return s, nil
}

type checkService struct {
	qav1.UnimplementedCheckServiceServer
	book    *checkBook
	store   store.CheckSetStore
	rubrics *rubricBook
	log     *slog.Logger
}

func (s *checkService) GetCheckSet(ctx context.Context, req *qav1.GetCheckSetRequest) (*qav1.GetCheckSetResponse, error) {
	if req.GetVersion() < 0 {
		return nil, badField("version", "must not be negative, got %d", req.GetVersion())
	}
	var v store.CheckSetVersion
	var err error
	if req.GetVersion() == 0 {
		v, err = s.book.latest(ctx)
	} else {
		v, err = s.store.GetCheckSet(ctx, req.GetVersion())
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "check set version %d not found", req.GetVersion())
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	set, err := decodeCheckSet(v)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetCheckSetResponse{CheckSet: checkSetToProto(set, v)}, nil
}

func (s *checkService) ValidateCheckSet(ctx context.Context, req *qav1.ValidateCheckSetRequest) (*qav1.ValidateCheckSetResponse, error) {
	if _, err := s.validCheckSet(ctx, req.GetCheckSet()); err != nil {
		return nil, err
	}
	return &qav1.ValidateCheckSetResponse{}, nil
}

func (s *checkService) UpdateCheckSet(ctx context.Context, req *qav1.UpdateCheckSetRequest) (*qav1.UpdateCheckSetResponse, error) {
	set, err := s.validCheckSet(ctx, req.GetCheckSet())
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	who, _ := PrincipalFrom(ctx)
	v, err := s.store.AddCheckSetVersion(ctx, doc, who.Subject)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	set.Version = v.Version
	if c, err := checks.Compile(set); err == nil {
		s.book.use(c)
	}
	return &qav1.UpdateCheckSetResponse{CheckSet: checkSetToProto(set, v)}, nil
}

// validCheckSet converts and validates the request's set, its checks'
// dimensions against the active rubric; the version is the store's to
// assign, so one sent is ignored.
func (cs *checkService) validCheckSet(ctx context.Context, p *qav1.CheckSet) (checks.Set, error) {
	if p == nil {
		return checks.Set{}, badField("check_set", "required")
	}
	s := checkSetFromProto(p)
	rubric, _, err := cs.rubrics.active(ctx)
	if err != nil {
		return checks.Set{}, storeError(ctx, cs.log, err)
	}
	keys := make([]string, len(rubric.Dimensions))
	for i, d := range rubric.Dimensions {
		keys[i] = d.Key
	}
	// Every problem at once: a dimension the rubric lacks beside a bad
	// phrase, not one after the other is fixed.
	var errs fielderr.List
	errs.AddError("check_set", s.Validate())
	errs.AddError("check_set", s.ValidateDimensions(keys))
	if err := invalidList(&errs); err != nil {
		return checks.Set{}, err
	}
	return s, nil
}

func checkSetFromProto(p *qav1.CheckSet) checks.Set {
	s := checks.Set{
		GreetingPhrases: p.GetGreetingPhrases(), ClosingPhrases: p.GetClosingPhrases(),
		ForbiddenPhrases: p.GetForbiddenPhrases(), AllowedPhrases: p.GetAllowedPhrases(),
		EmpathyPhrases: p.GetEmpathyPhrases(), ComplaintTags: p.GetComplaintTags(), Disabled: p.GetDisabled(),
		Dimensions: p.GetDimensions(),
	}
	for _, c := range p.GetSla() {
		s.SLA = append(s.SLA, checks.ChannelSLA{Channel: c.GetChannel(), FirstResponseSeconds: c.GetFirstResponseSeconds(), ReplySeconds: c.GetReplySeconds()})
	}
	return s
}

func checkSetToProto(s checks.Set, v store.CheckSetVersion) *qav1.CheckSet {
	out := &qav1.CheckSet{
		Version: v.Version, GreetingPhrases: s.GreetingPhrases, ClosingPhrases: s.ClosingPhrases,
		ForbiddenPhrases: s.ForbiddenPhrases, AllowedPhrases: s.AllowedPhrases, EmpathyPhrases: s.EmpathyPhrases,
		ComplaintTags: s.ComplaintTags, Disabled: s.Disabled, CreatedBy: v.CreatedBy,
		Dimensions: make(map[string]string, len(checks.Keys)),
	}
	// Every check's dimension, the defaults included, so that a set read
	// shows what the agreement report compares.
	for _, k := range checks.Keys {
		out.Dimensions[k] = s.Dimension(k)
	}
	for _, c := range s.SLA {
		out.Sla = append(out.Sla, &qav1.ChannelSla{Channel: c.Channel, FirstResponseSeconds: c.FirstResponseSeconds, ReplySeconds: c.ReplySeconds})
	}
	if !v.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(v.CreatedAt)
	}
	return out
}

// hintsToProto lists a transcript's check hits for the inspector.
func hintsToProto(c *transcript.Checks) []*qav1.CheckHit {
	if len(c.Hits) == 0 {
		return nil
	}
	out := make([]*qav1.CheckHit, len(c.Hits))
	for i, h := range c.Hits {
		out[i] = &qav1.CheckHit{
			Check: h.Check, MessageIndex: int32(h.Message), Matched: h.Matched, Phrase: h.Phrase,
			WaitMs: h.WaitMS, LimitMs: h.LimitMS, CheckSetVersion: c.Version,
		}
	}
	return out
}
