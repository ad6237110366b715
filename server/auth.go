package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"qa-sampling/fielderr"
	"qa-sampling/store"
)

// Tokens look like qa_<id>_<secret> and console sessions qs_<id>_<secret>:
// the id finds the stored record, the secret is compared by its SHA-256
// digest in constant time. Both travel as "authorization: Bearer".
const (
	tokenPrefix   = "qa_"
	sessionPrefix = "qs_"
)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken mints a token for role and subject. It returns the plaintext,
// shown to the admin once, and the record to store, which holds only the
// secret's digest. The subject is an id (an inspector id, a
// supervisor_id): it follows the id rules, as it lands in every audit row.
func NewToken(role store.Role, subject string, now time.Time) (string, store.Token, error) {
	var l fielderr.List
	l.ID("subject", subject, true)
	if err := l.Err(); err != nil {
		return "", store.Token{}, err
	}
	plain, id, digest, err := newCredential(tokenPrefix)
	if err != nil {
		return "", store.Token{}, err
	}
	return plain, store.Token{ID: id, SecretHash: digest, Role: role, Subject: subject, CreatedAt: now}, nil
}

// newCredential mints a credential <prefix><id>_<secret>: an id (newID)
// to find the record by and a 256-bit secret, of which only the SHA-256
// digest is stored.
func newCredential(prefix string) (plain, id string, digest []byte, err error) {
	if id, err = newID(); err != nil {
		return "", "", nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", "", nil, err
	}
	secretText := base64.RawURLEncoding.EncodeToString(secret)
	sum := sha256.Sum256([]byte(secretText))
	return prefix + id + "_" + secretText, id, sum[:], nil
}

// newID is a random 40-bit id in lower-case base32: public, short enough
// to type, and it names the record in lists and the audit trail.
func newID() (string, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return strings.ToLower(idEncoding.EncodeToString(b)), nil
}

// parseCredential splits <prefix><id>_<secret>.
func parseCredential(prefix, bearer string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(bearer, prefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	return id, secret, ok && id != "" && secret != ""
}

// secretMatches compares a secret with a stored digest in constant time.
func secretMatches(secret string, digest []byte) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], digest) == 1
}

// ConsoleRole reports whether r may sign in to the console: every role
// but ingest, which is a system's.
func ConsoleRole(r store.Role) bool {
	return r == store.RoleAdmin || r == store.RoleInspector || r == store.RoleSupervisor
}

// ValidRole reports whether r is one of the four roles.
func ValidRole(r store.Role) bool {
	switch r {
	case store.RoleAdmin, store.RoleIngest, store.RoleInspector, store.RoleSupervisor:
		return true
	}
	return false
}

// Principal is the authenticated caller: an API token's holder, or a
// console session's (SessionID set, TokenID empty).
type Principal struct {
	TokenID   string
	SessionID string
	Role      store.Role
	Subject   string
}

type principalKey struct{}

// PrincipalFrom returns the caller of an authenticated call.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authenticator turns a bearer token into a principal. It is an interface so
// mTLS identities or OIDC can be added beside pre-shared tokens.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (Principal, error)
}

// errBadToken is every reason a credential is refused. The caller is told
// only this, so a guesser learns nothing; the wrapped reasons feed the
// qa_auth_failures_total metric.
var (
	errBadToken       = errors.New("invalid or revoked token")
	errTokenMalformed = fmt.Errorf("%w: not a qa_<id>_<secret> token or qs_<id>_<secret> session", errBadToken)
	errTokenUnknown   = fmt.Errorf("%w: unknown token id", errBadToken)
	errTokenSecret    = fmt.Errorf("%w: wrong secret", errBadToken)
	errTokenRevoked   = fmt.Errorf("%w: revoked", errBadToken)
	errSessionExpired = fmt.Errorf("%w: session expired", errBadToken)
)

// TokenAuthenticator checks tokens and console sessions against the
// store. Valid ones are cached briefly so a busy caller does not cost a
// query per call; the cache TTL bounds how long a credential revoked
// elsewhere (another replica, `qad session revoke`) keeps working on a
// running server. Revocations this server makes itself drop the cache
// entries at once (forgetSession, forgetPerson).
type TokenAuthenticator struct {
	Store store.TokenStore
	// Sessions, when set, admits console sessions (qs_…) too.
	Sessions store.SessionStore
	TTL      time.Duration
	// SessionIdle ends a session unused this long; SessionMax ends any
	// session this long after it began (also one begun under a longer
	// setting). Zero disables either.
	SessionIdle, SessionMax time.Duration
	Now                     func() time.Time
	// Log receives failures to record a session's use.
	Log *slog.Logger

	mu       sync.Mutex
	cache    map[string]cachedToken
	sessions map[string]cachedSession
	// touching are the sessions whose use is being recorded; touches
	// waits for those writes.
	touching map[string]bool
	touches  sync.WaitGroup
}

type cachedToken struct {
	token   store.Token
	expires time.Time
}

type cachedSession struct {
	session store.Session
	expires time.Time
}

// Authenticate implements Authenticator.
func (a *TokenAuthenticator) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if strings.HasPrefix(bearer, sessionPrefix) && a.Sessions != nil {
		return a.authenticateSession(ctx, bearer)
	}
	tok, err := a.checkToken(ctx, bearer, true)
	if err != nil {
		return Principal{}, err
	}
	return Principal{TokenID: tok.ID, Role: tok.Role, Subject: tok.Subject}, nil
}

// checkToken returns the valid token bearer is, read through the cache
// when cached is set.
func (a *TokenAuthenticator) checkToken(ctx context.Context, bearer string, cached bool) (store.Token, error) {
	id, secret, ok := parseCredential(tokenPrefix, bearer)
	if !ok {
		return store.Token{}, errTokenMalformed
	}
	tok, err := a.lookup(ctx, id, cached)
	if err != nil {
		return store.Token{}, err
	}
	if !secretMatches(secret, tok.SecretHash) {
		return store.Token{}, errTokenSecret
	}
	if !tok.RevokedAt.IsZero() {
		return store.Token{}, errTokenRevoked
	}
	return tok, nil
}

func (a *TokenAuthenticator) lookup(ctx context.Context, id string, cached bool) (store.Token, error) {
	now := a.Now()
	a.mu.Lock()
	c, ok := a.cache[id]
	a.mu.Unlock()
	if cached && ok && now.Before(c.expires) {
		return c.token, nil
	}
	tok, err := a.Store.GetToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, errTokenUnknown
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token lookup: %w", err)
	}
	a.mu.Lock()
	if a.cache == nil {
		a.cache = make(map[string]cachedToken)
	}
	a.cache[id] = cachedToken{token: tok, expires: now.Add(a.TTL)}
	a.mu.Unlock()
	return tok, nil
}

// authenticateSession admits a console session: right secret, not
// revoked, not past its absolute end, used within the idle timeout. Its
// use is recorded (TouchSession) at most once per touchInterval.
func (a *TokenAuthenticator) authenticateSession(ctx context.Context, bearer string) (Principal, error) {
	id, secret, ok := parseCredential(sessionPrefix, bearer)
	if !ok {
		return Principal{}, errTokenMalformed
	}
	now := a.Now()
	sess, err := a.lookupSession(ctx, id, now)
	if err != nil {
		return Principal{}, err
	}
	if !secretMatches(secret, sess.SecretHash) {
		return Principal{}, errTokenSecret
	}
	if !sess.RevokedAt.IsZero() || !ConsoleRole(sess.Role) {
		return Principal{}, errTokenRevoked
	}
	if !now.Before(a.sessionEnd(sess)) {
		return Principal{}, errSessionExpired
	}
	if now.Sub(sess.LastSeenAt) >= a.touchInterval() {
		a.touch(id, now)
	}
	return Principal{SessionID: sess.ID, Role: sess.Role, Subject: sess.Subject}, nil
}

// sessionEnd is when s ends unless it is used again (SessionEnd).
func (a *TokenAuthenticator) sessionEnd(s store.Session) time.Time {
	return SessionEnd(s, a.SessionIdle, a.SessionMax)
}

// SessionEnd is when session s ends unless it is used again: its idle
// deadline (LastSeenAt + idle) or its absolute end (its ExpiresAt, or
// CreatedAt + maxAge when that is sooner), whichever comes first. A zero
// idle or maxAge leaves that bound out.
func SessionEnd(s store.Session, idle, maxAge time.Duration) time.Time {
	end := s.ExpiresAt
	if maxAge > 0 {
		if byMax := s.CreatedAt.Add(maxAge); byMax.Before(end) {
			end = byMax
		}
	}
	if idle > 0 {
		if byIdle := s.LastSeenAt.Add(idle); byIdle.Before(end) {
			end = byIdle
		}
	}
	return end
}

// touchInterval is how stale a session's recorded last use may get: a
// minute, or a quarter of the idle timeout when that is short (tests), so
// that a session in use is never taken for idle.
func (a *TokenAuthenticator) touchInterval() time.Duration {
	if a.SessionIdle > 0 && a.SessionIdle/4 < time.Minute {
		return a.SessionIdle / 4
	}
	return time.Minute
}

func (a *TokenAuthenticator) lookupSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	a.mu.Lock()
	c, ok := a.sessions[id]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.session, nil
	}
	sess, err := a.Sessions.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, errTokenUnknown
	}
	if err != nil {
		return store.Session{}, fmt.Errorf("session lookup: %w", err)
	}
	a.mu.Lock()
	if a.sessions == nil {
		a.sessions = make(map[string]cachedSession)
	}
	// Every sign-in is a new id: drop the stale entries now and then so a
	// long-running server does not keep every session it ever saw.
	if len(a.sessions) >= sessionCacheSweep {
		for k, c := range a.sessions {
			if !now.Before(c.expires) {
				delete(a.sessions, k)
			}
		}
	}
	a.sessions[id] = cachedSession{session: sess, expires: now.Add(a.TTL)}
	a.mu.Unlock()
	return sess, nil
}

// sessionCacheSweep is the cache size at which expired session entries are
// swept out.
const sessionCacheSweep = 4096

// touchTimeout bounds one write of a session's last use.
const touchTimeout = 5 * time.Second

// touch records session id's use at now in the background: the
// authenticator runs on the connection's reader goroutine (authGate.tap),
// which must not wait for a write. The cached copy is moved forward at
// once, so the next calls do not write again.
func (a *TokenAuthenticator) touch(id string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.sessions[id]; ok {
		c.session.LastSeenAt = now
		a.sessions[id] = c
	}
	if a.touching[id] {
		return
	}
	if a.touching == nil {
		a.touching = make(map[string]bool)
	}
	a.touching[id] = true
	a.touches.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), touchTimeout)
		defer cancel()
		if err := a.Sessions.TouchSession(ctx, id, now); err != nil && a.Log != nil {
			a.Log.Warn("could not record a session's use", "session_id", id, "err", err)
		}
		a.mu.Lock()
		delete(a.touching, id)
		a.mu.Unlock()
	})
}

// wait waits for the session uses being recorded.
func (a *TokenAuthenticator) wait() { a.touches.Wait() }

// forgetSession drops a session from the cache, so that its revocation
// here takes effect at the next call.
func (a *TokenAuthenticator) forgetSession(id string) {
	a.mu.Lock()
	delete(a.sessions, id)
	a.mu.Unlock()
}

// forgetPerson drops token id and every cached session of role and
// subject from the cache.
func (a *TokenAuthenticator) forgetPerson(tokenID string, role store.Role, subject string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.cache, tokenID)
	for id, c := range a.sessions {
		if c.session.Role == role && c.session.Subject == subject {
			delete(a.sessions, id)
		}
	}
}

// authLookupTimeout bounds the store lookup of an uncached token. The
// lookup runs on the connection's reader goroutine (see authGate.tap), so a
// slow store must not stall the connection for long.
const authLookupTimeout = 2 * time.Second

// authGate admits a call from its headers alone. grpc-go reads and decodes
// a unary request before any interceptor runs, and buffers up to a stream
// window of any request, so an interceptor is too late to keep strangers'
// bytes out of memory. The gate runs as the transport's InTapHandle,
// before the stream exists: a refused call's body is never read.
type authGate struct {
	authn    Authenticator
	log      *slog.Logger
	failures *prometheus.CounterVec
}

func newAuthGate(authn Authenticator, log *slog.Logger, reg prometheus.Registerer) *authGate {
	failures := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "qa_auth_failures_total",
		Help: "Calls refused before they ran, by reason: missing, malformed, unknown, wrong_secret, revoked, expired (token or session), permission_denied (role), unavailable (token store); and sign-ins refused: link_unknown, link_used, link_expired (login code).",
	}, []string{"reason"})
	reg.MustRegister(failures)
	for _, r := range []string{"missing", "malformed", "unknown", "wrong_secret", "revoked", "expired", "permission_denied", "unavailable",
		"link_unknown", "link_used", "link_expired"} {
		failures.WithLabelValues(r)
	}
	return &authGate{authn: authn, log: log, failures: failures}
}

// tap is the InTapHandle. It runs on the connection's reader goroutine,
// one call at a time, so it must be quick: valid tokens are cached, and an
// uncached one costs one indexed lookup, bounded by authLookupTimeout.
func (g *authGate) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if publicService(info.FullMethodName) {
		return ctx, nil
	}
	p, err := g.admit(ctx, info.FullMethodName, info.Header)
	if err != nil {
		return nil, err
	}
	return context.WithValue(ctx, principalKey{}, p), nil
}

// admit authenticates the caller from the request headers and checks
// their role for method.
func (g *authGate) admit(ctx context.Context, method string, md metadata.MD) (Principal, error) {
	bearer, ok := bearerFrom(md)
	if !ok {
		g.refuse(ctx, method, "missing")
		return Principal{}, status.Error(codes.Unauthenticated, "missing bearer token: send metadata \"authorization: Bearer <token>\"")
	}
	lookupCtx, cancel := context.WithTimeout(ctx, authLookupTimeout)
	defer cancel()
	p, err := g.authn.Authenticate(lookupCtx, bearer)
	if errors.Is(err, errBadToken) {
		g.refuse(ctx, method, tokenFailureReason(err))
		if strings.HasPrefix(bearer, sessionPrefix) {
			return Principal{}, status.Error(codes.Unauthenticated, "invalid, expired or ended session: sign in again")
		}
		return Principal{}, status.Error(codes.Unauthenticated, "invalid or revoked token")
	}
	if err != nil {
		g.refuse(ctx, method, "unavailable")
		g.log.ErrorContext(ctx, "authentication failed", "grpc.method", method, "err", err)
		return Principal{}, status.Error(codes.Unavailable, "cannot check the token now")
	}
	if !permitted(p.Role, method) {
		g.refuse(ctx, method, "permission_denied")
		return Principal{}, permissionDenied(p.Role, method)
	}
	return p, nil
}

// recheck authenticates the caller of a running call again from its
// headers, for streams that outlive their credential.
func (g *authGate) recheck(ctx context.Context, method string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	_, err := g.admit(ctx, method, md)
	return err
}

func (g *authGate) refuse(ctx context.Context, method, reason string) {
	g.failures.WithLabelValues(reason).Inc()
	g.log.InfoContext(ctx, "call refused", "grpc.method", method, "reason", reason)
}

func tokenFailureReason(err error) string {
	switch {
	case errors.Is(err, errTokenMalformed):
		return "malformed"
	case errors.Is(err, errTokenUnknown):
		return "unknown"
	case errors.Is(err, errTokenSecret):
		return "wrong_secret"
	case errors.Is(err, errTokenRevoked):
		return "revoked"
	case errors.Is(err, errSessionExpired):
		return "expired"
	}
	return "invalid"
}

// permissionDenied names the method only if it is one of ours: the path
// is the caller's text.
func permissionDenied(role store.Role, method string) error {
	if _, known := methodRules[method]; !known {
		return status.Errorf(codes.PermissionDenied, "role %q may not call this method", role)
	}
	return status.Errorf(codes.PermissionDenied, "role %q may not call %s", role, method)
}

// bearerFrom returns the token of an "authorization: Bearer <token>" header.
func bearerFrom(md metadata.MD) (string, bool) {
	values := md.Get("authorization")
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
		return "", false
	}
	return token, true
}

// authorize is the interceptors' check: the principal the tap admitted
// must be there and still be allowed the method. It fails closed should a
// transport ever bypass the tap (grpc.Server.ServeHTTP does).
func authorize(ctx context.Context, method string) error {
	if publicService(method) {
		return nil
	}
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "missing bearer token: send metadata \"authorization: Bearer <token>\"")
	}
	if !permitted(p.Role, method) {
		return permissionDenied(p.Role, method)
	}
	return nil
}

func authorizeUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := authorize(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func authorizeStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := authorize(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}
