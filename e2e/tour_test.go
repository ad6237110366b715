package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const (
	tourScript = "../scripts/tour.sh"
	readmeFile = "../README.md"
)

// TestTour runs the README's Quick tour (scripts/tour.sh) against a real
// server: every command must succeed. CI runs the script as well.
func TestTour(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed: the tour is a bash script")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, tourScript)
	// The tour's settings are its own: none of the caller's QA_* leak in.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/tour.sh: %v\n%s", err, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(out)), "tour passed") {
		t.Fatalf("scripts/tour.sh did not finish:\n%s", out)
	}
}

// TestReadmeTourIsTheScript: the README's Quick tour shows exactly the
// commands the script runs. The script's lines between "# tour:begin" and
// "# tour:end" are the section's sh blocks, a blank line between two.
func TestReadmeTourIsTheScript(t *testing.T) {
	script, err := os.ReadFile(tourScript)
	if err != nil {
		t.Fatal(err)
	}
	_, region, ok := strings.Cut(string(script), "\n# tour:begin\n")
	region, _, ok2 := strings.Cut(region, "\n# tour:end\n")
	if !ok || !ok2 {
		t.Fatalf("%s lacks the tour:begin and tour:end lines", tourScript)
	}
	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick tour\n")
	if !ok {
		t.Fatalf("%s has no Quick tour section", readmeFile)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for rest := section; ; {
		_, after, found := strings.Cut(rest, "\n```sh\n")
		if !found {
			break
		}
		block, tail, closed := strings.Cut(after, "\n```\n")
		if !closed {
			t.Fatalf("unclosed sh block in the Quick tour: %.60s", after)
		}
		blocks = append(blocks, block)
		rest = "\n" + tail
	}
	got, want := strings.Join(blocks, "\n\n"), strings.Trim(region, "\n")
	if got == want {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("README's Quick tour differs from %s at its line %d:\nREADME: %q\nscript: %q", tourScript, i+1, g, w)
		}
	}
}
