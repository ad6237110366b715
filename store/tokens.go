package store

import (
	"context"
	"time"
)

// Role is a caller's role.
type Role string

// The four roles of SPEC §1.
const (
	RoleAdmin      Role = "admin"
	RoleIngest     Role = "ingest"
	RoleInspector  Role = "inspector"
	RoleSupervisor Role = "supervisor"
)

// Token is an API token. Only the SHA-256 digest of its secret is stored.
type Token struct {
	ID         string
	SecretHash []byte
	Role       Role
	Subject    string
	CreatedAt  time.Time
	// RevokedAt is zero while the token is valid.
	RevokedAt time.Time
}

// TokenStore keeps API tokens. Tokens are never deleted, only revoked.
type TokenStore interface {
	// CreateToken stores a new token and audits it as actor
	// (token.create, never the secret); ErrConflict if the id exists.
	CreateToken(ctx context.Context, t Token, actor string) error
	// GetToken returns ErrNotFound for an unknown id (revoked ones are
	// returned with RevokedAt set).
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns all tokens, oldest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken sets RevokedAt and audits it as actor (token.revoke);
	// ErrNotFound for an unknown id. Revoking a revoked token keeps its
	// first revocation time and writes no event. In the same transaction
	// it revokes every console session of the token's role and subject
	// (session.revoke each), also when the token was revoked before, so
	// that afterwards the person has no session left; it returns how many
	// sessions it revoked.
	RevokeToken(ctx context.Context, id string, at time.Time, actor string) (int, error)
}
