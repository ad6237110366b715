package e2e

import (
	"strings"
	"testing"
)

// TestConsoleInspectorSignsInByLink: an inspector opens the one-time link
// an admin made and lands on their queue, signed in, in Chinese.
func TestConsoleInspectorSignsInByLink(t *testing.T) {
	s := startConsoleServer(t, backends(t)[0].dsn)
	b := newBrowser(t, s.HTTP)
	if loc := b.signIn(s.loginLink("inspector", "insp-1")); !strings.HasSuffix(loc, "/queue") {
		t.Fatalf("signed in at %s, want the queue", loc)
	}
	b.waitText("header .subject", "insp-1")
	b.screenshot("inspector-queue-empty")
}
