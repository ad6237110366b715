package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"qa-sampling/internal/pgtest"
	qav1 "qa-sampling/proto/qa/v1"
)

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qa-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", binDir, "qa-sampling/cmd/qad", "qa-sampling/cmd/qactl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building binaries:", err)
		os.Exit(1)
	}
	// Leaks are checked after every test (and every qad it started) is done;
	// the binaries are removed whatever the outcome.
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(binDir)
		os.Exit(code)
	}))
}

func bin(name string) string { return filepath.Join(binDir, name) }

// backend is a database a server can be started on.
type backend struct {
	name string
	dsn  string
}

// backends returns a fresh SQLite file and, when configured, a fresh
// PostgreSQL schema. In CI a missing PostgreSQL fails instead of skipping.
func backends(t *testing.T) []backend {
	t.Helper()
	out := []backend{{name: "sqlite", dsn: filepath.Join(t.TempDir(), "qa.db")}}
	dsn := os.Getenv("QA_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("QA_TEST_POSTGRES_DSN is not set: CI must test the PostgreSQL backend")
		}
		t.Log("QA_TEST_POSTGRES_DSN not set: PostgreSQL backend skipped")
		return out
	}
	return append(out, backend{name: "postgres", dsn: freshSchema(t, dsn)})
}

// freshSchema creates a schema only this test uses and returns a DSN whose
// search_path points at it.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	return pgtest.Schema(t, dsn, "e2e_")
}

func freePort(t *testing.T) string {
	t.Helper()
	handedOut.mu.Lock()
	defer handedOut.mu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		// The kernel may hand a just-closed port out again: a server's
		// gRPC and HTTP listeners once got the same one and qad could not
		// start. No port is given to two listeners of this test process.
		if !handedOut.ports[addr] {
			handedOut.ports[addr] = true
			return addr
		}
	}
}

// handedOut are the ports freePort has returned.
var handedOut = struct {
	mu    sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// server is a running qad process.
type server struct {
	t    *testing.T
	dsn  string
	addr string
	// httpAddr is the HTTP listener (console and JSON API), a free port
	// chosen at the first start.
	httpAddr string
	args     []string
	cmd      *exec.Cmd
	log      *syncBuffer
}

// syncBuffer collects the server's output; tests read it while the process
// still writes, so access is locked.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer runs `qad serve` on dsn and waits until health says SERVING.
func startServer(t *testing.T, dsn string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dsn: dsn, addr: freePort(t), args: extra}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *server) start() { s.startWith(nil) }

// startWith starts the server; with clientTLS the health probe dials TLS.
func (s *server) startWith(clientTLS *tls.Config) {
	s.t.Helper()
	if s.httpAddr == "" {
		s.httpAddr = freePort(s.t)
	}
	args := append([]string{"serve", "--db", s.dsn, "--listen", s.addr, "--http-listen", s.httpAddr,
		"--metrics-listen", "", "--migrate", "--log-format", "text"}, s.args...)
	s.cmd = exec.Command(bin("qad"), args...)
	s.log = &syncBuffer{}
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.waitServing(clientTLS)
}

func (s *server) waitServing(clientTLS *tls.Config) {
	s.t.Helper()
	creds := insecure.NewCredentials()
	if clientTLS != nil {
		creds = credentials.NewTLS(clientTLS)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(creds))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			cancel()
			_ = conn.Close()
			if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
				return
			}
		}
		if s.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("server did not become SERVING; log:\n%s", s.log.String())
}

// kill ends the server with SIGKILL: no shutdown code runs.
func (s *server) kill() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// token creates a token with `qad token create` and returns it.
func (s *server) token(role, subject string) string {
	s.t.Helper()
	out, err := exec.Command(bin("qad"), "token", "create", "--db", s.dsn, "--role", role, "--subject", subject).Output()
	if err != nil {
		s.t.Fatalf("qad token create: %v", err)
	}
	tok := strings.TrimSpace(string(out))
	if !strings.HasPrefix(tok, "qa_") || strings.Contains(tok, "\n") {
		s.t.Fatalf("qad token create printed %q, want a single token", out)
	}
	return tok
}

// client dials the server with a bearer token (empty for none).
func (s *server) client(token string) qav1.IngestServiceClient {
	s.t.Helper()
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return qav1.NewIngestServiceClient(conn)
}

func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// qactl runs the client binary against s and returns stdout, stderr and the
// exit code.
func (s *server) qactl(token string, args ...string) (string, string, int) {
	s.t.Helper()
	cmd := exec.Command(bin("qactl"), append([]string{"--addr", s.addr, "--token", token}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			s.t.Fatalf("qactl %v: %v", args, err)
		}
		code = exitErr.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

// qactlOK is qactl that must succeed; it returns stdout.
func (s *server) qactlOK(token string, args ...string) string {
	s.t.Helper()
	out, errOut, code := s.qactl(token, args...)
	if code != 0 {
		s.t.Fatalf("qactl %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// writeDoc writes doc to a new file (a policy, a check set) and returns
// its path.
func writeDoc(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
