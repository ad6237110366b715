package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMalformedEnvironment: the real binary refuses to start on a
// malformed environment value, naming the variable.
func TestMalformedEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qa.db")
	cmd := exec.Command(bin("qad"), "serve", "--db", db, "--listen", freePort(t), "--metrics-listen", "")
	cmd.Env = append(os.Environ(), "QA_MAX_BATCH=lots")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("qad serve with QA_MAX_BATCH=lots: %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `QA_MAX_BATCH="lots"`) {
		t.Errorf("stderr does not name the variable: %s", stderr.String())
	}
}

func TestVersionFlags(t *testing.T) {
	for _, name := range []string{"qad", "qactl"} {
		out, err := exec.Command(bin(name), "--version").Output()
		if err != nil {
			t.Fatalf("%s --version: %v", name, err)
		}
		if !strings.HasPrefix(string(out), name+" version ") || !strings.Contains(string(out), "go1.") {
			t.Errorf("%s --version printed %q", name, out)
		}
	}
}
