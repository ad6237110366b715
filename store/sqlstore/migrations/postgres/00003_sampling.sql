-- Weekly sampling (SPEC §2 steps 2–3, §4): inspectors, versioned policies,
-- runs and their picks. Times are Unix milliseconds, as elsewhere.

-- +goose Up

-- The secondary authors of a conversation as a JSON array in agent_id
-- order, NULL when there are none: a copy of its transcript_agents rows
-- (which keep their foreign keys), so that the weekly scan reads them with
-- the rest of the row instead of joining transcript_agents.
ALTER TABLE transcripts ADD COLUMN secondary_agents TEXT;
UPDATE transcripts t SET secondary_agents = a.agents
FROM (SELECT transcript_id, json_agg(agent_id ORDER BY agent_id)::text AS agents
      FROM transcript_agents GROUP BY transcript_id) a
WHERE a.transcript_id = t.id;
CREATE TABLE inspectors (
    id         TEXT    NOT NULL PRIMARY KEY,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    name       TEXT    NOT NULL DEFAULT ''
);

-- Immutable versions 1, 2, 3, ...; the document is JSON the store does not
-- interpret, kept as TEXT (not JSONB) so that it reads back byte for byte.
CREATE TABLE sampling_policies (
    version    BIGINT NOT NULL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    document   TEXT   NOT NULL,
    created_by TEXT   NOT NULL
);

-- One run per (week, policy version): the unique key is what makes a second
-- request, a second replica or a repeated schedule find the same run.
CREATE TABLE sampling_runs (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    policy_version BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    completed_at   BIGINT, -- NULL while the picks are being written
    picks          INTEGER NOT NULL DEFAULT 0,
    shortfalls     INTEGER NOT NULL DEFAULT 0,
    week           TEXT    NOT NULL,
    seed           BYTEA   NOT NULL,
    "trigger"      TEXT    NOT NULL,
    UNIQUE (week, policy_version)
);

-- UNIQUE (transcript_id, agent_id): a conversation is picked at most once
-- per agent, across runs and replicas. ended_at copies the transcript's (a
-- picked transcript is frozen, so it cannot drift) so that the picks of a
-- week are found without probing picks once per transcript of the week.
-- hash_key is the sampler's uint64 key bit-cast to a signed integer.
CREATE TABLE picks (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        BIGINT  NOT NULL REFERENCES sampling_runs (id),
    transcript_id BIGINT  NOT NULL REFERENCES transcripts (id),
    ended_at      BIGINT  NOT NULL,
    hash_key      BIGINT  NOT NULL,
    replaces_id   BIGINT  REFERENCES picks (id), -- NULL unless a replacement
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    rank          INTEGER NOT NULL,
    agent_id      TEXT    NOT NULL REFERENCES agents (agent_id),
    reason        TEXT    NOT NULL,
    inspector_id  TEXT    REFERENCES inspectors (id), -- NULL in the pool
    status        TEXT    NOT NULL,
    skip_reason   TEXT    NOT NULL DEFAULT '',
    UNIQUE (transcript_id, agent_id)
);

-- An inspector's queue (and their load), in id order.
CREATE INDEX picks_queue ON picks (inspector_id, status, id);
CREATE INDEX picks_run ON picks (run_id, id);
-- Rotation: an agent's recent picks and their inspectors.
CREATE INDEX picks_agent ON picks (agent_id, id);
CREATE INDEX picks_ended ON picks (ended_at);

-- +goose Down
ALTER TABLE transcripts DROP COLUMN secondary_agents;
DROP TABLE picks;
DROP TABLE sampling_runs;
DROP TABLE sampling_policies;
DROP TABLE inspectors;
