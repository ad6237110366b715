package server

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// testClock is a settable clock for the server's Config.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// accessEnv is a server on a test clock with an AccessService client.
type accessEnv struct {
	*testEnv
	clock  *testClock
	access qav1.AccessServiceClient
}

func startAccess(t *testing.T, adjust func(*Config)) *accessEnv {
	t.Helper()
	clock := &testClock{t: time.Now().UTC().Truncate(time.Millisecond)}
	cfg := DefaultConfig()
	cfg.Now = clock.Now
	cfg.PublicURL = "https://qa.example.com/"
	if adjust != nil {
		adjust(&cfg)
	}
	env := startEnv(t, cfg)
	return &accessEnv{testEnv: env, clock: clock, access: qav1.NewAccessServiceClient(env.conn)}
}

func bearerCtx(t *testing.T, credential string) context.Context {
	return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+credential)
}

// link creates a login link for role and subject as an admin would and
// returns its code.
func (e *accessEnv) link(role store.Role, subject string) string {
	e.t.Helper()
	resp, err := e.access.CreateLoginLink(e.as(store.RoleAdmin, "lead"), &qav1.CreateLoginLinkRequest{Role: string(role), Subject: subject})
	if err != nil {
		e.t.Fatalf("CreateLoginLink: %v", err)
	}
	return resp.GetCode()
}

// signIn redeems code and returns the session's secret.
func (e *accessEnv) signIn(code string) string {
	e.t.Helper()
	resp, err := e.access.StartSession(e.t.Context(), &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: code}, UserAgent: "test"})
	if err != nil {
		e.t.Fatalf("StartSession: %v", err)
	}
	return resp.GetSecret()
}

func (e *accessEnv) failures(reason string) float64 {
	return testutil.ToFloat64(e.srv.gate.failures.WithLabelValues(reason))
}

func wantStatus(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
}

// A login link signs its person in once; the session is a bearer like a
// token, with the person's role and permissions.
func TestLoginLinkSignsInOnce(t *testing.T) {
	e := startAccess(t, nil)
	resp, err := e.access.CreateLoginLink(e.as(store.RoleAdmin, "lead"), &qav1.CreateLoginLinkRequest{Role: "inspector", Subject: "insp-1"})
	if err != nil {
		t.Fatal(err)
	}
	code := resp.GetCode()
	if raw, err := base64.RawURLEncoding.DecodeString(code); err != nil || len(raw) != 32 {
		t.Errorf("code %q is not 32 bytes of base64url: %v", code, err)
	}
	if want := "https://qa.example.com/login/" + code; resp.GetUrl() != want {
		t.Errorf("url = %q, want %q", resp.GetUrl(), want)
	}
	if got, want := resp.GetExpiresAt().AsTime(), e.clock.Now().Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("expires_at = %s, want %s", got, want)
	}

	start, err := e.access.StartSession(t.Context(), &qav1.StartSessionRequest{
		Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: code}, UserAgent: "Mozilla/5.0\n" + strings.Repeat("x", 300)})
	if err != nil {
		t.Fatalf("StartSession: %v", err)
	}
	secret := start.GetSecret()
	if !strings.HasPrefix(secret, "qs_"+start.GetSession().GetId()+"_") {
		t.Errorf("secret %q is not qs_<session id>_<secret>", secret)
	}
	sess := start.GetSession()
	if sess.GetRole() != "inspector" || sess.GetSubject() != "insp-1" || sess.GetStartedBy() != "link" {
		t.Errorf("session = %v", sess)
	}
	if ua := sess.GetUserAgent(); len(ua) != maxUserAgentBytes || strings.Contains(ua, "\n") {
		t.Errorf("user agent kept as %d bytes %q, want 200 on one line", len(ua), ua)
	}

	who, err := e.access.WhoAmI(bearerCtx(t, secret), &qav1.WhoAmIRequest{})
	if err != nil {
		t.Fatalf("WhoAmI as the session: %v", err)
	}
	if who.GetRole() != "inspector" || who.GetSubject() != "insp-1" || who.GetSession().GetId() != sess.GetId() {
		t.Errorf("WhoAmI = %v", who)
	}
	// The inspector's permissions, no more.
	review := qav1.NewReviewServiceClient(e.conn)
	if _, err := review.ListQueue(bearerCtx(t, secret), &qav1.ListQueueRequest{}); err != nil {
		t.Errorf("ListQueue as an inspector session: %v", err)
	}
	_, err = e.access.ListSessions(bearerCtx(t, secret), &qav1.ListSessionsRequest{})
	wantStatus(t, "ListSessions as an inspector session", err, codes.PermissionDenied)

	// Once only.
	_, err = e.access.StartSession(t.Context(), &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: code}})
	wantStatus(t, "second redemption", err, codes.Unauthenticated)
	if got := e.failures("link_used"); got != 1 {
		t.Errorf("link_used failures = %v, want 1", got)
	}
	// A wrong secret for the session's id is refused.
	_, err = e.access.WhoAmI(bearerCtx(t, secret[:len(secret)-4]+"AAAA"), &qav1.WhoAmIRequest{})
	wantStatus(t, "session with a wrong secret", err, codes.Unauthenticated)
	if got := e.failures("wrong_secret"); got != 1 {
		t.Errorf("wrong_secret failures = %v, want 1", got)
	}
}

// Unknown, expired and malformed codes are refused alike and counted by
// reason; bad requests name their field.
func TestStartSessionRefusals(t *testing.T) {
	e := startAccess(t, nil)
	expiring := e.link(store.RoleSupervisor, "sup-1")
	e.clock.Advance(24 * time.Hour)
	byCode := func(code string) error {
		_, err := e.access.StartSession(t.Context(), &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: code}})
		return err
	}
	wantStatus(t, "expired code", byCode(expiring), codes.Unauthenticated)
	wantStatus(t, "unknown code", byCode(base64.RawURLEncoding.EncodeToString(make([]byte, 32))), codes.Unauthenticated)
	wantStatus(t, "short code", byCode("abc"), codes.Unauthenticated)
	for reason, want := range map[string]float64{"link_expired": 1, "link_unknown": 2, "link_used": 0} {
		if got := e.failures(reason); got != want {
			t.Errorf("%s failures = %v, want %v", reason, got, want)
		}
	}
	checkField(t, "no credential", func() error {
		_, err := e.access.StartSession(t.Context(), &qav1.StartSessionRequest{})
		return err
	}(), "credential")
	checkField(t, "empty code", byCode(""), "login_code")
	admin := e.as(store.RoleAdmin, "lead")
	for _, c := range []struct {
		req   *qav1.CreateLoginLinkRequest
		field string
	}{
		{&qav1.CreateLoginLinkRequest{Role: "ingest", Subject: "bridge"}, "role"},
		{&qav1.CreateLoginLinkRequest{Role: "boss", Subject: "x"}, "role"},
		{&qav1.CreateLoginLinkRequest{Subject: "x"}, "role"},
		{&qav1.CreateLoginLinkRequest{Role: "admin"}, "subject"},
		{&qav1.CreateLoginLinkRequest{Role: "admin", Subject: "a\nb"}, "subject"},
	} {
		_, err := e.access.CreateLoginLink(admin, c.req)
		checkField(t, c.req.String(), err, c.field)
	}
	_, err := e.access.RevokeSession(admin, &qav1.RevokeSessionRequest{})
	checkField(t, "RevokeSession without id", err, "id")
	_, err = e.access.RevokeToken(admin, &qav1.RevokeTokenRequest{})
	checkField(t, "RevokeToken without id", err, "id")
	_, err = e.access.RevokeSession(admin, &qav1.RevokeSessionRequest{Id: "nope"})
	wantStatus(t, "RevokeSession(unknown)", err, codes.NotFound)
}

// checkField wants INVALID_ARGUMENT with a violation of field.
func checkField(t *testing.T, what string, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Errorf("%s: %v, want InvalidArgument naming %s", what, err, field)
		return
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Errorf("%s: %v names no field %q", what, err, field)
}

// A token of a console role starts a session; ingest, revoked and
// malformed tokens do not.
func TestStartSessionWithToken(t *testing.T) {
	e := startAccess(t, nil)
	mint := func(role store.Role, subject string) (string, store.Token) {
		plain, tok, err := NewToken(role, subject, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.CreateToken(t.Context(), tok, "qad"); err != nil {
			t.Fatal(err)
		}
		return plain, tok
	}
	byToken := func(token string) (*qav1.StartSessionResponse, error) {
		return e.access.StartSession(t.Context(), &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_Token{Token: token}})
	}
	sup, _ := mint(store.RoleSupervisor, "sup-1")
	resp, err := byToken(sup)
	if err != nil {
		t.Fatalf("StartSession with a supervisor token: %v", err)
	}
	if s := resp.GetSession(); s.GetRole() != "supervisor" || s.GetSubject() != "sup-1" || s.GetStartedBy() != "token" {
		t.Errorf("session = %v", s)
	}
	if got, want := resp.GetSession().GetExpiresAt().AsTime(), e.clock.Now().Add(12*time.Hour); !got.Equal(want) {
		t.Errorf("expires_at = %s, want the idle deadline %s", got, want)
	}
	ingest, _ := mint(store.RoleIngest, "bridge")
	_, err = byToken(ingest)
	wantStatus(t, "ingest token", err, codes.PermissionDenied)

	revoked, revokedTok := mint(store.RoleAdmin, "gone")
	// Cached as valid first: StartSession must not trust the cache.
	if _, err := e.access.WhoAmI(bearerCtx(t, revoked), &qav1.WhoAmIRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RevokeToken(t.Context(), revokedTok.ID, e.clock.Now(), "qad"); err != nil {
		t.Fatal(err)
	}
	_, err = byToken(revoked)
	wantStatus(t, "revoked token", err, codes.Unauthenticated)
	_, err = byToken("qs_abc_def")
	wantStatus(t, "a session in the token field", err, codes.Unauthenticated)
	checkField(t, "empty token", func() error { _, err := byToken(""); return err }(), "token")

	// A token's holder cannot end a "session" they do not have.
	_, err = e.access.EndSession(bearerCtx(t, sup), &qav1.EndSessionRequest{})
	wantStatus(t, "EndSession with a token", err, codes.FailedPrecondition)
	// Ingest may ask who it is, but not sign out.
	if who, err := e.access.WhoAmI(bearerCtx(t, ingest), &qav1.WhoAmIRequest{}); err != nil || who.GetRole() != "ingest" || who.GetSession() != nil {
		t.Errorf("WhoAmI as ingest = %v, %v", who, err)
	}
	_, err = e.access.EndSession(bearerCtx(t, ingest), &qav1.EndSessionRequest{})
	wantStatus(t, "EndSession as ingest", err, codes.PermissionDenied)
}

// Revoking a session, signing out and revoking the person's token each
// refuse the session at its next call, though the cache is long.
func TestSessionRevocationIsImmediate(t *testing.T) {
	e := startAccess(t, func(c *Config) { c.TokenCacheTTL = time.Hour })
	admin := e.as(store.RoleAdmin, "lead")
	who := func(secret string) error {
		_, err := e.access.WhoAmI(bearerCtx(t, secret), &qav1.WhoAmIRequest{})
		return err
	}

	revoked := e.signIn(e.link(store.RoleInspector, "insp-1"))
	if err := who(revoked); err != nil {
		t.Fatal(err)
	}
	list, err := e.access.ListSessions(admin, &qav1.ListSessionsRequest{Subject: "insp-1"})
	if err != nil || len(list.GetSessions()) != 1 {
		t.Fatalf("ListSessions = %v, %v", list, err)
	}
	r, err := e.access.RevokeSession(admin, &qav1.RevokeSessionRequest{Id: list.GetSessions()[0].GetId()})
	if err != nil || r.GetSession().GetRevokedAt() == nil {
		t.Fatalf("RevokeSession = %v, %v", r, err)
	}
	wantStatus(t, "revoked session", who(revoked), codes.Unauthenticated)

	ended := e.signIn(e.link(store.RoleSupervisor, "sup-1"))
	if _, err := e.access.EndSession(bearerCtx(t, ended), &qav1.EndSessionRequest{}); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	wantStatus(t, "ended session", who(ended), codes.Unauthenticated)

	// The person's token is revoked: both their sessions end.
	plain, tok, err := NewToken(store.RoleSupervisor, "sup-2", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateToken(t.Context(), tok, "qad"); err != nil {
		t.Fatal(err)
	}
	byToken, err := e.access.StartSession(t.Context(), &qav1.StartSessionRequest{Credential: &qav1.StartSessionRequest_Token{Token: plain}})
	if err != nil {
		t.Fatal(err)
	}
	byLink := e.signIn(e.link(store.RoleSupervisor, "sup-2"))
	other := e.signIn(e.link(store.RoleSupervisor, "sup-3"))
	for _, s := range []string{byToken.GetSecret(), byLink, other} {
		if err := who(s); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := e.access.RevokeToken(admin, &qav1.RevokeTokenRequest{Id: tok.ID})
	if err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	if rt.GetSessionsEnded() != 2 || rt.GetToken().GetRevokedAt() == nil || rt.GetToken().GetSubject() != "sup-2" {
		t.Errorf("RevokeToken = %v, want the token revoked and 2 sessions ended", rt)
	}
	wantStatus(t, "token-started session after RevokeToken", who(byToken.GetSecret()), codes.Unauthenticated)
	wantStatus(t, "link-started session after RevokeToken", who(byLink), codes.Unauthenticated)
	if err := who(other); err != nil {
		t.Errorf("another person's session after RevokeToken: %v", err)
	}
	active, err := e.access.ListSessions(admin, &qav1.ListSessionsRequest{ActiveOnly: true})
	if err != nil || len(active.GetSessions()) != 1 || active.GetSessions()[0].GetSubject() != "sup-3" {
		t.Errorf("active sessions = %v, %v; want only sup-3's", active, err)
	}
	toks, err := e.access.ListTokens(admin, &qav1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	revokedListed := false
	for _, listed := range toks.GetTokens() {
		revokedListed = revokedListed || (listed.GetId() == tok.ID && listed.GetRevokedAt() != nil)
	}
	if !revokedListed {
		t.Errorf("ListTokens = %v, want %s listed as revoked", toks, tok.ID)
	}
}

// A revocation made elsewhere (another replica, `qad session revoke`)
// takes effect once the cache entry expires.
func TestSessionRevokedElsewhereWithinCacheTTL(t *testing.T) {
	e := startAccess(t, func(c *Config) { c.TokenCacheTTL = 5 * time.Second })
	secret := e.signIn(e.link(store.RoleAdmin, "lead-2"))
	call := func() error {
		_, err := e.access.WhoAmI(bearerCtx(t, secret), &qav1.WhoAmIRequest{})
		return err
	}
	if err := call(); err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(secret, sessionPrefix), "_")
	if _, err := e.store.RevokeSession(t.Context(), id, e.clock.Now(), "qad"); err != nil {
		t.Fatal(err)
	}
	if err := call(); err != nil {
		t.Errorf("within the cache TTL: %v (cached as valid)", err)
	}
	e.clock.Advance(5 * time.Second)
	wantStatus(t, "after the cache TTL", call(), codes.Unauthenticated)
	if got := e.failures("revoked"); got != 1 {
		t.Errorf("revoked failures = %v, want 1", got)
	}
}

// A session ends when unused for the idle timeout, and after the absolute
// maximum however busy; its use is recorded at most once per interval.
func TestSessionExpiry(t *testing.T) {
	e := startAccess(t, func(c *Config) {
		c.TokenCacheTTL = 0
		c.SessionIdle = time.Hour
		c.SessionMax = 3 * time.Hour
	})
	secret := e.signIn(e.link(store.RoleSupervisor, "sup-1"))
	id, _, _ := strings.Cut(strings.TrimPrefix(secret, sessionPrefix), "_")
	started := e.clock.Now()
	call := func() error {
		_, err := e.access.WhoAmI(bearerCtx(t, secret), &qav1.WhoAmIRequest{})
		e.srv.authn.wait()
		return err
	}
	lastSeen := func() time.Time {
		s, err := e.store.GetSession(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return s.LastSeenAt
	}

	e.clock.Advance(10 * time.Second)
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(started) {
		t.Errorf("used 10 s after sign-in: last seen %s, want no write yet (%s)", got, started)
	}
	// Used every 50 minutes: each use is recorded, so it stays alive up
	// to the absolute maximum.
	for range 3 {
		e.clock.Advance(50 * time.Minute)
		if err := call(); err != nil {
			t.Fatalf("used %s after sign-in: %v", e.clock.Now().Sub(started), err)
		}
		if got := lastSeen(); !got.Equal(e.clock.Now()) {
			t.Errorf("last seen %s, want %s", got, e.clock.Now())
		}
	}
	e.clock.Advance(3*time.Hour - e.clock.Now().Sub(started))
	wantStatus(t, "at the absolute maximum", call(), codes.Unauthenticated)

	idle := e.signIn(e.link(store.RoleSupervisor, "sup-2"))
	e.clock.Advance(time.Hour)
	_, err := e.access.WhoAmI(bearerCtx(t, idle), &qav1.WhoAmIRequest{})
	wantStatus(t, "idle for the idle timeout", err, codes.Unauthenticated)
	if got := e.failures("expired"); got != 2 {
		t.Errorf("expired failures = %v, want 2", got)
	}
}

// StartSession needs no bearer, but its request is still held to the
// small request limit, so a stranger cannot make the server decode a
// large body.
func TestStartSessionRequestLimit(t *testing.T) {
	e := startAccess(t, func(c *Config) { c.MaxRequestBytes = 4 << 10 })
	_, err := e.access.StartSession(t.Context(), &qav1.StartSessionRequest{
		Credential: &qav1.StartSessionRequest_LoginCode{LoginCode: "x"}, UserAgent: strings.Repeat("a", 8<<10)})
	wantStatus(t, "an 8 KiB StartSession over a 4 KiB limit", err, codes.ResourceExhausted)
}

func TestCleanUserAgent(t *testing.T) {
	for in, want := range map[string]string{
		"Mozilla/5.0 (X11)":      "Mozilla/5.0 (X11)",
		"a\r\nb\x00c":            "abc",
		strings.Repeat("中", 100): strings.Repeat("中", 66), // 198 bytes: the 67th would cross 200
		strings.Repeat("a", 250): strings.Repeat("a", 200),
		"ok\u2028":               "ok\u2028",
	} {
		if got := cleanUserAgent(in); got != want {
			t.Errorf("cleanUserAgent(%q) = %q, want %q", in, got, want)
		}
	}
}
