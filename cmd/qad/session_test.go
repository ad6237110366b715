package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"qa-sampling/store"
	"qa-sampling/store/sqlstore"
)

func TestPublicURL(t *testing.T) {
	for _, c := range []struct {
		flag, listen string
		tls          bool
		want         string
	}{
		{"", "127.0.0.1:7390", false, "http://127.0.0.1:7390"},
		{"", ":8080", true, "https://localhost:8080"},
		{"", "0.0.0.0:80", false, "http://localhost:80"},
		{"", "[::1]:7390", false, "http://[::1]:7390"},
		{"https://qa.example.com/", "127.0.0.1:7390", false, "https://qa.example.com"},
		{"https://example.com/qa", "", false, "https://example.com/qa"},
	} {
		got, err := publicURL(c.flag, c.listen, c.tls)
		if err != nil || got != c.want {
			t.Errorf("publicURL(%q, %q, %v) = %q, %v; want %q", c.flag, c.listen, c.tls, got, err, c.want)
		}
	}
	for _, bad := range []string{"qa.example.com", "ftp://x", "https://", "https://x/?a=b", "https://u:p@x"} {
		if got, err := publicURL(bad, defaultHTTPListen, false); err == nil || !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("publicURL(%q) = %q, %v; want an error naming --public-url", bad, got, err)
		}
	}
}

// qad runs the command line and returns stdout, stderr and the status.
func qad(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

// login-link prints a URL (or with --json the code and expiry) of a link
// stored as a digest; session list and revoke work on the database.
func TestLoginLinkAndSessionCommands(t *testing.T) {
	t.Setenv("QA_PUBLIC_URL", "")
	t.Setenv("QA_HTTP_LISTEN", "")
	db := filepath.Join(t.TempDir(), "qa.db")
	out, stderr, code := qad(t, "login-link", "--db", db, "--role", "inspector", "--subject", "insp-1", "--public-url", "https://qa.example.com")
	if code != 0 {
		t.Fatalf("login-link: status %d, %s", code, stderr)
	}
	url := strings.TrimSpace(out)
	code64, ok := strings.CutPrefix(url, "https://qa.example.com/login/")
	if !ok || len(code64) != 43 || strings.Contains(url, "\n") {
		t.Fatalf("login-link printed %q, want one URL under /login/", out)
	}

	t.Setenv("QA_PUBLIC_URL", "http://console.internal:9000")
	out, stderr, code = qad(t, "login-link", "--db", db, "--role", "supervisor", "--subject", "sup-1", "--json")
	if code != 0 {
		t.Fatalf("login-link --json: status %d, %s", code, stderr)
	}
	var rec map[string]string
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("login-link --json printed %q: %v", out, err)
	}
	if rec["url"] != "http://console.internal:9000/login/"+rec["code"] || len(rec["code"]) != 43 {
		t.Errorf("url %q, code %q", rec["url"], rec["code"])
	}
	if exp, err := time.Parse(time.RFC3339, rec["expires_at"]); err != nil || time.Until(exp) < 23*time.Hour || time.Until(exp) > 25*time.Hour {
		t.Errorf("expires_at %q, %v; want about 24 h from now", rec["expires_at"], err)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"login-link", "--db", db, "--role", "ingest", "--subject", "x"}, "--role"},
		{[]string{"login-link", "--db", db, "--role", "admin"}, "--subject"},
		{[]string{"login-link", "--db", db, "--role", "admin", "--subject", "x", "--public-url", "nope"}, "--public-url"},
		{[]string{"session", "revoke", "--db", db}, "session ID or --subject"},
		{[]string{"session", "revoke", "--db", db, "abc", "--subject", "x"}, "session ID or --subject"},
		{[]string{"session", "revoke", "--db", db, "nope"}, "not found"},
	} {
		if _, stderr, code := qad(t, c.args...); code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("qad %q: status %d, %q; want an error saying %q", c.args, code, stderr, c.want)
		}
	}

	// Sessions, as the server would start them.
	st, err := sqlstore.Open(t.Context(), db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, s := range []store.Session{
		{ID: "s-old", Role: store.RoleInspector, Subject: "insp-1", CreatedAt: now.Add(-2 * time.Hour), LastSeenAt: now.Add(-time.Hour)},
		{ID: "s-new", Role: store.RoleSupervisor, Subject: "sup-1", CreatedAt: now.Add(-time.Hour), LastSeenAt: now},
		{ID: "s-idle", Role: store.RoleInspector, Subject: "insp-1", CreatedAt: now.Add(-20 * time.Hour), LastSeenAt: now.Add(-13 * time.Hour)},
	} {
		s.SecretHash, s.ExpiresAt, s.StartedBy, s.StartedWith, s.UserAgent = []byte("h"), s.CreatedAt.Add(7*24*time.Hour), "token", "t1", "Firefox"
		if err := st.CreateSession(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	_ = st.Close()

	ids := func(args ...string) []string {
		t.Helper()
		out, stderr, code := qad(t, append([]string{"session", "list", "--db", db}, args...)...)
		if code != 0 {
			t.Fatalf("session list %q: status %d, %s", args, code, stderr)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			got = append(got, strings.Fields(line)[0])
		}
		return got
	}
	if got := strings.Join(ids(), " "); got != "s-new s-old" {
		t.Errorf("session list = %s, want the live ones newest first: s-new s-old", got)
	}
	if got := strings.Join(ids("--all"), " "); got != "s-new s-old s-idle" {
		t.Errorf("session list --all = %s, want s-new s-old s-idle", got)
	}
	if got := strings.Join(ids("--subject", "insp-1", "--session-idle", "24h"), " "); got != "s-old s-idle" {
		t.Errorf("session list --subject insp-1 --session-idle 24h = %s, want s-old s-idle", got)
	}
	out, _, _ = qad(t, "session", "list", "--db", db, "--json", "--all")
	if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, `"state":"expired"`) || strings.Contains(out, "secret") {
		t.Errorf("session list --json --all:\n%s", out)
	}

	if out, stderr, code := qad(t, "session", "revoke", "--db", db, "s-new"); code != 0 || out != "revoked session s-new\n" {
		t.Errorf("session revoke s-new: status %d, %q %s", code, out, stderr)
	}
	if out, stderr, code := qad(t, "session", "revoke", "--db", db, "--subject", "insp-1"); code != 0 || out != "revoked 2 session(s) of insp-1\n" {
		t.Errorf("session revoke --subject insp-1: status %d, %q %s", code, out, stderr)
	}
	if got := ids(); len(got) != 0 {
		t.Errorf("live sessions after revoking them all: %q", got)
	}
}

// TestServeRefusesAPublicURLItsLinksCannotUse: serve checks --public-url
// by the admin commands' rule (no user info, query or fragment).
func TestServeRefusesAPublicURLItsLinksCannotUse(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qa.db")
	for _, bad := range []string{"https://user:pw@qa.example.com", "https://qa.example.com/?x=1", "https://qa.example.com/#top"} {
		_, stderr, code := qad(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0",
			"--metrics-listen", "", "--sample-schedule", "off", "--public-url", bad)
		if code == 0 || !strings.Contains(stderr, "--public-url") {
			t.Errorf("serve --public-url %s: exit %d, stderr %q; want a refusal naming --public-url", bad, code, stderr)
		}
	}
}
