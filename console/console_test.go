package console

import (
	"bufio"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"qa-sampling/websession"
)

// usedKeys finds the message keys the templates and the Go code ask for.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	tmplKey := regexp.MustCompile(`\b(?:t|tf) "([a-z0-9_.]+)"`)
	// A key ends in a word character: "conversation.check." + code is a
	// prefix of keys built at run time, not a key.
	goKey := regexp.MustCompile(`(?:\.T\(|Title = |renderStatus\([^,]+, [^,]+, |Key: |Nav: )"([a-z0-9_]+(?:\.[a-z0-9_]+)+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = p
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	goFiles, _ := filepath.Glob("*.go")
	for _, f := range goFiles {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "msgs_") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
	}
	return keys
}

func TestEveryMessageUsedIsTranslated(t *testing.T) {
	keys := usedKeys(t)
	if len(keys) < 10 {
		t.Fatalf("found only %d message keys: the scan is broken", len(keys))
	}
	for key, where := range keys {
		m, ok := catalog[key]
		if !ok {
			t.Errorf("%s uses message %q, which no msgs_*.go registers", where, key)
			continue
		}
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %q lacks its Chinese or English text", key)
		}
	}
	for key, m := range catalog {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %q lacks its Chinese or English text", key)
		}
	}
}

func TestPagesParse(t *testing.T) {
	set, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"signin.html", "error.html"} {
		if set.pages[name] == nil {
			t.Errorf("page %s missing", name)
		}
	}
}

func TestLanguageOf(t *testing.T) {
	cases := []struct {
		query, cookie, accept, want string
	}{
		{"", "", "", langZH},
		{"", "", "en-US,en;q=0.9", langEN},
		{"", "", "zh-TW,zh;q=0.9,en;q=0.5", langZH},
		{"", "", "fr-FR", langZH},
		{"", "en", "zh-CN", langEN},
		{"lang=zh-CN", "en", "en", langZH},
		{"lang=en", "", "", langEN},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/queue?"+c.query, nil)
		if c.cookie != "" {
			r.Header.Set("Cookie", langCookie+"="+c.cookie)
		}
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if got := languageOf(r); got != c.want {
			t.Errorf("query %q cookie %q Accept-Language %q: %s, want %s", c.query, c.cookie, c.accept, got, c.want)
		}
	}
}

func TestLocalPathRefusesOtherSites(t *testing.T) {
	for p, want := range map[string]bool{
		"/queue": true, "/review/3?x=1": true, "": false, "//evil.example/": false,
		"/\\evil.example": false, "https://evil.example/": false, "/a\r\nSet-Cookie: x": false,
		// Browsers drop tabs and newlines from a URL and read \ as /, so
		// these are //evil.example to them.
		"/\t/evil.example": false, "/\n/evil.example": false, "/\t\\evil.example": false, "/\x7f/x": false,
	} {
		if got := localPath(p); got != want {
			t.Errorf("localPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestSignInPageHasAStrictPolicyAndNoInlineScript(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/login", nil)
	r.Header.Set("Accept-Language", "en")
	c.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("GET /login: %d", w.Code)
	}
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' 'nonce-") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	body := w.Body.String()
	if !strings.Contains(body, "Sign in") || !strings.Contains(body, `lang="en"`) {
		t.Fatalf("English sign-in page expected:\n%s", body)
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, "nonce=") || !strings.Contains(tag, "src=") {
			t.Errorf("script without a nonce or with inline code: %s", tag)
		}
	}
	if regexp.MustCompile(`\sstyle="`).MatchString(body) {
		t.Error("inline style attribute: the policy forbids it")
	}
}

func TestUnknownPathIsANotFoundPage(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	c.ServeHTTP(w, httptest.NewRequest("GET", "/no/such/page", nil))
	if w.Code != 404 || !strings.Contains(w.Body.String(), "找不到") {
		t.Fatalf("got %d:\n%s", w.Code, w.Body.String())
	}
}

// countingBody is a request body that counts what was read of it.
type countingBody struct {
	r    io.Reader
	read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return nil }

// A stranger's form post (no session, or a made-up cookie) is read no
// further than the console's form limit: Go's multipart parsing would
// otherwise spool any size of file part to disk before the CSRF check.
func TestFormBodiesAreReadOnlyUpToTheLimit(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const fileBytes = 64 << 20
	for _, path := range []string{"/logout", "/review/7/release"} {
		body := &countingBody{r: io.MultiReader(
			strings.NewReader("--xx\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f\"\r\n\r\n"),
			io.LimitReader(zeros{}, fileBytes),
			strings.NewReader("\r\n--xx--\r\n"))}
		r := httptest.NewRequest("POST", path, nil)
		r.Body = body
		r.ContentLength = -1
		r.Header.Set("Content-Type", "multipart/form-data; boundary=xx")
		r.AddCookie(&http.Cookie{Name: websession.CookieName, Value: "qs_made_up"})
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", path, w.Code)
		}
		if body.read > maxFormBytes+64<<10 {
			t.Errorf("POST %s read %d bytes of body, limit %d", path, body.read, maxFormBytes)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A form post whose body never arrives in full is answered once
// formReadTimeout has passed, instead of holding its connection for ever.
func TestSlowFormBodyIsCutOff(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func(d time.Duration) { formReadTimeout = d }(formReadTimeout)
	formReadTimeout = 100 * time.Millisecond
	srv := httptest.NewServer(c)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	// 1000 bytes announced, 5 sent.
	if _, err := io.WriteString(conn, "POST /logout HTTP/1.1\r\nHost: x\r\nCookie: qa_session=qs_x_y\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncsrf="); err != nil {
		t.Fatal(err)
	}
	// Far longer than the timeout: without it the server waits for ever.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled form post: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("stalled form post: %d, want 403", resp.StatusCode)
	}
}
