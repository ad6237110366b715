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

// Tokens look like qa_<id>_<secret>: the id finds the stored record, the
// secret is compared by its SHA-256 digest in constant time.
const tokenPrefix = "qa_"

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
	idBytes := make([]byte, 5)
	secret := make([]byte, 32)
	if _, err := rand.Read(idBytes); err != nil {
		return "", store.Token{}, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", store.Token{}, err
	}
	id := strings.ToLower(idEncoding.EncodeToString(idBytes))
	secretText := base64.RawURLEncoding.EncodeToString(secret)
	digest := sha256.Sum256([]byte(secretText))
	return tokenPrefix + id + "_" + secretText, store.Token{
		ID: id, SecretHash: digest[:], Role: role, Subject: subject, CreatedAt: now,
	}, nil
}

// ValidRole reports whether r is one of the four roles.
func ValidRole(r store.Role) bool {
	switch r {
	case store.RoleAdmin, store.RoleIngest, store.RoleInspector, store.RoleSupervisor:
		return true
	}
	return false
}

// Principal is the authenticated caller.
type Principal struct {
	TokenID string
	Role    store.Role
	Subject string
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

// errBadToken is every reason a token is refused. The caller is told only
// this, so a guesser learns nothing; the wrapped reasons feed the
// qa_auth_failures_total metric.
var (
	errBadToken       = errors.New("invalid or revoked token")
	errTokenMalformed = fmt.Errorf("%w: not a qa_<id>_<secret> token", errBadToken)
	errTokenUnknown   = fmt.Errorf("%w: unknown token id", errBadToken)
	errTokenSecret    = fmt.Errorf("%w: wrong secret", errBadToken)
	errTokenRevoked   = fmt.Errorf("%w: revoked", errBadToken)
)

// TokenAuthenticator checks tokens against the store. Valid tokens are
// cached briefly so a busy caller does not cost a query per call; the
// cache TTL bounds how long a revoked token keeps working on a running server.
type TokenAuthenticator struct {
	Store store.TokenStore
	TTL   time.Duration
	Now   func() time.Time

	mu    sync.Mutex
	cache map[string]cachedToken
}

type cachedToken struct {
	token   store.Token
	expires time.Time
}

// Authenticate implements Authenticator.
func (a *TokenAuthenticator) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	rest, ok := strings.CutPrefix(bearer, tokenPrefix)
	if !ok {
		return Principal{}, errTokenMalformed
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return Principal{}, errTokenMalformed
	}
	tok, err := a.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	digest := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(digest[:], tok.SecretHash) != 1 {
		return Principal{}, errTokenSecret
	}
	if !tok.RevokedAt.IsZero() {
		return Principal{}, errTokenRevoked
	}
	return Principal{TokenID: tok.ID, Role: tok.Role, Subject: tok.Subject}, nil
}

func (a *TokenAuthenticator) lookup(ctx context.Context, id string) (store.Token, error) {
	now := a.Now()
	a.mu.Lock()
	c, ok := a.cache[id]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
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
		Help: "Calls refused before they ran, by reason: missing, malformed, unknown, wrong_secret, revoked (token), permission_denied (role), unavailable (token store).",
	}, []string{"reason"})
	reg.MustRegister(failures)
	for _, r := range []string{"missing", "malformed", "unknown", "wrong_secret", "revoked", "permission_denied", "unavailable"} {
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
