package store

import (
	"context"
	"errors"
	"time"
)

// How a console session began (Session.StartedBy).
const (
	StartedByLink  = "link"
	StartedByToken = "token"
)

// Session is a console session: a credential like a token, held by a
// browser. Only the SHA-256 digest of its secret is stored.
type Session struct {
	ID         string
	SecretHash []byte
	Role       Role
	Subject    string
	CreatedAt  time.Time
	// LastSeenAt is when the session was last used, as far as the server
	// recorded it (it records at most once a minute or so).
	LastSeenAt time.Time
	// ExpiresAt is the absolute end, however busy the session is; the idle
	// timeout is the server's setting and applies to LastSeenAt.
	ExpiresAt time.Time
	// RevokedAt is zero while the session is valid: set when an admin
	// revokes it, the person signs out, or their token is revoked.
	RevokedAt time.Time
	// StartedBy is StartedByLink or StartedByToken; StartedWith is the id
	// of the login link or token it began with.
	StartedBy   string
	StartedWith string
	// UserAgent is the browser's User-Agent when it began, cut short.
	UserAgent string
}

// LoginLink is a one-time sign-in link. Only the SHA-256 digest of its
// code is stored; the id names it in the audit trail and lists.
type LoginLink struct {
	ID        string
	CodeHash  []byte
	Role      Role
	Subject   string
	CreatedAt time.Time
	ExpiresAt time.Time
	// CreatedBy is the actor who made it.
	CreatedBy string
	// UsedAt and SessionID are set once it has been redeemed.
	UsedAt    time.Time
	SessionID string
}

// Why a login code is refused; unknown codes are ErrNotFound. The server
// tells the caller only that the code did not work.
var (
	ErrLoginLinkUsed    = errors.New("login link already used")
	ErrLoginLinkExpired = errors.New("login link expired")
)

// SessionFilter selects sessions; zero fields match everything.
type SessionFilter struct {
	Role    Role
	Subject string
	// ActiveAt, when set, keeps only sessions valid at that time: not
	// revoked, before ExpiresAt and, when IdleTimeout is positive, last
	// seen less than IdleTimeout before it.
	ActiveAt    time.Time
	IdleTimeout time.Duration
	// Limit caps the number returned (newest first); 0 is no cap.
	Limit int
}

// SessionStore keeps console sessions and the one-time login links that
// start them. Neither is ever deleted; sessions are revoked, links used or
// left to expire. Every change but TouchSession is audited in its own
// transaction, never with a secret or its digest.
type SessionStore interface {
	// CreateLoginLink stores l and audits it as l.CreatedBy
	// (login_link.create); ErrConflict if its id or digest exists.
	CreateLoginLink(ctx context.Context, l LoginLink) error
	// ConsumeLoginLink redeems the link whose code has digest codeHash at
	// s.CreatedAt and stores s as the session it starts, with the link's
	// role and subject, StartedBy "link" and StartedWith the link's id, in
	// one transaction, audited as the link's subject (session.start). Of
	// two concurrent calls with one code at most one succeeds. It returns
	// the stored session; ErrNotFound for an unknown code,
	// ErrLoginLinkUsed or ErrLoginLinkExpired (at s.CreatedAt) otherwise.
	ConsumeLoginLink(ctx context.Context, codeHash []byte, s Session) (Session, error)
	// CreateSession stores s (started with a token) and audits it as its
	// subject (session.start); ErrConflict if its id exists.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns a session, revoked or not; ErrNotFound if unknown.
	GetSession(ctx context.Context, id string) (Session, error)
	// TouchSession records that the session was used at at: LastSeenAt
	// only moves forward, and a revoked session is left alone. Not audited;
	// callers throttle it. ErrNotFound for an unknown id.
	TouchSession(ctx context.Context, id string, at time.Time) error
	// ListSessions returns the sessions f selects, newest first.
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// RevokeSession revokes a session at at as actor (session.revoke) and
	// returns it; revoking a revoked session keeps its first time and
	// writes no event. ErrNotFound for an unknown id.
	RevokeSession(ctx context.Context, id string, at time.Time, actor string) (Session, error)
	// EndSession is RevokeSession by the session's own holder signing out
	// (session.end, as its subject).
	EndSession(ctx context.Context, id string, at time.Time) (Session, error)
	// RevokeSessions revokes every unrevoked session of subject (of role,
	// when set) at at as actor, one session.revoke each, and returns how
	// many it revoked.
	RevokeSessions(ctx context.Context, role Role, subject string, at time.Time, actor string) (int, error)
}
