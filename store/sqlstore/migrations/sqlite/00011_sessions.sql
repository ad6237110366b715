-- Console sessions and the one-time login links that start them (SPEC
-- §7, §9). Like tokens, only the SHA-256 digests of their secrets are
-- stored: a copy of the database signs nobody in.

-- +goose Up

-- A session is a credential like a token (qs_<id>_<secret>). expires_at
-- is its absolute end; the idle timeout is the server's setting and
-- applies to last_seen_at, which the server updates at most about once a
-- minute. started_with is the id of the login link or token it began with.
CREATE TABLE sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    secret_hash  BLOB    NOT NULL,
    role         TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER, -- NULL while valid
    started_by   TEXT    NOT NULL, -- link or token
    started_with TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

-- The live sessions of a person: revoking their token revokes these.
CREATE INDEX sessions_person ON sessions (subject, role) WHERE revoked_at IS NULL;
-- Lists, newest first.
CREATE INDEX sessions_created ON sessions (created_at);

-- A link is found by its code's digest (the code is 256 random bits, so
-- the digest is as unguessable); its id names it in the audit trail.
-- used_at and session_id are set once, when it is redeemed.
CREATE TABLE login_links (
    id         TEXT    NOT NULL PRIMARY KEY,
    code_hash  BLOB    NOT NULL UNIQUE,
    role       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    used_at    INTEGER, -- NULL until redeemed
    session_id TEXT REFERENCES sessions (id)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE login_links;
DROP TABLE sessions;
