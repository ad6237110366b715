// Command qad is the qa-sampling server: `qad serve` runs it, `qad token`
// manages API tokens on the server host, `qad migrate` upgrades a
// PostgreSQL schema.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"qa-sampling/internal/buildinfo"
	"qa-sampling/server"
	"qa-sampling/store/sqlstore"
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		// The live heap is small (batches in flight, caches), so the
		// default target collects very often under ingest; a higher one
		// trades ~100 MB of RSS for a few percent of CPU.
		debug.SetGCPercent(300)
	}
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if err := root.ExecuteContext(ctx); err != nil {
		_, _ = fmt.Fprintln(stderr, "qad:", err)
		return 1
	}
	return 0
}

// env returns the environment variable or def: every flag can also be set
// by environment, which is how containers are configured.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

const defaultDB = "./qa.db"

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "qad",
		Short:         "qa-sampling server: quality inspection of customer-service chats",
		Version:       buildinfo.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCommand(stderr), newTokenCommand(stdout), newMigrateCommand(stdout),
		newLoginLinkCommand(stdout), newSessionCommand(stdout))
	return root
}

type serveFlags struct {
	db, listen, metricsListen                string
	httpListen, publicURL                    string
	tlsCert, tlsKey, tlsClientCA             string
	autoCreateAgents, migrate, pprof, checks bool
	maxMessages, maxTextBytes, maxBatch      int
	dictionarySamples, reportMinReviews      int
	maxRecvBytes, maxRequestBytes            int
	maxStreamsPerConn                        int
	logLevel, logFormat, sampleSchedule      string
	shutdownTimeout, tokenCacheTTL           time.Duration
	disputeWindow, feedbackPoll              time.Duration
	checkRerunLease, packEvery               time.Duration
	sampling                                 scheduleFlags
	sessions                                 sessionFlags
	privacy                                  privacyFlags
}

func newServeCommand(stderr io.Writer) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gRPC server",
		Args:  cobra.NoArgs,
	}
	limits := server.DefaultIngestOptions()
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", defaultDB, "SQLite file path or PostgreSQL DSN (postgres://...) [QA_DB]")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:7391", "gRPC listen address [QA_LISTEN]")
	fl.StringVar(&f.httpListen, "http-listen", "127.0.0.1:7390", "HTTP address of the console and the JSON API (POST /qa.v1.<Service>/<Method>); TLS by the --tls-* flags; empty disables [QA_HTTP_LISTEN]")
	fl.StringVar(&f.publicURL, "public-url", "", "URL people open the console at, behind a proxy (default: the --http-listen address) [QA_PUBLIC_URL]")
	fl.StringVar(&f.metricsListen, "metrics-listen", "127.0.0.1:7392", "Prometheus /metrics listen address; empty disables [QA_METRICS_LISTEN]")
	fl.BoolVar(&f.pprof, "pprof", false, "also serve /debug/pprof on the metrics listener [QA_PPROF]")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "TLS certificate file; serves TLS when set with --tls-key [QA_TLS_CERT]")
	fl.StringVar(&f.tlsKey, "tls-key", "", "TLS private key file [QA_TLS_KEY]")
	fl.StringVar(&f.tlsClientCA, "tls-client-ca", "", "CA file to require and verify client certificates (mutual TLS) [QA_TLS_CLIENT_CA]")
	fl.BoolVar(&f.autoCreateAgents, "auto-create-agents", false, "create unknown agents on first transcript instead of rejecting it [QA_AUTO_CREATE_AGENTS]")
	fl.BoolVar(&f.checks, "checks", true, "run the automatic checks (qactl checks) on every pushed chat; off only to measure their cost [QA_CHECKS]")
	fl.BoolVar(&f.migrate, "migrate", false, "PostgreSQL: apply pending migrations on start (SQLite always does) [QA_MIGRATE]")
	fl.IntVar(&f.maxMessages, "max-messages", limits.Limits.MaxMessages, "most messages one transcript may hold [QA_MAX_MESSAGES]")
	fl.IntVar(&f.maxTextBytes, "max-text-bytes", limits.Limits.MaxTextBytes, "largest message text in bytes [QA_MAX_TEXT_BYTES]")
	fl.IntVar(&f.maxBatch, "max-batch", limits.MaxBatch, "most transcripts written per transaction [QA_MAX_BATCH]")
	fl.IntVar(&f.dictionarySamples, "dictionary-samples", server.DefaultConfig().DictionarySamples, "train the body compression dictionary on this many stored chats once they exist; 0 never trains [QA_DICTIONARY_SAMPLES]")
	fl.StringVar(&f.sampleSchedule, "sample-schedule", "0 2 * * 1", "cron spec (policy's time zone) of the weekly sampling of the week before; \"off\" disables [QA_SAMPLE_SCHEDULE]")
	fl.DurationVar(&f.sampling.settle, "sample-settle", 2*time.Hour, "run a week only once it ended this long ago, for chats still syncing (the default fits the 02:00 schedule) [QA_SAMPLE_SETTLE]")
	fl.IntVar(&f.sampling.topUpWeeks, "top-up-weeks", 4, "top up the runs of this many past weeks when chats arrived for them after the run; 0 disables [QA_TOP_UP_WEEKS]")
	fl.DurationVar(&f.sampling.topUpEvery, "top-up-every", time.Hour, "how often those weeks are checked for late chats [QA_TOP_UP_EVERY]")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error [QA_LOG_LEVEL]")
	fl.StringVar(&f.logFormat, "log-format", "json", "json or text [QA_LOG_FORMAT]")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight calls may finish after SIGTERM [QA_SHUTDOWN_TIMEOUT]")
	fl.DurationVar(&f.tokenCacheTTL, "token-cache-ttl", 5*time.Second, "how long a checked token is trusted; bounds revocation delay [QA_TOKEN_CACHE_TTL]")
	defaults := server.DefaultConfig()
	fl.IntVar(&f.maxRecvBytes, "max-recv-bytes", defaults.MaxRecvMsgBytes, "largest request message of the ingest calls (a batch of transcripts or agents) [QA_MAX_RECV_BYTES]")
	fl.IntVar(&f.maxRequestBytes, "max-request-bytes", defaults.MaxRequestBytes, "largest request message of every other call [QA_MAX_REQUEST_BYTES]")
	fl.IntVar(&f.maxStreamsPerConn, "max-streams-per-conn", defaults.MaxStreamsPerConn, "most concurrent calls on one connection; more wait [QA_MAX_STREAMS_PER_CONN]")
	fl.DurationVar(&f.disputeWindow, "dispute-window", defaults.DisputeWindow, "how long after finalising a supervisor may dispute a review [QA_DISPUTE_WINDOW]")
	fl.DurationVar(&f.feedbackPoll, "feedback-poll", defaults.FeedbackPoll, "how often open feedback streams learn of records written by other replicas (one query per process); 0 disables [QA_FEEDBACK_POLL]")
	fl.DurationVar(&f.checkRerunLease, "check-rerun-lease", defaults.CheckRerunLease, "replicas sharing a database: how long a replica holds a check re-run without committing a batch before another takes it over (a batch takes well under a second) [QA_CHECK_RERUN_LEASE]")
	fl.DurationVar(&f.packEvery, "pack-every", defaults.Pack.Every, "SQLite: how often the hour blocks of the last finished weeks are packed, so that a week's first preview and its run read them instead of building them; 0 disables (PostgreSQL ignores it) [QA_PACK_EVERY]")
	fl.IntVar(&f.reportMinReviews, "report-min-reviews", defaults.ReportMinReviews, "reports mark a mean resting on fewer reviews \"too few reviews\" [QA_REPORT_MIN_REVIEWS]")
	f.sessions.register(fl)
	f.privacy.register(fl)
	checkEnv := bindEnv(fl, os.LookupEnv)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkEnv(cmd); err != nil {
			return err
		}
		return namingEnv(serve(cmd.Context(), f, settingsAttrs(cmd.Flags()), stderr), cmd.Flags(), os.LookupEnv)
	}
	return cmd
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: readableDurations}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not json or text", format)
}

// serve runs the server with flags f; settings are the effective flag
// values for the start-up log.
func serve(ctx context.Context, f serveFlags, settings []any, stderr io.Writer) error {
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	log.Info("starting", "version", buildinfo.String(), slog.Group("settings", settings...))
	cfg := server.DefaultConfig()
	cfg.Ingest.AutoCreateAgents = f.autoCreateAgents
	cfg.Ingest.Checks = f.checks
	cfg.Ingest.Limits.MaxMessages = f.maxMessages
	cfg.Ingest.Limits.MaxTextBytes = f.maxTextBytes
	cfg.Ingest.MaxBatch = f.maxBatch
	cfg.TokenCacheTTL = f.tokenCacheTTL
	cfg.DisputeWindow = f.disputeWindow
	cfg.FeedbackPoll = f.feedbackPoll
	cfg.MaxRecvMsgBytes, cfg.MaxRequestBytes, cfg.MaxStreamsPerConn = f.maxRecvBytes, f.maxRequestBytes, f.maxStreamsPerConn
	if f.maxRecvBytes < 1 || f.maxRequestBytes < 1 || f.maxStreamsPerConn < 1 {
		return errors.New("--max-recv-bytes, --max-request-bytes and --max-streams-per-conn must be positive")
	}
	if f.disputeWindow <= 0 || f.feedbackPoll < 0 {
		return errors.New("--dispute-window must be positive and --feedback-poll not negative")
	}
	if f.checkRerunLease < time.Second {
		return fmt.Errorf("--check-rerun-lease must be at least 1s, got %s", f.checkRerunLease)
	}
	cfg.CheckRerunLease = f.checkRerunLease
	if f.packEvery < 0 || f.packEvery > 0 && f.packEvery < time.Minute {
		return fmt.Errorf("--pack-every %s: at least 1m, or 0 to disable (a pass reads the weeks' changed hours)", f.packEvery)
	}
	cfg.Pack.Every = f.packEvery
	cfg.ReportMinReviews = f.reportMinReviews
	if err := f.sessions.apply(&cfg); err != nil {
		return err
	}
	if err := f.privacy.apply(&cfg, f.sampling.topUpWeeks); err != nil {
		return err
	}
	if f.publicURL != "" {
		cfg.PublicURL = f.publicURL // also without --http-listen: a replica's links may point at another's console
	}
	if f.reportMinReviews < 1 {
		return errors.New("--report-min-reviews must be positive")
	}
	if f.dictionarySamples < 0 {
		return errors.New("--dictionary-samples must not be negative")
	}
	if cfg.Ingest.MaxBatch < 1 || cfg.Ingest.Limits.MaxMessages < 1 || cfg.Ingest.Limits.MaxTextBytes < 1 {
		return errors.New("--max-batch, --max-messages and --max-text-bytes must be positive")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.tlsClientCA != "" && f.tlsCert == "" {
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	}
	if f.tlsCert != "" {
		if cfg.TLS, err = server.LoadTLS(f.tlsCert, f.tlsKey, f.tlsClientCA); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := sqlstore.Open(ctx, f.db, sqlstore.Options{AutoMigrate: f.migrate, Log: log})
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	if err := st.Ready(ctx); err != nil {
		return err
	}

	lis, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	cfg.Codec = st.Codec()
	cfg.DictionarySamples = f.dictionarySamples
	srv := server.New(st, cfg, log)

	var metricsSrv *http.Server
	if f.metricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", srv.MetricsHandler())
		if f.pprof {
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		}
		metricsSrv = &http.Server{Addr: f.metricsListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		mlis, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			return err
		}
		go func() {
			if err := metricsSrv.Serve(mlis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener failed", "err", err)
			}
		}()
	}

	if f.sampleSchedule != "off" && f.sampleSchedule != "" {
		stopSchedule, err := startSchedule(ctx, srv.Sampling, f.sampleSchedule, f.sampling)
		if err != nil {
			return err
		}
		defer stopSchedule()
	}

	var front *httpFrontend
	if f.httpListen != "" {
		if front, err = startHTTP(f.httpListen, f.publicURL, srv, cfg.TLS, log); err != nil {
			return err
		}
		// Login links point at the console as it is reached.
		srv.SetPublicURL(front.url)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()
	consoleURL := ""
	if front != nil {
		consoleURL = front.url
	}
	log.Info("serving", "addr", lis.Addr().String(), "console", consoleURL, "db", describeDB(f.db), "tls", cfg.TLS != nil,
		"mtls", f.tlsClientCA != "", "metrics", f.metricsListen, "auto_create_agents", f.autoCreateAgents)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", f.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	// The HTTP server waits for its handlers while the gRPC servers end
	// their feedback streams and finish the calls those handlers made.
	var stopped sync.WaitGroup
	if front != nil {
		stopped.Go(func() { front.shutdown(shutdownCtx) })
	}
	srv.Shutdown(shutdownCtx)
	stopped.Wait()
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	log.Info("stopped")
	return nil
}
