package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMalformedEnvironmentStopsStart: a value the flag would reject on the
// command line is an error naming the variable when it comes from the
// environment, and nothing starts.
func TestMalformedEnvironmentStopsStart(t *testing.T) {
	for _, c := range []struct{ variable, value string }{
		{"QA_DISPUTE_WINDOW", "14d"},
		{"QA_AUTO_CREATE_AGENTS", "yes"},
		{"QA_MAX_BATCH", "lots"},
		{"QA_FEEDBACK_POLL", strings.Repeat("9", 100)},
		{"QA_PACK_EVERY", "10 minutes"},
		// A variable left blank must not turn redaction off.
		{"QA_REDACT", ""},
	} {
		t.Run(c.variable, func(t *testing.T) {
			t.Setenv(c.variable, c.value)
			db := filepath.Join(t.TempDir(), "qa.db")
			// Canceled: should the setting be accepted, serve stops at
			// once instead of running until the test times out.
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			var stderr bytes.Buffer
			code := run(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--metrics-listen", ""}, io.Discard, &stderr)
			if code != 1 {
				t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), c.variable+"=") {
				t.Errorf("message does not name %s: %s", c.variable, stderr.String())
			}
			if len(stderr.String()) > 200 {
				t.Errorf("message quotes the whole value: %d bytes", len(stderr.String()))
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("the database was opened despite the bad setting")
			}
		})
	}
}

// TestRefusalNamesTheVariable: a setting well-formed for its flag but
// refused by the checks after parsing (too short a retention) names the
// variable that set it; given on the command line, it names only the flag.
func TestRefusalNamesTheVariable(t *testing.T) {
	for _, f := range []struct {
		flag, value, want string
	}{
		{"retain-unsampled", "30", "--retain-unsampled 30: at least 42 days"},
		{"pack-every", "-1m", "--pack-every -1m0s: at least 1m, or 0 to disable"},
		{"pack-every", "1ms", "--pack-every 1ms: at least 1m, or 0 to disable"},
	} {
		t.Run(f.flag, func(t *testing.T) {
			// First from the environment; then from the command line as
			// well, which wins and is named alone.
			t.Setenv(envName(f.flag), f.value)
			for _, args := range [][]string{nil, {"--" + f.flag, f.value}} {
				db := filepath.Join(t.TempDir(), "qa.db")
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				var stderr bytes.Buffer
				all := append([]string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--metrics-listen", "", "--http-listen", ""}, args...)
				if code := run(ctx, all, io.Discard, &stderr); code != 1 {
					t.Fatalf("%v: exit status %d, want 1; stderr:\n%s", args, code, stderr.String())
				}
				got := stderr.String()
				if !strings.Contains(got, f.want) {
					t.Errorf("%v: %s, want %q", args, got, f.want)
				}
				if named := strings.Contains(got, "--"+f.flag+" is "+envName(f.flag)); named != (args == nil) {
					t.Errorf("%v: %s; the variable should be named only when it set the flag", args, got)
				}
			}
		})
	}
	if !namesFlag("--top-up-weeks 4 and --retain-unsampled", "top-up-weeks") || namesFlag("--top-up-weeks-x", "top-up-weeks") ||
		namesFlag("--retain", "retain-unsampled") || !namesFlag("x --checks", "checks") {
		t.Error("namesFlag matches flags wrongly")
	}
}

// TestCommandLineWinsOverEnvironment: a malformed variable does not matter
// when the command line sets the flag, and a well-formed one sets the
// default.
func TestCommandLineWinsOverEnvironment(t *testing.T) {
	env := map[string]string{"QA_MAX_BATCH": "lots", "QA_DISPUTE_WINDOW": "72h"}
	cmd := newServeCommand(io.Discard)
	check := bindEnv(cmd.Flags(), func(name string) (string, bool) { v, ok := env[name]; return v, ok })
	if err := cmd.Flags().Parse([]string{"--max-batch", "64"}); err != nil {
		t.Fatal(err)
	}
	if err := check(cmd); err != nil {
		t.Fatalf("check: %v", err)
	}
	for flag, want := range map[string]string{"max-batch": "64", "dispute-window": "72h0m0s"} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %s, want %s", flag, got, want)
		}
	}
}

func TestDescribeDBHidesPasswords(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://qa:s3cret@db:5432/qa?sslmode=disable":       "postgres://qa:xxxxx@db:5432/qa?sslmode=disable",
		"postgresql://qa@db/qa?password=s3cret&sslmode=require": "postgresql://qa@db/qa?password=xxxxx&sslmode=require",
		"host=db user=qa password=s3cret dbname=qa":             "host=db user=qa password=xxxxx dbname=qa",
		"host=db user=qa password='s3 cret' dbname=qa":          "host=db user=qa password=xxxxx dbname=qa",
		"/var/lib/qa/qa.db": "/var/lib/qa/qa.db",
	} {
		got := describeDB(dsn)
		if got != want {
			t.Errorf("describeDB(%q) = %q, want %q", dsn, got, want)
		}
		if strings.Contains(got, "s3") {
			t.Errorf("describeDB(%q) leaks the password: %q", dsn, got)
		}
	}
}

// lockedBuffer is the server's stderr, read while the server writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestStartLogsEffectiveSettings: the first log line of `qad serve` holds
// every setting, from flags and environment, with durations readable and
// the database password hidden.
func TestStartLogsEffectiveSettings(t *testing.T) {
	t.Setenv("QA_DISPUTE_WINDOW", "336h")
	t.Setenv("QA_MAX_BATCH", "64")
	db := filepath.Join(t.TempDir(), "qa.db")
	ctx, cancel := context.WithCancel(t.Context())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--metrics-listen", "",
			"--sample-schedule", "off", "--shutdown-timeout", "90s"}, io.Discard, &stderr)
	}()
	for !strings.Contains(stderr.String(), `"msg":"serving"`) {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("qad serve ended with %d:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit status %d:\n%s", code, stderr.String())
	}

	var start struct {
		Msg      string            `json:"msg"`
		Version  string            `json:"version"`
		Settings map[string]string `json:"settings"`
	}
	line, _, _ := bufio.NewReader(strings.NewReader(stderr.String())).ReadLine()
	if err := json.Unmarshal(line, &start); err != nil {
		t.Fatalf("first line %s: %v", line, err)
	}
	if start.Msg != "starting" || start.Version == "" {
		t.Errorf("first line %s, want the start with the version", line)
	}
	for key, want := range map[string]string{
		"dispute_window": "336h0m0s", "max_batch": "64", "db": db, "shutdown_timeout": "1m30s", "sample_schedule": "off",
		"pack_every": "10m0s",
	} {
		if got := start.Settings[key]; got != want {
			t.Errorf("settings.%s = %q, want %q (line %s)", key, got, want, line)
		}
	}
	if strings.Contains(stderr.String(), "90000000000") {
		t.Errorf("a duration is logged in nanoseconds:\n%s", stderr.String())
	}
}

func TestVersion(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(t.Context(), []string{"--version"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	if !strings.HasPrefix(stdout.String(), "qad version ") || !strings.Contains(stdout.String(), "go1.") {
		t.Errorf("--version printed %q", stdout.String())
	}
}
