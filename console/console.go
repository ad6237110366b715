// Package console is the web console people work in: server-rendered pages
// (html/template), a little plain JavaScript, and SVG charts drawn on the
// server. It holds no data and no rules of its own: every page asks the
// services through a gRPC connection (the server's in-process one),
// forwarding the visitor's session credential as the bearer token, so a
// page can show nothing its visitor could not ask for over gRPC.
package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/websession"
)

// Config is what the console needs from the server it runs in.
type Config struct {
	// Conn reaches the services; its calls carry the visitor's credential.
	Conn grpc.ClientConnInterface
	// Secure marks cookies Secure: set when served over TLS.
	Secure bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Console serves the pages.
type Console struct {
	cfg   Config
	log   *slog.Logger
	pages *pageSet
	mux   *http.ServeMux
	now   func() time.Time

	zoneMu      sync.Mutex
	zone        *time.Location
	zoneFetched time.Time
}

// Who is the signed-in visitor.
type Who struct {
	Role    string
	Subject string
	// SessionID is the console session's id; "" for an API token.
	SessionID string
}

// New builds the console's handler.
func New(cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, log: cfg.Log, pages: pages, mux: http.NewServeMux(), now: cfg.Now}
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	c.mux.HandleFunc("GET /{$}", c.home)
	c.mux.HandleFunc("GET /lang", c.switchLanguage)
	c.signInRoutes(c.mux)
	c.inspectorRoutes(c.mux)
	c.supervisorRoutes(c.mux)
	c.adminRoutes(c.mux)
	c.calibrationRoutes(c.mux)
	c.mux.HandleFunc("/", c.notFound)
}

// maxFormBytes bounds a form post's body. Forms are read before the
// visitor is known (the CSRF proof is a form field), and Go spools a
// multipart file part of any size to disk; the largest real form, a
// policy or check set of at most the API's 1 MiB request in JSON, is
// under 4 MiB even percent-encoded.
const maxFormBytes = 4 << 20

// formReadTimeout bounds reading a form post's body: the server has no
// read timeout (feedback streams stay open), and a body trickled in byte
// by byte would otherwise hold its connection for ever. 4 MiB at 100 KiB/s.
var formReadTimeout = 45 * time.Second

// readForm reads a form post's body within formReadTimeout, before the
// handler runs; the deadline is lifted afterwards, as a deadline passed
// while a slow handler runs would cancel its context. A body not read in
// time (or over maxFormBytes) leaves the form empty, which the handlers
// refuse (no CSRF proof).
func readForm(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(formReadTimeout))
	err := r.ParseForm() // a url-encoded body; ParseMultipartForm hides its error
	if err == nil {
		if err = r.ParseMultipartForm(maxFormBytes); errors.Is(err, http.ErrNotMultipart) {
			err = nil
		}
	}
	if err != nil {
		// The rest of the body is not waited for (the server would, to
		// keep the connection): it is closed after the answer.
		w.Header().Set("Connection", "close")
		return
	}
	_ = rc.SetReadDeadline(time.Time{})
}

// ServeHTTP sets the security headers every response carries, then routes.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		readForm(w, r)
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// homeOf is where a role lands after signing in.
func homeOf(role string) string {
	switch role {
	case "inspector":
		return "/queue"
	case "supervisor":
		return "/inbox"
	case "admin":
		return "/weeks"
	}
	return "/login"
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	cred, ok := websession.Credential(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	who, err := c.whoAmI(r.Context(), cred, r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, homeOf(who.Role), http.StatusSeeOther)
}

// View is what a page handler works with: the visitor, their language, the
// API bound to their credential, and what the layout needs.
type View struct {
	W   http.ResponseWriter
	R   *http.Request
	Ctx context.Context
	Who Who
	API *API
	// Lang is "zh-CN" or "en".
	Lang  string
	Nonce string
	CSRF  string
	// Zone is the programme's time zone: times are shown in it.
	Zone *time.Location
	// Title is the page's title key (translated by the layout).
	Title string
	// Nav is the current section, for the menu.
	Nav string
	c   *Console
}

// T translates key into the visitor's language.
func (v *View) T(key string) string { return translate(v.Lang, key) }

// handler is a page: it renders into v.W or returns an error, which the
// console renders as an error page.
type handler func(v *View) error

// page wraps h: it requires a signed-in visitor of one of roles, checks the
// CSRF proof of state-changing requests, and renders h's error.
func (c *Console) page(roles []string, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := c.newView(w, r)
		cred, ok := websession.Credential(r)
		if !ok {
			c.toSignIn(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if websession.CrossSite(r) || !websession.ValidCSRF(cred, r.PostFormValue(websession.CSRFField)) {
				c.renderStatus(v, http.StatusForbidden, "error.csrf")
				return
			}
		}
		who, err := c.whoAmI(r.Context(), cred, r)
		if err != nil {
			if status.Code(err) == codes.Unauthenticated {
				websession.ClearCookie(w, c.cfg.Secure)
				c.toSignInEnded(w, r)
				return
			}
			c.renderError(v, err)
			return
		}
		if !roleIn(who.Role, roles) {
			// Another role's page: the same answer as a missing one.
			c.renderStatus(v, http.StatusNotFound, "error.not_found")
			return
		}
		v.Who = who
		v.CSRF = websession.CSRFToken(cred)
		v.Ctx = c.callContext(r, cred)
		v.API = newAPI(c.cfg.Conn)
		v.Zone = c.programmeZone(v.Ctx)
		if err := h(v); err != nil {
			c.renderError(v, err)
		}
	}
}

func roleIn(role string, roles []string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

// toSignIn sends a visitor without a session to the sign-in page, keeping
// where they were going (a local path only).
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request) {
	c.redirectToSignIn(w, r, false)
}

// toSignInEnded sends a visitor whose session no longer works (idle, at
// its end, or revoked) to sign in again, and the form says why.
func (c *Console) toSignInEnded(w http.ResponseWriter, r *http.Request) {
	c.redirectToSignIn(w, r, true)
}

func (c *Console) redirectToSignIn(w http.ResponseWriter, r *http.Request, ended bool) {
	q := url.Values{}
	if ended {
		q.Set("ended", "1")
	}
	if r.Method == http.MethodGet && localPath(r.URL.RequestURI()) {
		q.Set("next", r.URL.RequestURI())
	}
	target := "/login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (c *Console) newView(w http.ResponseWriter, r *http.Request) *View {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	v := &View{W: w, R: r, Ctx: r.Context(), Lang: languageOf(r), Nonce: base64.RawStdEncoding.EncodeToString(nonce), Zone: time.UTC, c: c}
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+v.Nonce+"'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	return v
}

// callContext carries the visitor's credential to the services, with their
// address for the server's log.
func (c *Console) callContext(r *http.Request, cred string) context.Context {
	md := metadata.Pairs("authorization", "Bearer "+cred)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		md.Set("x-forwarded-for", host)
	}
	return metadata.NewOutgoingContext(r.Context(), md)
}

// whoAmI asks the server who a credential belongs to, on every page: the
// in-process call is cheap (the server caches credentials), and a revoked
// session ends on its next page, as its next API call would.
func (c *Console) whoAmI(ctx context.Context, cred string, r *http.Request) (Who, error) {
	resp, err := qav1.NewAccessServiceClient(c.cfg.Conn).WhoAmI(c.callContext(r.WithContext(ctx), cred), &qav1.WhoAmIRequest{})
	if err != nil {
		return Who{}, err
	}
	return Who{Role: resp.GetRole(), Subject: resp.GetSubject(), SessionID: resp.GetSession().GetId()}, nil
}

// programmeZone is the zone of the newest policy, asked at most once a
// minute.
func (c *Console) programmeZone(ctx context.Context) *time.Location {
	now := c.now()
	c.zoneMu.Lock()
	defer c.zoneMu.Unlock()
	if c.zone != nil && now.Sub(c.zoneFetched) < time.Minute {
		return c.zone
	}
	resp, err := qav1.NewInfoServiceClient(c.cfg.Conn).GetServerInfo(ctx, &qav1.GetServerInfoRequest{})
	if err != nil {
		if c.zone != nil {
			return c.zone
		}
		return time.UTC
	}
	loc, err := time.LoadLocation(resp.GetTimeZone())
	if err != nil {
		loc = time.UTC
	}
	c.zone, c.zoneFetched = loc, now
	return loc
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.renderStatus(c.newView(w, r), http.StatusNotFound, "error.not_found")
}

// switchLanguage stores the chosen language in a cookie and goes back.
func (c *Console) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.URL.Query().Get("to")
	if lang != "en" {
		lang = "zh-CN"
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, Secure: c.cfg.Secure, HttpOnly: true})
	back := r.URL.Query().Get("back")
	if !localPath(back) {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// localPath reports whether p is a path on this site (not //host or a URL),
// so redirects to it cannot leave the site. Browsers drop tabs and
// newlines from a URL and read \ as /, so "/\t/evil" is //evil to them:
// control characters are refused anywhere.
func localPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return false
		}
	}
	return true
}

// renderError renders err as a page with the matching HTTP status. Only
// the status's own message reaches the page: the services word it for
// callers (field names, short prefixes of bad values).
func (c *Console) renderError(v *View, err error) {
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) {
			return
		}
		c.log.ErrorContext(v.R.Context(), "console page failed", "path", v.R.URL.Path, "err", err)
		c.renderStatus(v, http.StatusInternalServerError, "error.internal")
		return
	}
	switch st.Code() {
	case codes.PermissionDenied:
		if strings.HasPrefix(st.Message(), "inspector ") && strings.Contains(st.Message(), "is deactivated") {
			// Their own account is switched off (server/deactivation.go
			// refuses every call, WhoAmI too): say so, rather than "not
			// found" on their own queue.
			c.renderStatus(v, http.StatusForbidden, "error.deactivated")
			return
		}
		// Someone else's record and a missing one look the same.
		c.renderStatus(v, http.StatusNotFound, "error.not_found")
	case codes.NotFound:
		// Someone else's record and a missing one look the same.
		c.renderStatus(v, http.StatusNotFound, "error.not_found")
	case codes.Unauthenticated:
		c.toSignInEnded(v.W, v.R)
	case codes.InvalidArgument, codes.FailedPrecondition, codes.AlreadyExists, codes.OutOfRange:
		c.renderMessage(v, httpStatus(st.Code()), st.Message(), FieldErrors(err))
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		c.renderStatus(v, http.StatusServiceUnavailable, "error.unavailable")
	default:
		c.log.ErrorContext(v.R.Context(), "console page failed", "path", v.R.URL.Path, "code", st.Code().String(), "err", st.Message())
		c.renderStatus(v, http.StatusInternalServerError, "error.internal")
	}
}

func httpStatus(code codes.Code) int {
	switch code {
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.FailedPrecondition:
		return http.StatusPreconditionFailed
	case codes.AlreadyExists:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// FieldErrors returns the field violations of an INVALID_ARGUMENT error,
// by field path, for inline messages next to the inputs.
func FieldErrors(err error) map[string]string {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out[fv.GetField()] = fv.GetDescription()
			}
		}
	}
	return out
}

// addFormErrors adds an INVALID_ARGUMENT error to a form's errors: its field
// violations by field, or, when errs is still empty, its message under "".
// It reports false for any other error, which is not the form's to show.
func addFormErrors(errs map[string]string, err error) bool {
	if status.Code(err) != codes.InvalidArgument {
		return false
	}
	for k, m := range FieldErrors(err) {
		errs[k] = m
	}
	if len(errs) == 0 {
		errs[""] = status.Convert(err).Message()
	}
	return true
}
