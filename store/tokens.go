package store

import "time"

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
