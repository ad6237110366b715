-- Times are Unix milliseconds and durations milliseconds, except
-- mean_response_ns: a mean of whole milliseconds is not a whole millisecond,
-- and the API reports it to the nanosecond.
-- Tables are STRICT so that a wrongly typed bind fails instead of being
-- stored as something else.

-- +goose Up
CREATE TABLE agents (
    agent_id      TEXT    NOT NULL PRIMARY KEY,
    name          TEXT    NOT NULL DEFAULT '',
    team_id       TEXT    NOT NULL DEFAULT '',
    supervisor_id TEXT    NOT NULL DEFAULT '',
    hired_on      TEXT    NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- id aliases the rowid: rows are appended in key order, so a page fills
-- before the next one is written (a random key writes a page per row).
-- Columns read by the upsert's conflict check come before the body so that
-- reading them never touches the blob; the body is last.
CREATE TABLE transcripts (
    id                     INTEGER NOT NULL PRIMARY KEY,
    external_id            TEXT    NOT NULL UNIQUE,
    agent_id               TEXT    NOT NULL REFERENCES agents (agent_id),
    channel                TEXT    NOT NULL,
    customer_id            TEXT    NOT NULL,
    customer_tier          TEXT    NOT NULL,
    started_at             INTEGER NOT NULL,
    ended_at               INTEGER NOT NULL,
    tags                   TEXT,    -- JSON array; NULL when none
    csat                   INTEGER, -- NULL when the customer gave none
    transfer_count         INTEGER NOT NULL,
    message_count          INTEGER NOT NULL,
    agent_message_count    INTEGER NOT NULL,
    customer_message_count INTEGER NOT NULL,
    bot_message_count      INTEGER NOT NULL,
    system_message_count   INTEGER NOT NULL,
    first_response_ms      INTEGER, -- NULL: no agent answered
    mean_response_ns       INTEGER, -- NULL: no agent answered
    agent_reply_count      INTEGER NOT NULL,
    handle_ms              INTEGER NOT NULL,
    content_hash           BLOB    NOT NULL,
    revision               INTEGER NOT NULL,
    sampled                INTEGER NOT NULL DEFAULT 0,
    ingested_at            INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    body                   BLOB    NOT NULL
) STRICT;

-- Weekly sampling scans one week by end time, per agent.
CREATE INDEX transcripts_ended_agent ON transcripts (ended_at, agent_id);

-- Only the secondary authors of transferred conversations; the primary
-- agent is transcripts.agent_id, so most conversations add no row here.
CREATE TABLE transcript_agents (
    transcript_id INTEGER NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    agent_id      TEXT    NOT NULL REFERENCES agents (agent_id),
    PRIMARY KEY (transcript_id, agent_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    secret_hash BLOB    NOT NULL,
    role        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER -- NULL while valid
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE tokens;
DROP TABLE transcript_agents;
DROP TABLE transcripts;
DROP TABLE agents;
