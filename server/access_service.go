package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"qa-sampling/fielderr"
	qav1 "qa-sampling/proto/qa/v1"
	"qa-sampling/store"
)

// accessService signs people in to the console and lets admins manage
// credentials. Sessions are checked by the authenticator like tokens;
// this service makes, lists and ends them.
type accessService struct {
	qav1.UnimplementedAccessServiceServer
	store Storage
	authn *TokenAuthenticator
	// gate counts refused sign-ins in qa_auth_failures_total.
	gate *authGate
	now  func() time.Time
	log  *slog.Logger
	// publicURL is the console's address, set once the HTTP listener is
	// known (Server.SetPublicURL).
	publicURL  atomic.Pointer[string]
	linkTTL    time.Duration
	sessionMax time.Duration
}

// maxListedSessions bounds ListSessions, which has no paging: the live
// sessions are a few per person; the whole history can be read with
// `qad session list --all` on the server host.
const maxListedSessions = 1000

// maxUserAgentBytes is how much of a browser's User-Agent a session keeps.
const maxUserAgentBytes = 200

// loginCodeLen is the length of a login code: 32 bytes in base64url.
var loginCodeLen = base64.RawURLEncoding.EncodedLen(32)

// NewLoginLink mints a one-time login link for role and subject, made by
// createdBy at now and working for ttl. It returns the code, which goes
// in the URL once and is never stored, and the record to store, which
// holds only the code's SHA-256 digest.
func NewLoginLink(role store.Role, subject, createdBy string, now time.Time, ttl time.Duration) (string, store.LoginLink, error) {
	var l fielderr.List
	if !ConsoleRole(role) {
		l.Add("role", "%s cannot sign in to the console: use admin, inspector or supervisor", fielderr.Quote(string(role)))
	}
	l.ID("subject", subject, true)
	if err := l.Err(); err != nil {
		return "", store.LoginLink{}, err
	}
	code := make([]byte, 32)
	if _, err := rand.Read(code); err != nil {
		return "", store.LoginLink{}, err
	}
	id, err := newID()
	if err != nil {
		return "", store.LoginLink{}, err
	}
	codeText := base64.RawURLEncoding.EncodeToString(code)
	return codeText, store.LoginLink{
		ID: id, CodeHash: codeDigest(codeText), Role: role, Subject: subject,
		CreatedAt: now, ExpiresAt: now.Add(ttl), CreatedBy: createdBy,
	}, nil
}

// SetPublicURL sets the console's address that login links point under,
// once the HTTP listener is known (its port may have been chosen then).
func (s *Server) SetPublicURL(u string) { s.access.publicURL.Store(&u) }

// LoginURL is where a login code is redeemed, under the console's public
// address (CONSOLE.md: GET /login/{code}).
func LoginURL(publicURL, code string) string {
	return strings.TrimSuffix(publicURL, "/") + "/login/" + code
}

func codeDigest(code string) []byte {
	sum := sha256.Sum256([]byte(code))
	return sum[:]
}

// newSession mints a session credential and the record to store (role,
// subject and origin are the caller's to fill), beginning at now and
// ending at now+maxAge at the latest.
func newSession(now time.Time, maxAge time.Duration, userAgent string) (string, store.Session, error) {
	plain, id, digest, err := newCredential(sessionPrefix)
	if err != nil {
		return "", store.Session{}, err
	}
	return plain, store.Session{
		ID: id, SecretHash: digest, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(maxAge),
		UserAgent: cleanUserAgent(userAgent),
	}, nil
}

// cleanUserAgent keeps a User-Agent to one line of at most
// maxUserAgentBytes of valid UTF-8: it is shown in lists.
func cleanUserAgent(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, ua)
	if len(ua) > maxUserAgentBytes {
		ua = ua[:maxUserAgentBytes] // may split the last character, dropped next
	}
	return strings.ToValidUTF8(ua, "")
}

// signInRefused is what every refused sign-in gets: which of unknown,
// used or expired it was is counted, not told.
func signInRefused(field string) error {
	if field == "login_code" {
		return status.Error(codes.Unauthenticated, "login_code: invalid, already used or expired; ask an admin for a new link")
	}
	return status.Error(codes.Unauthenticated, "token: invalid or revoked")
}

const startSessionMethod = "/qa.v1.AccessService/StartSession"

// StartSession trades a login code or a token for a session. It is public
// (methodRules), so nothing here may be read at size before the credential
// checks out, and every refusal is counted like a refused call.
func (s *accessService) StartSession(ctx context.Context, req *qav1.StartSessionRequest) (*qav1.StartSessionResponse, error) {
	now := s.now()
	plain, sess, err := newSession(now, s.sessionMax, req.GetUserAgent())
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	switch cred := req.GetCredential().(type) {
	case *qav1.StartSessionRequest_LoginCode:
		code := cred.LoginCode
		if code == "" {
			return nil, badField("login_code", "is empty; paste the code from the login link (the part after /login/)")
		}
		if len(code) != loginCodeLen {
			// Not one of ours; not looked up, but counted as a guess.
			s.gate.refuse(ctx, startSessionMethod, "link_unknown")
			return nil, signInRefused("login_code")
		}
		sess, err = s.store.ConsumeLoginLink(ctx, codeDigest(code), sess)
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.gate.refuse(ctx, startSessionMethod, "link_unknown")
			return nil, signInRefused("login_code")
		case errors.Is(err, store.ErrLoginLinkUsed):
			s.gate.refuse(ctx, startSessionMethod, "link_used")
			return nil, signInRefused("login_code")
		case errors.Is(err, store.ErrLoginLinkExpired):
			s.gate.refuse(ctx, startSessionMethod, "link_expired")
			return nil, signInRefused("login_code")
		case err != nil:
			return nil, storeError(ctx, s.log, err)
		}
	case *qav1.StartSessionRequest_Token:
		if cred.Token == "" {
			return nil, badField("token", "is empty; paste an API token (qa_…)")
		}
		// Read afresh, not from the cache: a token revoked a moment ago
		// must not start a session that outlives the cache.
		tok, err := s.authn.checkToken(ctx, cred.Token, false)
		if errors.Is(err, errBadToken) {
			s.gate.refuse(ctx, startSessionMethod, tokenFailureReason(err))
			return nil, signInRefused("token")
		}
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		if !ConsoleRole(tok.Role) {
			s.gate.refuse(ctx, startSessionMethod, "permission_denied")
			return nil, status.Errorf(codes.PermissionDenied, "token: role %q cannot sign in to the console", tok.Role)
		}
		sess.Role, sess.Subject = tok.Role, tok.Subject
		sess.StartedBy, sess.StartedWith = store.StartedByToken, tok.ID
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return nil, storeError(ctx, s.log, err)
		}
	default:
		return nil, badField("credential", "set login_code or token")
	}
	s.log.InfoContext(ctx, "session started", "session_id", sess.ID, "role", sess.Role, "subject", sess.Subject, "started_by", sess.StartedBy)
	return &qav1.StartSessionResponse{Secret: plain, Session: s.sessionProto(sess)}, nil
}

// EndSession signs the calling session out.
func (s *accessService) EndSession(ctx context.Context, _ *qav1.EndSessionRequest) (*qav1.EndSessionResponse, error) {
	who, _ := PrincipalFrom(ctx)
	if who.SessionID == "" {
		return nil, status.Error(codes.FailedPrecondition, "the caller is an API token, not a console session; an admin revokes tokens (RevokeToken)")
	}
	if _, err := s.store.EndSession(ctx, who.SessionID, s.now()); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	s.authn.forgetSession(who.SessionID)
	return &qav1.EndSessionResponse{}, nil
}

// WhoAmI tells the caller who the server takes them for.
func (s *accessService) WhoAmI(ctx context.Context, _ *qav1.WhoAmIRequest) (*qav1.WhoAmIResponse, error) {
	who, _ := PrincipalFrom(ctx)
	resp := &qav1.WhoAmIResponse{Role: string(who.Role), Subject: who.Subject}
	if who.SessionID != "" {
		sess, err := s.store.GetSession(ctx, who.SessionID)
		if err != nil {
			return nil, storeError(ctx, s.log, err)
		}
		resp.Session = s.sessionProto(sess)
	}
	return resp, nil
}

// CreateLoginLink makes a one-time link for a person.
func (s *accessService) CreateLoginLink(ctx context.Context, req *qav1.CreateLoginLinkRequest) (*qav1.CreateLoginLinkResponse, error) {
	who, _ := PrincipalFrom(ctx)
	if req.GetRole() == "" {
		return nil, badField("role", "is empty; use admin, inspector or supervisor")
	}
	code, link, err := NewLoginLink(store.Role(req.GetRole()), req.GetSubject(), who.Subject, s.now(), s.linkTTL)
	if err != nil {
		return nil, invalid("", err)
	}
	if err := s.store.CreateLoginLink(ctx, link); err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	return &qav1.CreateLoginLinkResponse{Url: LoginURL(*s.publicURL.Load(), code), Code: code, ExpiresAt: timestamppb.New(link.ExpiresAt)}, nil
}

// ListSessions lists sessions, newest first.
func (s *accessService) ListSessions(ctx context.Context, req *qav1.ListSessionsRequest) (*qav1.ListSessionsResponse, error) {
	var l fielderr.List
	l.ID("subject", req.GetSubject(), false)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	f := store.SessionFilter{Subject: req.GetSubject(), Limit: maxListedSessions}
	if req.GetActiveOnly() {
		f.ActiveAt, f.IdleTimeout = s.now(), s.authn.SessionIdle
	}
	list, err := s.store.ListSessions(ctx, f)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	resp := &qav1.ListSessionsResponse{Sessions: make([]*qav1.Session, len(list))}
	for i, sess := range list {
		resp.Sessions[i] = s.sessionProto(sess)
	}
	return resp, nil
}

// RevokeSession ends a session at once, on this server at the next call
// and on other replicas within their cache TTL.
func (s *accessService) RevokeSession(ctx context.Context, req *qav1.RevokeSessionRequest) (*qav1.RevokeSessionResponse, error) {
	who, _ := PrincipalFrom(ctx)
	var l fielderr.List
	l.ID("id", req.GetId(), true)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	sess, err := s.store.RevokeSession(ctx, req.GetId(), s.now(), who.Subject)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	s.authn.forgetSession(sess.ID)
	return &qav1.RevokeSessionResponse{Session: s.sessionProto(sess)}, nil
}

// ListTokens lists API tokens, oldest first, without their secrets.
func (s *accessService) ListTokens(ctx context.Context, _ *qav1.ListTokensRequest) (*qav1.ListTokensResponse, error) {
	toks, err := s.store.ListTokens(ctx)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	resp := &qav1.ListTokensResponse{Tokens: make([]*qav1.Token, len(toks))}
	for i, t := range toks {
		resp.Tokens[i] = tokenProto(t)
	}
	return resp, nil
}

// RevokeToken revokes a token and the sessions of its person.
func (s *accessService) RevokeToken(ctx context.Context, req *qav1.RevokeTokenRequest) (*qav1.RevokeTokenResponse, error) {
	who, _ := PrincipalFrom(ctx)
	var l fielderr.List
	l.ID("id", req.GetId(), true)
	if err := invalidList(&l); err != nil {
		return nil, err
	}
	ended, err := s.store.RevokeToken(ctx, req.GetId(), s.now(), who.Subject)
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	tok, err := s.store.GetToken(ctx, req.GetId())
	if err != nil {
		return nil, storeError(ctx, s.log, err)
	}
	s.authn.forgetPerson(tok.ID, tok.Role, tok.Subject)
	return &qav1.RevokeTokenResponse{Token: tokenProto(tok), SessionsEnded: int32(min(ended, 1<<31-1))}, nil //nolint:gosec // bounded just before
}

// sessionProto is sess as the API shows it; expires_at is when it ends if
// not used again.
func (s *accessService) sessionProto(sess store.Session) *qav1.Session {
	out := &qav1.Session{
		Id: sess.ID, Role: string(sess.Role), Subject: sess.Subject,
		CreatedAt: timestamppb.New(sess.CreatedAt), LastSeenAt: timestamppb.New(sess.LastSeenAt),
		ExpiresAt: timestamppb.New(s.authn.sessionEnd(sess)),
		StartedBy: sess.StartedBy, UserAgent: sess.UserAgent,
	}
	if !sess.RevokedAt.IsZero() {
		out.RevokedAt = timestamppb.New(sess.RevokedAt)
	}
	return out
}

func tokenProto(t store.Token) *qav1.Token {
	out := &qav1.Token{Id: t.ID, Role: string(t.Role), Subject: t.Subject, CreatedAt: timestamppb.New(t.CreatedAt)}
	if !t.RevokedAt.IsZero() {
		out.RevokedAt = timestamppb.New(t.RevokedAt)
	}
	return out
}
