package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/checks"
	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/redact"
	"qa-sampling/store"
	"qa-sampling/transcript"
)

// IngestOptions configure how transcripts are accepted.
type IngestOptions struct {
	Limits transcript.Limits
	// AutoCreateAgents creates unknown agents on first sight instead of
	// rejecting their transcripts. Off by default: an unknown agent id is
	// usually a typo or a directory sync that has not run, and an invented
	// agent would have no team or supervisor to send feedback to.
	AutoCreateAgents bool
	// MaxBatch caps how many transcripts one write transaction holds.
	MaxBatch int
	// MaxAgentsPerRequest caps one UpsertAgents call.
	MaxAgentsPerRequest int
	// PrepareWorkers is how many goroutines per stream validate, hash and
	// compress while the store writes.
	PrepareWorkers int
	// Checks runs the automatic checks (package checks) on every pushed
	// transcript and stores their hits with it. On by default; off only
	// to measure what they cost.
	Checks bool
	// Redact is the kinds of personal data replaced before anything is
	// stored (package redact); all by default.
	Redact redact.Set
}

// DefaultIngestOptions are the defaults of `qad serve`.
func DefaultIngestOptions() IngestOptions {
	return IngestOptions{Limits: transcript.DefaultLimits(), MaxBatch: 512, MaxAgentsPerRequest: 10000, PrepareWorkers: runtime.GOMAXPROCS(0), Checks: true, Redact: redact.All}
}

// ingestStore is what ingest writes: agents and transcripts.
type ingestStore interface {
	store.AgentStore
	store.TranscriptStore
	store.PseudonymKeyStore
}

type ingestService struct {
	qav1.UnimplementedIngestServiceServer
	store   ingestStore
	codec   *transcript.Codec
	dicts   *dictionaryTrainer
	checks  *checkBook
	opts    IngestOptions
	log     *slog.Logger
	metrics *ingestMetrics
	// known caches agent ids seen to exist. Agents are never deleted, so a
	// positive cache cannot go stale; misses are asked of the store.
	known sync.Map
	// pseudonyms keys the pseudonyms of identifier fields (redaction.go).
	pseudonyms pseudonymKey
	// now is the clock pushed times are judged against.
	now func() time.Time
}

type ingestMetrics struct {
	items     *prometheus.CounterVec
	batchSize prometheus.Histogram
	commit    prometheus.Histogram
	// redactions count replaced personal data by kind (redaction.go).
	redactions *redactionCounters
}

func newIngestMetrics(reg prometheus.Registerer) *ingestMetrics {
	m := &ingestMetrics{
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qa_ingest_items_total",
			Help: "Pushed items by kind (agent, transcript) and outcome.",
		}, []string{"kind", "status"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qa_ingest_batch_transcripts",
			Help:    "Transcripts written per store transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "qa_ingest_commit_seconds",
			Help:    "Time to write one batch of transcripts.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	reg.MustRegister(m.items, m.batchSize, m.commit)
	m.redactions = newRedactionCounters(reg)
	return m
}

func (m *ingestMetrics) count(kind string, results []*qav1.ItemResult) {
	for _, r := range results {
		m.items.WithLabelValues(kind, statusLabel(r.GetStatus())).Inc()
	}
}

func statusLabel(s qav1.ItemStatus) string {
	switch s {
	case qav1.ItemStatus_ITEM_STATUS_ACCEPTED:
		return "accepted"
	case qav1.ItemStatus_ITEM_STATUS_UPDATED:
		return "updated"
	case qav1.ItemStatus_ITEM_STATUS_UNCHANGED:
		return "unchanged"
	case qav1.ItemStatus_ITEM_STATUS_REJECTED:
		return "rejected"
	case qav1.ItemStatus_ITEM_STATUS_KEPT_SAMPLED:
		return "kept_sampled"
	}
	return "unknown"
}

// pendingItem is one pushed transcript on its way to the store: either
// prepared or already rejected.
type pendingItem struct {
	index    int64
	id       string
	prepared *transcript.Prepared
	reject   *fielderr.Error
}

// prepareItem validates, redacts (pseudonyms under key) and prepares one
// transcript and runs checker on it (nil: checks off).
func (s *ingestService) prepareItem(index int64, pt *qav1.Transcript, key *redact.Key, checker *checks.Checker) pendingItem {
	item := pendingItem{index: index, id: pt.GetExternalId()}
	now := s.now()
	t, fe := transcriptFromProto(pt, now)
	if fe == nil {
		fe = transcript.Validate(&t, s.opts.Limits, now)
	}
	if fe != nil {
		item.reject = fe
		return item
	}
	s.redact(&t, key)
	item.prepared = s.codec.Prepare(t)
	if checker != nil {
		item.prepared.Checks = checker.Run(&item.prepared.Transcript)
	}
	return item
}

// rejected is the result of a rejected item: its first violation, as an
// item result has room for one.
func rejected(index int64, id string, fe *fielderr.Error) *qav1.ItemResult {
	v := fe.First()
	return &qav1.ItemResult{Index: index, Id: id, Status: qav1.ItemStatus_ITEM_STATUS_REJECTED, Field: v.Field, Reason: v.Reason}
}

// unknownAgents returns which of ids are not known agents. With
// AutoCreateAgents it creates them instead and returns none.
func (s *ingestService) unknownAgents(ctx context.Context, ids []string) (map[string]bool, error) {
	var missing []string
	seen := make(map[string]bool)
	for _, id := range ids {
		if _, ok := s.known.Load(id); !ok && !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if s.opts.AutoCreateAgents {
		if err := s.store.EnsureAgents(ctx, missing); err != nil {
			return nil, err
		}
		for _, id := range missing {
			s.known.Store(id, struct{}{})
		}
		return nil, nil
	}
	existing, err := s.store.ExistingAgents(ctx, missing)
	if err != nil {
		return nil, err
	}
	unknown := make(map[string]bool)
	for _, id := range missing {
		if existing[id] {
			s.known.Store(id, struct{}{})
		} else {
			unknown[id] = true
		}
	}
	return unknown, nil
}

// unknownAgentError names the first field that refers to an unknown agent.
func unknownAgentError(p *transcript.Prepared, unknown map[string]bool) *fielderr.Error {
	hint := "; sync the agent directory first (UpsertAgents) or run the server with --auto-create-agents"
	if unknown[p.AgentID] {
		return fielderr.New("agent_id", "unknown agent %s%s", fielderr.Quote(p.AgentID), hint)
	}
	for i, m := range p.Messages {
		if m.Role == transcript.RoleAgent && unknown[m.AgentID] {
			return fielderr.New(fmt.Sprintf("messages[%d].agent_id", i), "unknown agent %s%s", fielderr.Quote(m.AgentID), hint)
		}
	}
	return nil
}

// writeBatch stores the prepared items of batch and returns one result per
// item, in order. Results are returned only after the write committed.
func (s *ingestService) writeBatch(ctx context.Context, batch []pendingItem) ([]*qav1.ItemResult, error) {
	results := make([]*qav1.ItemResult, len(batch))
	var agentIDs []string
	for _, it := range batch {
		if it.prepared != nil {
			// The owner is referenced even when they wrote nothing, and so
			// not among the authors.
			agentIDs = append(agentIDs, it.prepared.AgentID)
			agentIDs = append(agentIDs, it.prepared.AgentIDs...)
		}
	}
	unknown, err := s.unknownAgents(ctx, agentIDs)
	if err != nil {
		return nil, err
	}

	// A segment holds distinct external ids, as the store requires; a
	// repeated id within one batch starts a new segment, so the later push
	// is applied after the earlier one, as sent.
	var segment []*transcript.Prepared
	var segmentPos []int
	inSegment := make(map[string]bool)
	flush := func() error {
		if len(segment) == 0 {
			return nil
		}
		start := time.Now()
		outcomes, err := s.store.UpsertTranscripts(ctx, segment)
		if err != nil {
			return err
		}
		s.metrics.commit.Observe(time.Since(start).Seconds())
		s.metrics.batchSize.Observe(float64(len(segment)))
		created := 0
		for j, pos := range segmentPos {
			results[pos] = &qav1.ItemResult{Index: batch[pos].index, Id: batch[pos].id, Status: outcomeStatus(outcomes[j])}
			if outcomes[j] == store.Created {
				created++
			}
		}
		s.dicts.noteStored(created)
		segment, segmentPos = segment[:0], segmentPos[:0]
		clear(inSegment)
		return nil
	}
	for pos, it := range batch {
		if it.reject == nil {
			it.reject = unknownAgentError(it.prepared, unknown)
		}
		if it.reject != nil {
			results[pos] = rejected(it.index, it.id, it.reject)
			continue
		}
		if inSegment[it.id] {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		inSegment[it.id] = true
		segment = append(segment, it.prepared)
		segmentPos = append(segmentPos, pos)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	s.metrics.count("transcript", results)
	return results, nil
}

// preparedRequest is one received request's items, prepared by a worker.
// ready is closed when items is filled; the writer waits on it in arrival
// order, so parallel preparation never reorders the stream.
type preparedRequest struct {
	items []pendingItem
	ready chan struct{}
}

// PushTranscripts overlaps three stages: one goroutine receives requests,
// a pool of workers validates and prepares them (the CPU-heavy part:
// hashing and compression), and this goroutine writes batches to the
// store in arrival order. A batch is whatever is prepared by the time the
// previous write finished (up to MaxBatch), so commits group naturally
// under load and a lone item is not held back waiting for company.
// Results are sent only after the batch committed.
func (s *ingestService) PushTranscripts(stream qav1.IngestService_PushTranscriptsServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	ordered := make(chan *preparedRequest, 4*s.opts.PrepareWorkers+16)
	work := make(chan preparedWork, 4*s.opts.PrepareWorkers)
	recvErr := make(chan error, 1)

	var workers sync.WaitGroup
	for range s.opts.PrepareWorkers {
		workers.Go(func() {
			for w := range work {
				for i, pt := range w.transcripts {
					if fe := w.malformed[i]; fe != nil {
						w.req.items[i] = pendingItem{index: w.first + int64(i), id: pt.GetExternalId(), reject: fe}
						continue
					}
					w.req.items[i] = s.prepareItem(w.first+int64(i), pt, w.key, w.checker)
				}
				close(w.req.ready)
			}
		})
	}
	go func() {
		defer close(ordered)
		defer func() { close(work); workers.Wait() }()
		var next, received int64
		for {
			in := new(qav1.PushTranscriptsRequest)
			err := stream.RecvMsg(in)
			// The guard (request_guard.go) decodes a batch item by item
			// when it does not decode whole: bad items are rejected alone.
			var malformed malformedItems
			if errors.As(err, &malformed) {
				err = nil
			}
			var refused *refusedRequest
			if errors.As(err, &refused) {
				// Everything received before is still written and
				// acknowledged; the stream then ends with this error.
				err = refused.inStreamRequest(received, next)
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					recvErr <- err
				}
				return
			}
			received++
			ts := in.GetTranscripts()
			if len(ts) == 0 {
				continue
			}
			checker, err := s.checker(ctx)
			if err != nil {
				recvErr <- storeError(ctx, s.log, err)
				return
			}
			key, err := s.redactor(ctx)
			if err != nil {
				recvErr <- storeError(ctx, s.log, err)
				return
			}
			req := &preparedRequest{items: make([]pendingItem, len(ts)), ready: make(chan struct{})}
			select {
			case ordered <- req:
			case <-ctx.Done():
				return
			}
			select {
			case work <- preparedWork{req: req, transcripts: ts, first: next, malformed: malformed, key: key, checker: checker}:
			case <-ctx.Done():
				return
			}
			next += int64(len(ts))
		}
	}()

	batch := make([]pendingItem, 0, s.opts.MaxBatch)
	var order arrivalOrder // a backfill out of time order writes larger batches (arrival_order.go)
	for req := range ordered {
		batch = batch[:0]
		for req != nil {
			select {
			case <-req.ready:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch = append(batch, req.items...)
			order.note(req.items)
			req = nil
			if len(batch) >= order.batchLimit(s.opts.MaxBatch) {
				break
			}
			select { // take more only if it is already waiting
			case more, ok := <-ordered:
				if ok {
					req = more
				}
			default:
			}
		}
		results, err := s.writeBatch(ctx, batch)
		if err != nil {
			return storeError(ctx, s.log, err)
		}
		if err := stream.Send(&qav1.PushTranscriptsResponse{Results: results}); err != nil {
			return err
		}
	}
	select {
	case err := <-recvErr:
		return err
	default:
		return nil
	}
}

type preparedWork struct {
	req         *preparedRequest
	transcripts []*qav1.Transcript
	first       int64
	// malformed are the transcripts that did not decode, by index.
	malformed malformedItems
	// key keys pseudonyms; nil when redaction is off.
	key *redact.Key
	// checker runs the automatic checks; nil when they are off.
	checker *checks.Checker
}

// checker returns the checks to run on pushed transcripts, or nil when
// they are off.
func (s *ingestService) checker(ctx context.Context) (*checks.Checker, error) {
	if !s.opts.Checks || s.checks == nil {
		return nil, nil
	}
	return s.checks.current(ctx)
}

// PushTranscript stores one transcript and answers its outcome.
func (s *ingestService) PushTranscript(ctx context.Context, req *qav1.PushTranscriptRequest) (*qav1.PushTranscriptResponse, error) {
	if req.GetTranscript() == nil {
		return nil, badField("transcript", "required")
	}
	checker, err := s.checker(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	key, err := s.redactor(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	results, err := s.writeBatch(ctx, []pendingItem{s.prepareItem(0, req.GetTranscript(), key, checker)})
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	r := results[0]
	if r.GetStatus() == qav1.ItemStatus_ITEM_STATUS_REJECTED {
		return nil, badField("transcript."+r.GetField(), "%s", r.GetReason())
	}
	// The outcome only: the ingest role never reads stored content back.
	return &qav1.PushTranscriptResponse{Status: r.GetStatus(), ExternalId: r.GetId()}, nil
}

// GetTranscript reads a transcript back.
func (s *ingestService) GetTranscript(ctx context.Context, req *qav1.GetTranscriptRequest) (*qav1.GetTranscriptResponse, error) {
	if req.GetExternalId() == "" {
		return nil, badField("external_id", "required")
	}
	st, err := s.store.GetTranscript(ctx, req.GetExternalId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "transcript %s not found", fielderr.Quote(req.GetExternalId()))
	}
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.GetTranscriptResponse{Transcript: transcriptToProto(&st), Hints: hintsToProto(&st.Checks)}, nil
}

// UpsertAgents validates each agent on its own and upserts the valid ones
// in one transaction.
func (s *ingestService) UpsertAgents(ctx context.Context, req *qav1.UpsertAgentsRequest) (*qav1.UpsertAgentsResponse, error) {
	if n := len(req.GetAgents()); n > s.opts.MaxAgentsPerRequest {
		return nil, badField("agents", "%d agents in one request; send at most %d per call", n, s.opts.MaxAgentsPerRequest)
	}
	results := make([]*qav1.ItemResult, len(req.GetAgents()))
	var valid []store.Agent
	var validPos []int
	firstAt := make(map[string]int)
	for i, pa := range req.GetAgents() {
		a := agentFromProto(pa)
		fe := transcript.ValidateAgent(transcript.AgentFields{
			AgentID: a.AgentID, Name: a.Name, TeamID: a.TeamID, SupervisorID: a.SupervisorID, HiredOn: a.HiredOn,
		}, s.opts.Limits)
		if fe == nil {
			if j, dup := firstAt[a.AgentID]; dup {
				fe = fielderr.New("agent_id", "%s repeats agents[%d] of this request", fielderr.Quote(a.AgentID), j)
			}
		}
		if fe != nil {
			results[i] = rejected(int64(i), a.AgentID, fe)
			continue
		}
		firstAt[a.AgentID] = i
		valid = append(valid, a)
		validPos = append(validPos, i)
	}
	if len(valid) > 0 {
		outcomes, err := s.store.UpsertAgents(ctx, valid)
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		for j, pos := range validPos {
			results[pos] = &qav1.ItemResult{Index: int64(pos), Id: valid[j].AgentID, Status: outcomeStatus(outcomes[j])}
			s.known.Store(valid[j].AgentID, struct{}{})
		}
	}
	s.metrics.count("agent", results)
	return &qav1.UpsertAgentsResponse{Results: results}, nil
}
