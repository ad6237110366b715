package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/report"
	"qa-sampling/transcript"
)

// Config is what the server needs beyond its store.
type Config struct {
	Ingest IngestOptions
	// TokenCacheTTL bounds how long a revoked token keeps working.
	TokenCacheTTL time.Duration
	// TLS, when set, serves TLS (set ClientAuth for mutual TLS).
	TLS *tls.Config
	// MaxRecvMsgBytes caps one request message of the bulk methods
	// (transcript and agent pushes).
	MaxRecvMsgBytes int
	// MaxRequestBytes caps one request message of every other method.
	MaxRequestBytes int
	// MaxStreamsPerConn bounds concurrent calls on one connection; more
	// wait for a free slot.
	MaxStreamsPerConn int
	// HealthInterval is how often store readiness is re-checked.
	HealthInterval time.Duration
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// Codec compresses transcript bodies; it must be the one the store
	// decodes with (sqlstore.Store.Codec). Nil means a new one.
	Codec *transcript.Codec
	// DictionarySamples is how many stored transcripts the body
	// compression dictionary is trained on, once that many exist; 0 never
	// trains one.
	DictionarySamples int
	// DisputeWindow is how long after finalising a review may be disputed.
	DisputeWindow time.Duration
	// FeedbackPoll is how often the server checks for feedback records
	// written by other replicas, for its open streams; 0 never does (one
	// process alone on the database learns of its own records at once).
	FeedbackPoll time.Duration
	// ReportMinReviews is the fewest reviews a report's mean may rest on
	// before it is marked too few.
	ReportMinReviews int
	// SessionIdle ends a console session unused this long; SessionMax
	// ends any session this long after sign-in.
	SessionIdle, SessionMax time.Duration
	// LoginLinkTTL is how long a one-time login link works.
	LoginLinkTTL time.Duration
	// Retention says how long chats are kept; off by default.
	Retention RetentionOptions
	// Pack says how often the finished weeks' sample blocks are packed
	// ahead of their first preview and run (packer.go); Every 0 is off.
	Pack PackOptions
	// CheckRerunLease is how long a replica holds a check re-run without
	// committing a batch before another replica may take it over (0:
	// DefaultCheckRerunLease).
	CheckRerunLease time.Duration
	// PublicURL is the console's address as people's browsers reach it,
	// without a trailing slash; login links point under it.
	PublicURL string
}

// DefaultConfig is the configuration `qad serve` starts from.
func DefaultConfig() Config {
	return Config{
		Ingest:          DefaultIngestOptions(),
		TokenCacheTTL:   5 * time.Second,
		MaxRecvMsgBytes: 32 << 20,
		// Policies, rubrics and reviews are kilobytes; ids are bytes.
		MaxRequestBytes:   1 << 20,
		MaxStreamsPerConn: 100,
		HealthInterval:    5 * time.Second,
		Now:               time.Now,
		// The dictionary is a window of the most recent chats; waiting for
		// 500 avoids building it from the first few test pushes.
		DictionarySamples: 500,
		DisputeWindow:     14 * 24 * time.Hour,
		FeedbackPoll:      time.Second,
		ReportMinReviews:  report.DefaultMinReviews,
		SessionIdle:       12 * time.Hour,
		SessionMax:        7 * 24 * time.Hour,
		LoginLinkTTL:      24 * time.Hour,
		PublicURL:         "http://127.0.0.1:7390",
		Retention:         DefaultRetentionOptions(),
		Pack:              DefaultPackOptions(),
		CheckRerunLease:   DefaultCheckRerunLease,
	}
}

// Server is the gRPC server with its health and metrics.
type Server struct {
	grpc     *grpc.Server
	inproc   *inProcess
	gate     *authGate
	authn    *TokenAuthenticator
	access   *accessService
	guard    *requestGuard
	health   *health.Server
	store    Storage
	log      *slog.Logger
	registry *prometheus.Registry
	dicts    *dictionaryTrainer
	interval time.Duration
	// Sampling is the weekly job, for the schedule that cmd wires.
	Sampling *SamplingJob
	// retention removes expired chats in the background (retention.go).
	retention *retentionJob
	// packer packs the finished weeks' sample blocks (packer.go).
	packer   *packJob
	rubrics  *rubricBook
	feedback *feedbackHub
	reports  *reportService
	// reruns runs check re-runs in the background (check_report_service.go).
	reruns *checkRerunner
	// pollCtx ends the background work Serve starts; pollStop cancels it
	// and background waits for it.
	pollCtx    context.Context
	pollStop   context.CancelFunc
	background sync.WaitGroup
	// bgMu orders Serve's starting of background work before Shutdown's
	// wait for it; stopping refuses starts once Shutdown has begun.
	bgMu     sync.Mutex
	stopping bool
	poll     time.Duration

	stopOnce  sync.Once
	stopWatch chan struct{}
}

// services lists the health-checked service names.
var services = []string{"", qav1.IngestService_ServiceDesc.ServiceName,
	qav1.SamplingService_ServiceDesc.ServiceName, qav1.ReviewService_ServiceDesc.ServiceName,
	qav1.RubricService_ServiceDesc.ServiceName, qav1.FeedbackService_ServiceDesc.ServiceName,
	qav1.ReportService_ServiceDesc.ServiceName, qav1.AuditService_ServiceDesc.ServiceName,
	qav1.InfoService_ServiceDesc.ServiceName, qav1.AccessService_ServiceDesc.ServiceName,
	qav1.CheckService_ServiceDesc.ServiceName, qav1.CalibrationService_ServiceDesc.ServiceName,
	qav1.CheckReportService_ServiceDesc.ServiceName, qav1.InspectorReportService_ServiceDesc.ServiceName}

// New wires the services, interceptors, health and reflection.
func New(st Storage, cfg Config, log *slog.Logger) *Server {
	// Every line the server logs carries its call's request id and is
	// bounded in size (logging.go).
	log = slog.New(newLogHandler(log.Handler()))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	grpcMetrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(grpcMetrics)

	authn := &TokenAuthenticator{Store: st, Sessions: st, TTL: cfg.TokenCacheTTL, Now: cfg.Now,
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax, Log: log}
	gate := newAuthGate(authn, log, reg)
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
	}
	recoveryOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "panic", p)
		return status.Error(codes.Internal, "internal error")
	})

	inspectorsActive := activeInspectors{store: st, log: log}
	chain := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoveryOpt),
			requestIDUnary,
			logging.UnaryServerInterceptor(logger, logOpts...),
			grpcMetrics.UnaryServerInterceptor(),
			authorizeUnary,
			inspectorsActive.unary,
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoveryOpt),
			requestIDStream,
			logging.StreamServerInterceptor(logger, logOpts...),
			grpcMetrics.StreamServerInterceptor(),
			authorizeStream,
			inspectorsActive.stream,
		),
	}
	opts := append(transportOptions(cfg, gate.tap), chain...)
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	gs := grpc.NewServer(append(opts, grpc.ForceServerCodecV2(newRequestCodec()))...)
	// Every service registers through the guard, which decodes requests.
	guard := newRequestGuard(gs, cfg, log, reg)
	// The HTTP API's server (inprocess.go): the guard registers every
	// service on it as well.
	inproc := newInProcess(cfg, gate, chain)
	guard.inProcess = inproc.grpc

	codec := cfg.Codec
	if codec == nil {
		codec = transcript.NewCodec()
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	dicts := newDictionaryTrainer(st, codec, cfg.DictionarySamples, now, log)
	checkSets := &checkBook{store: st, now: now}
	qav1.RegisterIngestServiceServer(guard, &ingestService{
		store: st, codec: codec, dicts: dicts, checks: checkSets, opts: cfg.Ingest, log: log, metrics: newIngestMetrics(reg), now: now,
	})
	job := &SamplingJob{Store: st, Log: log, Now: now, metrics: newSamplingMetrics(reg)}
	qav1.RegisterSamplingServiceServer(guard, &samplingService{job: job, store: st, log: log})
	rubrics := &rubricBook{store: st}
	hub := newFeedbackHub()
	ops := newOpsMetrics(reg, st, now, log)
	qav1.RegisterReviewServiceServer(guard, &reviewService{job: job, store: st, rubrics: rubrics, feedback: hub, metrics: ops, log: log})
	qav1.RegisterRubricServiceServer(guard, &rubricService{rubrics: rubrics, store: st, log: log})
	qav1.RegisterFeedbackServiceServer(guard, &feedbackService{
		store: st, rubrics: rubrics, hub: hub, metrics: ops, disputeWindow: cfg.DisputeWindow, now: now, log: log,
		recheck: gate.recheck,
	})
	severityFits := newSeverityModel(st, rubrics, now, log)
	checkStats := &checkStats{store: st, book: checkSets, job: job, now: now}
	reports := &reportService{store: st, job: job, checks: checkStats, opts: report.Options{MinReviews: cfg.ReportMinReviews}, now: now, log: log, severity: severityFits}
	qav1.RegisterReportServiceServer(guard, reports)
	qav1.RegisterInspectorReportServiceServer(guard, &inspectorReportService{report: reports, severity: severityFits})
	reruns := &checkRerunner{store: st, book: checkSets, job: job, stats: checkStats, log: log,
		owner: replicaID(), lease: cfg.CheckRerunLease, now: now}
	qav1.RegisterCheckReportServiceServer(guard, &checkReportService{stats: checkStats, reports: reports, rerun: reruns, log: log})
	qav1.RegisterAuditServiceServer(guard, &auditService{store: st, log: log})
	qav1.RegisterCalibrationServiceServer(guard, &calibrationService{store: st, rubrics: rubrics, now: now, log: log})
	qav1.RegisterInfoServiceServer(guard, &infoService{store: st, log: log})
	qav1.RegisterCheckServiceServer(guard, &checkService{book: checkSets, store: st, rubrics: rubrics, log: log})
	access := &accessService{store: st, authn: authn, gate: gate, now: now, log: log,
		linkTTL: cmp.Or(cfg.LoginLinkTTL, DefaultConfig().LoginLinkTTL), sessionMax: cmp.Or(cfg.SessionMax, DefaultConfig().SessionMax)}
	access.publicURL.Store(&cfg.PublicURL)
	qav1.RegisterAccessServiceServer(guard, access)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(guard, hs)
	reflection.Register(guard)
	grpcMetrics.InitializeMetrics(gs)
	for _, name := range services {
		hs.SetServingStatus(name, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	retention := cfg.Retention
	defaults := DefaultRetentionOptions()
	retention.Every, retention.Batch, retention.Pause = cmp.Or(retention.Every, defaults.Every), cmp.Or(retention.Batch, defaults.Batch), cmp.Or(retention.Pause, defaults.Pause)
	pack := cfg.Pack
	pack.Weeks = cmp.Or(pack.Weeks, DefaultPackOptions().Weeks)
	pollCtx, pollStop := context.WithCancel(context.Background())
	return &Server{
		retention: newRetentionJob(st, retention, now, log, reg),
		packer:    newPackJob(job, pack, log, reg),
		pollCtx:   pollCtx, pollStop: pollStop,
		grpc: gs, inproc: inproc, gate: gate, authn: authn, access: access, guard: guard, health: hs, store: st, log: log, registry: reg, dicts: dicts, Sampling: job,
		rubrics: rubrics, feedback: hub, poll: cfg.FeedbackPoll, reports: reports, reruns: reruns,
		interval: cfg.HealthInterval, stopWatch: make(chan struct{}),
	}
}

// MetricsHandler serves Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

// Serve serves gRPC on lis until Shutdown; health reports SERVING only
// while the store is ready.
func (s *Server) Serve(lis net.Listener) error {
	poller := &feedbackPoller{hub: s.feedback, interval: s.poll, log: s.log,
		lastID: func(ctx context.Context) (int64, error) { return s.store.LastFeedbackID(ctx, "") }}
	s.bgMu.Lock()
	if s.stopping {
		s.bgMu.Unlock()
		return grpc.ErrServerStopped
	}
	s.background.Go(s.watchStore)
	s.background.Go(func() { s.dicts.Run(s.pollCtx) })
	s.background.Go(func() { s.seedRubric(s.pollCtx) })
	s.background.Go(func() { s.Sampling.seedMetrics(s.pollCtx) })
	s.background.Go(func() { s.reports.keepTeamReports(s.pollCtx, teamReportRefreshEvery) })
	s.background.Go(func() { poller.Run(s.pollCtx) })
	s.background.Go(func() { s.retention.Run(s.pollCtx) })
	s.background.Go(func() { s.packer.Run(s.pollCtx) })
	s.background.Go(func() { s.reruns.serve(s.pollCtx) })
	s.background.Go(func() { _ = s.inproc.grpc.Serve(s.inproc.lis) })
	s.bgMu.Unlock()
	return s.grpc.Serve(lis)
}

// seedRubric stores the default rubric on first start, so that admins see
// it before the first review; the review path seeds it too if this fails.
func (s *Server) seedRubric(ctx context.Context) {
	if _, _, err := s.rubrics.active(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("could not store the default rubric yet", "err", err)
	}
}

func (s *Server) watchStore() {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.checkStore()
		select {
		case <-s.stopWatch:
			return
		case <-t.C:
		}
	}
}

func (s *Server) checkStore() {
	ctx, cancel := context.WithTimeout(context.Background(), s.interval)
	defer cancel()
	st := healthpb.HealthCheckResponse_SERVING
	if err := s.store.Ready(ctx); err != nil {
		s.log.Warn("store not ready", "err", err)
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	select {
	case <-s.stopWatch:
		return // shutting down: NOT_SERVING stays
	default:
	}
	for _, name := range services {
		s.health.SetServingStatus(name, st)
	}
}

// Shutdown stops accepting calls, reports NOT_SERVING, lets in-flight calls
// finish until ctx ends, then stops hard.
func (s *Server) Shutdown(ctx context.Context) {
	s.bgMu.Lock()
	s.stopping = true
	s.bgMu.Unlock()
	s.stopOnce.Do(func() { close(s.stopWatch) })
	s.health.Shutdown()
	// Feedback streams never end on their own; ending them first lets
	// GracefulStop wait only for calls that finish.
	s.feedback.close()
	s.pollStop()
	done := make(chan struct{})
	go func() {
		var both sync.WaitGroup
		both.Go(s.grpc.GracefulStop)
		both.Go(s.inproc.grpc.GracefulStop)
		both.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("graceful stop timed out; cancelling in-flight calls")
		s.grpc.Stop()
		s.inproc.grpc.Stop()
		<-done
	}
	s.inproc.close()
	// No call is left to record a session's use; wait for the writes of
	// those that did.
	s.authn.wait()
	// The background loops were told to stop above; a dictionary being
	// trained (CPU, not cancellable) may hold one of them until ctx ends.
	stopped := make(chan struct{})
	go func() {
		s.background.Wait()
		s.reports.severity.wait()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.log.Warn("shutdown timed out waiting for background work")
	}
}

type requestIDKey struct{}

// withRequestID tags the call with an id, returned as the x-request-id
// header, so a caller's report can be matched to the server's log line.
func withRequestID(ctx context.Context) context.Context {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-request-id", id))
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(withRequestID(ctx), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: withRequestID(ss.Context())})
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
