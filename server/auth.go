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
	"strings"
	"sync"
	"time"

	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"qa-sampling/store"
)

// Tokens look like qa_<id>_<secret>: the id finds the stored record, the
// secret is compared by its SHA-256 digest in constant time.
const tokenPrefix = "qa_"

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewToken mints a token for role and subject. It returns the plaintext,
// shown to the admin once, and the record to store, which holds only the
// secret's digest.
func NewToken(role store.Role, subject string, now time.Time) (string, store.Token, error) {
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

var errBadToken = errors.New("invalid or revoked token")

// TokenAuthenticator checks tokens against the store. Valid tokens are
// cached briefly so a busy caller does not cost a query per call; the
// cache TTL bounds how long a revoked token keeps working on a running server.
type TokenAuthenticator struct {
	Store store.Store
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
		return Principal{}, errBadToken
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || id == "" || secret == "" {
		return Principal{}, errBadToken
	}
	tok, err := a.lookup(ctx, id)
	if err != nil {
		return Principal{}, err
	}
	digest := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(digest[:], tok.SecretHash) != 1 || !tok.RevokedAt.IsZero() {
		return Principal{}, errBadToken
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
		return store.Token{}, errBadToken
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

// methodRoles lists, per full method name, the roles allowed to call it.
// A method missing here is denied to everyone: new methods fail closed.
var methodRoles = map[string][]store.Role{
	"/qa.v1.IngestService/UpsertAgents":    {store.RoleIngest, store.RoleAdmin},
	"/qa.v1.IngestService/PushTranscripts": {store.RoleIngest, store.RoleAdmin},
	"/qa.v1.IngestService/PushTranscript":  {store.RoleIngest, store.RoleAdmin},
	"/qa.v1.IngestService/GetTranscript":   {store.RoleAdmin},

	"/qa.v1.SamplingService/GetPolicy":       {store.RoleAdmin},
	"/qa.v1.SamplingService/UpdatePolicy":    {store.RoleAdmin},
	"/qa.v1.SamplingService/ValidatePolicy":  {store.RoleAdmin},
	"/qa.v1.SamplingService/RunWeek":         {store.RoleAdmin},
	"/qa.v1.SamplingService/PreviewWeek":     {store.RoleAdmin},
	"/qa.v1.SamplingService/GetRun":          {store.RoleAdmin},
	"/qa.v1.SamplingService/ListRuns":        {store.RoleAdmin},
	"/qa.v1.SamplingService/ListPicks":       {store.RoleAdmin},
	"/qa.v1.SamplingService/UpsertInspector": {store.RoleAdmin},
	"/qa.v1.SamplingService/ListInspectors":  {store.RoleAdmin},

	"/qa.v1.ReviewService/ListQueue":    {store.RoleInspector},
	"/qa.v1.ReviewService/ReleaseItem":  {store.RoleInspector},
	"/qa.v1.ReviewService/SkipItem":     {store.RoleInspector},
	"/qa.v1.ReviewService/OpenItem":     {store.RoleInspector},
	"/qa.v1.ReviewService/SubmitReview": {store.RoleInspector},
	"/qa.v1.ReviewService/GetReview":    {store.RoleInspector, store.RoleSupervisor, store.RoleAdmin},

	"/qa.v1.RubricService/GetRubric":      {store.RoleAdmin, store.RoleInspector, store.RoleSupervisor},
	"/qa.v1.RubricService/ListRubrics":    {store.RoleAdmin},
	"/qa.v1.RubricService/CreateRubric":   {store.RoleAdmin},
	"/qa.v1.RubricService/UpdateRubric":   {store.RoleAdmin},
	"/qa.v1.RubricService/ActivateRubric": {store.RoleAdmin},
	"/qa.v1.RubricService/ValidateRubric": {store.RoleAdmin},

	"/qa.v1.FeedbackService/ListFeedback":        {store.RoleSupervisor, store.RoleAdmin},
	"/qa.v1.FeedbackService/WatchFeedback":       {store.RoleSupervisor, store.RoleAdmin},
	"/qa.v1.FeedbackService/AcknowledgeFeedback": {store.RoleSupervisor},
	"/qa.v1.FeedbackService/OpenDispute":         {store.RoleSupervisor},
	"/qa.v1.FeedbackService/ListDisputes":        {store.RoleSupervisor, store.RoleAdmin},

	"/qa.v1.ReportService/GetAgentReport": {store.RoleSupervisor, store.RoleAdmin},
	"/qa.v1.ReportService/GetTeamReport":  {store.RoleSupervisor, store.RoleAdmin},

	"/qa.v1.AuditService/ListAuditEvents": {store.RoleAdmin},
}

// publicService reports methods that need no token: health checks and
// reflection, so load balancers and grpcurl work without credentials.
func publicService(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.Health/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1.ServerReflection/") ||
		strings.HasPrefix(method, "/grpc.reflection.v1alpha.ServerReflection/")
}

// authFunc authenticates the caller and checks their role for the method.
func authFunc(a Authenticator, logf func(ctx context.Context, msg string, args ...any)) grpcauth.AuthFunc {
	return func(ctx context.Context) (context.Context, error) {
		method, _ := grpc.Method(ctx)
		if publicService(method) {
			return ctx, nil
		}
		bearer, err := grpcauth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, "missing bearer token: send metadata \"authorization: Bearer <token>\"")
		}
		p, err := a.Authenticate(ctx, bearer)
		if errors.Is(err, errBadToken) {
			return nil, status.Error(codes.Unauthenticated, "invalid or revoked token")
		}
		if err != nil {
			logf(ctx, "authentication failed", "err", err)
			return nil, status.Error(codes.Unavailable, "cannot check the token now")
		}
		allowed := methodRoles[method]
		permitted := false
		for _, r := range allowed {
			if r == p.Role {
				permitted = true
				break
			}
		}
		if !permitted {
			return nil, status.Errorf(codes.PermissionDenied, "role %q may not call %s", p.Role, method)
		}
		return context.WithValue(ctx, principalKey{}, p), nil
	}
}
