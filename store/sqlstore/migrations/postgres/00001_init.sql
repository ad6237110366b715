-- Times are Unix milliseconds and durations milliseconds, except
-- mean_response_ns: a mean of whole milliseconds is not a whole millisecond,
-- and the API reports it to the nanosecond.

-- +goose Up
CREATE TABLE agents (
    agent_id      TEXT    NOT NULL PRIMARY KEY,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    name          TEXT    NOT NULL DEFAULT '',
    team_id       TEXT    NOT NULL DEFAULT '',
    supervisor_id TEXT    NOT NULL DEFAULT '',
    hired_on      TEXT    NOT NULL DEFAULT ''
);

-- An identity key keeps inserts at the right edge of the primary key index.
-- Columns go widest-aligned first (8-byte, 4-byte, 2-byte, 1-byte, then
-- variable length) so that no padding is wasted between them.
CREATE TABLE transcripts (
    id                     BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at             BIGINT   NOT NULL,
    ended_at               BIGINT   NOT NULL,
    handle_ms              BIGINT   NOT NULL,
    first_response_ms      BIGINT,  -- NULL: no agent answered
    mean_response_ns       BIGINT,  -- NULL: no agent answered
    revision               BIGINT   NOT NULL,
    ingested_at            BIGINT   NOT NULL,
    updated_at             BIGINT   NOT NULL,
    transfer_count         INTEGER  NOT NULL,
    message_count          INTEGER  NOT NULL,
    agent_message_count    INTEGER  NOT NULL,
    customer_message_count INTEGER  NOT NULL,
    bot_message_count      INTEGER  NOT NULL,
    system_message_count   INTEGER  NOT NULL,
    agent_reply_count      INTEGER  NOT NULL,
    csat                   SMALLINT, -- NULL when the customer gave none
    sampled                BOOLEAN  NOT NULL DEFAULT FALSE,
    external_id            TEXT     NOT NULL UNIQUE,
    agent_id               TEXT     NOT NULL REFERENCES agents (agent_id),
    channel                TEXT     NOT NULL,
    customer_id            TEXT     NOT NULL,
    customer_tier          TEXT     NOT NULL,
    tags                   TEXT,    -- JSON array; NULL when none
    content_hash           BYTEA    NOT NULL,
    body                   BYTEA    NOT NULL
);

-- The body is already zstd-compressed: pglz would spend CPU to gain nothing.
ALTER TABLE transcripts ALTER COLUMN body SET STORAGE EXTERNAL;

-- Weekly sampling scans one week by end time, per agent.
CREATE INDEX transcripts_ended_agent ON transcripts (ended_at, agent_id);

-- Only the secondary authors of transferred conversations; the primary
-- agent is transcripts.agent_id, so most conversations add no row here.
CREATE TABLE transcript_agents (
    transcript_id BIGINT NOT NULL REFERENCES transcripts (id) ON DELETE CASCADE,
    agent_id      TEXT   NOT NULL REFERENCES agents (agent_id),
    PRIMARY KEY (transcript_id, agent_id)
);

CREATE TABLE tokens (
    id          TEXT   NOT NULL PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT, -- NULL while valid
    secret_hash BYTEA  NOT NULL,
    role        TEXT   NOT NULL,
    subject     TEXT   NOT NULL
);

-- +goose Down
DROP TABLE tokens;
DROP TABLE transcript_agents;
DROP TABLE transcripts;
DROP TABLE agents;
