-- Who a conversation counts for (SPEC §4, Transfers): each agent who wrote
-- in it, and only them. secondary_agents lists the authors other than the
-- owner; owner_wrote says whether the owner (agent_id) is one of them too.
-- 1 for a conversation without agent messages, which counts for its owner
-- as before (and sampling excludes). The default is right for every row
-- without secondary authors (the owner is then the only one who could
-- have written); rows with some are listed in owner_wrote_pending for
-- Store.backfillOwnerWrote, which decodes their bodies after migrating
-- (SQL cannot read them).

-- +goose Up
ALTER TABLE transcripts ADD COLUMN owner_wrote INTEGER NOT NULL DEFAULT 1;

CREATE TABLE owner_wrote_pending (
    transcript_id INTEGER NOT NULL PRIMARY KEY REFERENCES transcripts (id) ON DELETE CASCADE
) STRICT;
INSERT INTO owner_wrote_pending (transcript_id)
SELECT id FROM transcripts WHERE secondary_agents IS NOT NULL;

-- The weekly scan reads owner_wrote with the rest (see 00003): the
-- expression must stay identical to sampleRecordSQL in runscan.go.
DROP INDEX transcripts_sampling;
CREATE INDEX transcripts_sampling ON transcripts (ended_at, (
    external_id || char(31) || agent_id || char(31) || coalesce(secondary_agents, '') || char(31) ||
    channel || char(31) || customer_tier || char(31) || coalesce(tags, '') || char(31) ||
    coalesce(csat, 0) || char(31) || transfer_count || char(31) || handle_ms || char(31) || ended_at || char(31) ||
    message_count || char(31) || agent_message_count || char(31) || customer_message_count || char(31) || owner_wrote));

-- +goose Down
DROP INDEX transcripts_sampling;
CREATE INDEX transcripts_sampling ON transcripts (ended_at, (
    external_id || char(31) || agent_id || char(31) || coalesce(secondary_agents, '') || char(31) ||
    channel || char(31) || customer_tier || char(31) || coalesce(tags, '') || char(31) ||
    coalesce(csat, 0) || char(31) || transfer_count || char(31) || handle_ms || char(31) || ended_at || char(31) ||
    message_count || char(31) || agent_message_count || char(31) || customer_message_count));
DROP TABLE owner_wrote_pending;
ALTER TABLE transcripts DROP COLUMN owner_wrote;
