package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"qa-sampling/fielderr"
	"qa-sampling/internal/buildinfo"
)

// Exit statuses, listed in exitStatusHelp for `qactl --help`.
const (
	exitOK = 0
	// exitRejected: the command ran, but some input lines were rejected.
	exitRejected = 1
	// exitUsage: qactl could not make sense of its command line or could
	// not read its input (flags, arguments, files); nothing was asked.
	exitUsage = 2
	// exitRPC: the server could not be reached or refused the call.
	exitRPC = 3
)

const exitStatusHelp = "Exit status: 0 success; 1 some input lines were rejected (ingest, agents import);\n" +
	"2 bad usage or unreadable input; 3 the server could not be reached or refused the call."

// exitStatusOf is the exit status of a command that failed with err.
func exitStatusOf(err error) int {
	if _, ok := status.FromError(err); ok {
		return exitRPC
	}
	return exitUsage
}

const (
	defaultAddr = "127.0.0.1:7391"
	envAddr     = "QA_ADDR"
	envToken    = "QA_TOKEN"
)

// exitError ends the command with code after it has printed its own report.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a command line qactl cannot make sense of.
type usageError struct {
	err     error
	command string
}

func (e usageError) Error() string {
	return e.err.Error() + "\nRun '" + e.command + " --help' for usage."
}

func (e usageError) Unwrap() error { return e.err }

// globalOptions are the flags every command shares.
type globalOptions struct {
	addr       string
	token      string
	json       bool
	timeout    time.Duration
	tls        bool
	caFile     string
	certFile   string
	keyFile    string
	serverName string
	cpuProfile string
}

// run is qactl without the process around it: it parses args, runs the
// command and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var exit exitError
	if errors.As(err, &exit) {
		return exit.code
	}
	printError(stderr, err)
	return exitStatusOf(err)
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	opts := &globalOptions{}
	root := &cobra.Command{
		Use:   "qactl",
		Short: "Command-line client of the qa-sampling service",
		Long: "qactl talks to a qa-sampling server over gRPC.\n\n" +
			"The server address and bearer token come from --addr and --token,\n" +
			"or from the environment variables " + envAddr + " and " + envToken + ".\n\n" +
			exitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.String(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if opts.cpuProfile != "" {
				f, err := os.Create(opts.cpuProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			return opts.applyEnvironment(cmd)
		},
		PersistentPostRun: func(*cobra.Command, []string) {
			if opts.cpuProfile != "" {
				pprof.StopCPUProfile()
			}
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err: err, command: cmd.CommandPath()}
	})

	flags := root.PersistentFlags()
	flags.StringVar(&opts.addr, "addr", defaultAddr, "server address host:port (env "+envAddr+")")
	// No default shown for the token: help output must not print a secret.
	flags.StringVar(&opts.token, "token", "", "bearer token sent with every call (env "+envToken+")")
	flags.BoolVar(&opts.json, "json", false, "print machine-readable JSON instead of text")
	flags.DurationVar(&opts.timeout, "timeout", 30*time.Second, "deadline of each unary call")
	flags.BoolVar(&opts.tls, "tls", false, "connect with TLS, trusting the system's root certificates")
	flags.StringVar(&opts.caFile, "ca-file", "", "PEM file of the CA certificates to trust instead of the system's (implies --tls)")
	flags.StringVar(&opts.certFile, "cert-file", "", "PEM client certificate for mutual TLS (with --key-file; implies --tls)")
	flags.StringVar(&opts.keyFile, "key-file", "", "PEM private key of --cert-file")
	flags.StringVar(&opts.serverName, "server-name", "", "name to verify the server certificate against, if not the host of --addr (implies --tls)")

	// For measuring imports: where the client's CPU goes.
	flags.StringVar(&opts.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file")
	_ = flags.MarkHidden("cpuprofile")

	root.AddCommand(
		newAgentsCommand(opts),
		newIngestCommand(opts),
		newTranscriptCommand(opts),
		newInspectorCommand(opts),
		newPolicyCommand(opts),
		newChecksCommand(opts),
		newSampleCommand(opts),
		newReviewCommand(opts),
		newFeedbackCommand(opts),
		newDisputeCommand(opts),
		newReportCommand(opts),
		newRubricCommand(opts),
		newAuditCommand(opts),
		newCalibrationCommand(opts),
		newAccessCommand(opts),
		newWhoAmICommand(opts),
	)
	return root
}

// applyEnvironment fills flags not given on the command line from the
// environment.
func (o *globalOptions) applyEnvironment(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if v, ok := os.LookupEnv(envAddr); ok && !flags.Changed("addr") && v != "" {
		o.addr = v
	}
	if v, ok := os.LookupEnv(envToken); ok && !flags.Changed("token") {
		o.token = v
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return errors.New("--cert-file and --key-file go together")
	}
	return nil
}

// useTLS reports whether any TLS flag was given.
func (o *globalOptions) useTLS() bool {
	return o.tls || o.caFile != "" || o.certFile != "" || o.serverName != ""
}

// dial sets up a connection to the server; it connects on the first call.
func (o *globalOptions) dial() (*grpc.ClientConn, error) {
	transport := insecure.NewCredentials()
	if o.useTLS() {
		config, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		transport = credentials.NewTLS(config)
	}
	dialOptions := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		grpc.WithUserAgent("qactl"),
		// Transcripts can be large; the server's limits are the real ones.
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}
	if o.token != "" {
		dialOptions = append(dialOptions, grpc.WithPerRPCCredentials(bearerToken(o.token)))
	}
	conn, err := grpc.NewClient(o.addr, dialOptions...)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.addr, err)
	}
	return conn, nil
}

func (o *globalOptions) tlsConfig() (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.serverName}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file: no PEM certificate in %s", o.caFile)
		}
		config.RootCAs = pool
	}
	if o.certFile != "" {
		cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--cert-file/--key-file: %w", err)
		}
		config.Certificates = []tls.Certificate{cert}
	}
	return config, nil
}

// unaryContext bounds one unary call by --timeout.
func (o *globalOptions) unaryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, o.timeout)
}

// bearerToken sends "authorization: Bearer <token>" with every call. It
// allows plaintext on purpose: plaintext is for loopback and test setups,
// and refusing there would only push people to weaker workarounds.
type bearerToken string

func (t bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

func (bearerToken) RequireTransportSecurity() bool { return false }

// printError prints err once, as "qactl: CODE: message"; an error with
// field violations attached names them instead of the message.
func printError(w io.Writer, err error) {
	st, ok := status.FromError(err)
	if !ok {
		_, _ = fmt.Fprintf(w, "qactl: %v\n", err)
		return
	}
	var violations []*errdetails.BadRequest_FieldViolation
	for _, detail := range st.Details() {
		if badRequest, ok := detail.(*errdetails.BadRequest); ok {
			violations = append(violations, badRequest.GetFieldViolations()...)
		}
	}
	// The server's message summarises the violations it lists beside it, so
	// printing both said everything twice: print the list instead.
	var out []byte
	switch {
	case len(violations) == 0:
		out = fmt.Appendf(nil, "qactl: %s: %s\n", codeName(st.Code()), st.Message())
	case len(violations) == 1:
		out = fmt.Appendf(nil, "qactl: %s: %s\n", codeName(st.Code()), violationText(violations[0]))
	default:
		out = fmt.Appendf(nil, "qactl: %s: %d problems:\n", codeName(st.Code()), len(violations))
		for _, v := range violations {
			out = fmt.Appendf(out, "  %s\n", violationText(v))
		}
	}
	_, _ = w.Write(out) // nowhere left to report a failing stderr
}

func violationText(v *errdetails.BadRequest_FieldViolation) string {
	return fielderr.Violation{Field: v.GetField(), Reason: v.GetDescription()}.String()
}

// codeName spells a gRPC code as the protocol does, e.g. INVALID_ARGUMENT.
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	name := strings.ToUpper(b.String())
	if c == codes.OK {
		return "OK"
	}
	return name
}

// parseID reads a numeric id argument; from says where such ids are listed.
func parseID(cmd *cobra.Command, arg, from string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{err: fmt.Errorf("ID %s is not a number from %s", fielderr.Quote(arg), from), command: cmd.CommandPath()}
	}
	return id, nil
}
