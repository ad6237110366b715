-- Who a conversation counts for (SPEC §4, Transfers): each agent who wrote
-- in it, and only them. secondary_agents lists the authors other than the
-- owner; owner_wrote says whether the owner (agent_id) is one of them too.
-- TRUE for a conversation without agent messages, which counts for its
-- owner as before (and sampling excludes). The default is right for every
-- row without secondary authors (the owner is then the only one who could
-- have written); rows with some are listed in owner_wrote_pending for
-- Store.backfillOwnerWrote, which decodes their bodies after migrating
-- (SQL cannot read them). A constant default adds the column without
-- rewriting the table, and a binary from before it keeps working.

-- +goose Up
ALTER TABLE transcripts ADD COLUMN owner_wrote BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE owner_wrote_pending (
    transcript_id BIGINT NOT NULL PRIMARY KEY REFERENCES transcripts (id) ON DELETE CASCADE
);
INSERT INTO owner_wrote_pending (transcript_id)
SELECT id FROM transcripts WHERE secondary_agents IS NOT NULL;

-- +goose Down
DROP TABLE owner_wrote_pending;
ALTER TABLE transcripts DROP COLUMN owner_wrote;
