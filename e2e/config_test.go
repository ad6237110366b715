package e2e

import (
	"bytes"
	"errors"
	"fmt"
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

// TestConcurrentOpensOfNewDatabase: processes that open one new SQLite
// file at once (`qad token create` beside a starting `qad serve`, as the
// README tour does) take turns setting it up; before, most rounds had one
// fail with "table agents already exists" or "database is locked".
func TestConcurrentOpensOfNewDatabase(t *testing.T) {
	for round := range 5 {
		db := filepath.Join(t.TempDir(), "qa.db")
		cmds := make([]*exec.Cmd, 4)
		outputs := make([]bytes.Buffer, len(cmds))
		for i := range cmds {
			cmds[i] = exec.Command(bin("qad"), "token", "create", "--db", db, "--role", "admin", "--subject", fmt.Sprintf("admin-%d", i))
			cmds[i].Stderr = &outputs[i]
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, cmd := range cmds {
			if err := cmd.Wait(); err != nil {
				t.Errorf("round %d: qad token create %d: %v\n%s", round, i, err, outputs[i].String())
			}
		}
	}
}
