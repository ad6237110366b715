package e2e

// The browser harness of the console's end-to-end tests: Debian's chromium,
// headless, driven with chromedp against a real qad serving the console
// (--http-listen). Tests sign in by a one-time link from `qad login-link`,
// act with the keyboard and the mouse, assert what the page shows and what
// the server stored, and save screenshots to $QA_SCREENSHOT_DIR.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// Default window of the screenshots: a laptop's.
const (
	desktopWidth  = 1280
	desktopHeight = 800
	phoneWidth    = 390
	phoneHeight   = 844
)

// browser is one headless chromium with one tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	// Base is the console's URL, e.g. http://127.0.0.1:7390.
	Base string
}

// newBrowser starts chromium for the test, with a fresh profile, in
// Chinese (Accept-Language zh-CN), a 1280×800 window and no network of its own (no updates, no sync, no
// QUIC), and answers every confirm() with OK (accepting is what a person
// does to go on; a test of cancelling dismisses itself). Without chromium
// the test skips, except in CI, where it fails.
func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI must run the browser tests (.ci/run installs chromium)", chromiumPath)
		}
		t.Skipf("%s is missing: browser test skipped (apt-get install chromium to run it)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The console's people read Chinese: the browser asks for it.
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, Base: strings.TrimSuffix(base, "/")}
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, desktopHeight)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

// do runs steps with a time limit, failing the test on an error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

// run runs one action that returns a value, with a time limit.
func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
	return v
}

// location is the tab's URL, for failure messages.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

// open navigates to a path of the console (or a full URL) and waits for
// its main element.
func (b *browser) open(path string) {
	b.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.Base + path
	}
	b.do(chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("main")))
}

// text is the visible text of the first element sel matches.
func (b *browser) text(sel string) string {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	return run(b, chromedp.Text(chromedp.CSS(sel)))
}

// waitText waits until the element sel matches shows want (pages that
// update without a reload).
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return
		}
		last = got
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("%s never showed %q; last text %q (at %s)", sel, want, last, b.location())
}

// resize sets the viewport, e.g. to a phone's 390 px.
func (b *browser) resize(width, height int64) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(width, height))
}

// screenshot saves what the window shows (e.g. 1280×800) to
// $QA_SCREENSHOT_DIR/<name>.png; it does nothing when the variable is
// unset.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	b.savePNG(name, chromedp.CaptureScreenshot())
}

// fullScreenshot saves the whole page, beyond the window (a phone's long
// page).
func (b *browser) fullScreenshot(name string) {
	b.t.Helper()
	b.savePNG(name, chromedp.FullScreenshot(100))
}

func (b *browser) savePNG(name string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	dir := os.Getenv("QA_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png := run(b, shot)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}

// signIn opens a one-time login link, which lands on the person's home
// page, and returns where it landed.
func (b *browser) signIn(link string) string {
	b.t.Helper()
	b.open(link)
	loc := b.location()
	if strings.Contains(loc, "/login") {
		b.t.Fatalf("the login link %s did not sign in: at %s, page says %q", link, loc, b.text("main"))
	}
	return loc
}

// consoleServer is a qad serving the console and the HTTP API beside gRPC.
type consoleServer struct {
	*server
	// HTTP is the console's base URL.
	HTTP string
}

// consoleOf waits until s's console answers and returns it: every qad
// of these tests serves HTTP on a free loopback port (startServer).
func consoleOf(t *testing.T, s *server) *consoleServer {
	t.Helper()
	cs := &consoleServer{server: s, HTTP: "http://" + s.httpAddr}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(cs.HTTP + "/login")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cs
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console at %s did not answer (%v); log:\n%s", cs.HTTP, err, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loginLink creates a one-time sign-in link with `qad login-link` and
// returns it on this server's console (whatever public URL qad printed).
func (s *consoleServer) loginLink(role, subject string) string {
	s.t.Helper()
	out, err := exec.Command(bin("qad"), "login-link", "--db", s.dsn, "--role", role, "--subject", subject).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			s.t.Fatalf("qad login-link: %v: %s", err, exitErr.Stderr)
		}
		s.t.Fatalf("qad login-link: %v", err)
	}
	for _, field := range strings.Fields(string(out)) {
		if i := strings.Index(field, "/login/"); i >= 0 {
			u, err := url.Parse(field)
			if err != nil {
				s.t.Fatalf("qad login-link printed %q: %v", field, err)
			}
			return s.HTTP + u.Path
		}
	}
	s.t.Fatalf("qad login-link printed no /login/ link: %q", out)
	return ""
}

// TestBrowserHarness checks the harness on a page of its own: chromium
// starts, renders Chinese text, reads it back, resizes and screenshots.
func TestBrowserHarness(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprint(w, `<!doctype html><html lang="zh-CN"><title>测试</title><main><h1 id="t">质检抽查</h1></main></html>`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	lis := listenLoopback(t)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })

	b := newBrowser(t, "http://"+lis.Addr().String())
	b.open("/")
	if got := b.text("#t"); got != "质检抽查" {
		t.Fatalf("heading %q", got)
	}
	width := run(b, chromedp.Evaluate[int]("window.innerWidth"))
	if width != desktopWidth {
		t.Fatalf("window %d px wide, want %d", width, desktopWidth)
	}
	b.resize(phoneWidth, phoneHeight)
	if w := run(b, chromedp.Evaluate[int]("window.innerWidth")); w != phoneWidth {
		t.Fatalf("after resize %d px wide, want %d", w, phoneWidth)
	}
	b.screenshot("harness-phone")
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}
