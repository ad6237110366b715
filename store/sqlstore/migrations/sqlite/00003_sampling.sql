-- Weekly sampling (SPEC §2 steps 2–3, §4): inspectors, versioned policies,
-- runs and their picks. Times are Unix milliseconds, as elsewhere.

-- +goose Up

-- The secondary authors of a conversation as a JSON array in agent_id
-- order, NULL when there are none: a copy of its transcript_agents rows
-- (which keep their foreign keys), so that the weekly scan reads them with
-- the rest instead of probing transcript_agents once per conversation.
ALTER TABLE transcripts ADD COLUMN secondary_agents TEXT;
UPDATE transcripts SET secondary_agents = (
    SELECT json_group_array(a.agent_id ORDER BY a.agent_id) FROM transcript_agents a WHERE a.transcript_id = transcripts.id)
WHERE id IN (SELECT transcript_id FROM transcript_agents);

-- The weekly scan reads a week of a million conversations. Fetching a
-- dozen columns of each row through database/sql and the driver costs
-- about 0.1 µs a column, and reading them from the table means reading
-- every page of the week's rows; this index holds, per end time, all that
-- sampling reads joined into one string (fields separated by U+001F, which
-- validated ids and JSON text never contain), so the scan is one range of
-- one index returning one column. The expression must stay identical to
-- sampleRecordSQL in sampling.go, or SQLite stops using the stored value.
CREATE INDEX transcripts_sampling ON transcripts (ended_at, (
    external_id || char(31) || agent_id || char(31) || coalesce(secondary_agents, '') || char(31) ||
    channel || char(31) || customer_tier || char(31) || coalesce(tags, '') || char(31) ||
    coalesce(csat, 0) || char(31) || transfer_count || char(31) || handle_ms || char(31) || ended_at || char(31) ||
    message_count || char(31) || agent_message_count || char(31) || customer_message_count));

CREATE TABLE inspectors (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL DEFAULT '',
    active     INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Immutable versions 1, 2, 3, ...; the document is JSON the store does not
-- interpret, kept as TEXT so that it reads back byte for byte.
CREATE TABLE sampling_policies (
    version    INTEGER NOT NULL PRIMARY KEY,
    document   TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One run per (week, policy version): the unique key is what makes a second
-- request, a second replica or a repeated schedule find the same run.
CREATE TABLE sampling_runs (
    id             INTEGER NOT NULL PRIMARY KEY,
    week           TEXT    NOT NULL,
    policy_version INTEGER NOT NULL,
    seed           BLOB    NOT NULL,
    "trigger"      TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    completed_at   INTEGER, -- NULL while the picks are being written
    picks          INTEGER NOT NULL DEFAULT 0,
    shortfalls     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (week, policy_version)
) STRICT;

-- UNIQUE (transcript_id, agent_id): a conversation is picked at most once
-- per agent, across runs and replicas. ended_at copies the transcript's (a
-- picked transcript is frozen, so it cannot drift) so that the picks of a
-- week are found without probing picks once per transcript of the week.
-- hash_key is the sampler's uint64 key bit-cast to a signed integer.
CREATE TABLE picks (
    id            INTEGER NOT NULL PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES sampling_runs (id),
    transcript_id INTEGER NOT NULL REFERENCES transcripts (id),
    agent_id      TEXT    NOT NULL REFERENCES agents (agent_id),
    ended_at      INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    rank          INTEGER NOT NULL,
    hash_key      INTEGER NOT NULL,
    inspector_id  TEXT    REFERENCES inspectors (id), -- NULL in the pool
    status        TEXT    NOT NULL,
    skip_reason   TEXT    NOT NULL DEFAULT '',
    replaces_id   INTEGER REFERENCES picks (id),      -- NULL unless a replacement
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (transcript_id, agent_id)
) STRICT;

-- An inspector's queue (and their load), in id order: the rowid ends
-- every SQLite index, so id order within (inspector, status) is free.
CREATE INDEX picks_queue ON picks (inspector_id, status);
CREATE INDEX picks_run ON picks (run_id);
-- Rotation: an agent's recent picks and their inspectors.
CREATE INDEX picks_agent ON picks (agent_id);
CREATE INDEX picks_ended ON picks (ended_at);

-- +goose Down
DROP INDEX transcripts_sampling;
ALTER TABLE transcripts DROP COLUMN secondary_agents;
DROP TABLE picks;
DROP TABLE sampling_runs;
DROP TABLE sampling_policies;
DROP TABLE inspectors;
