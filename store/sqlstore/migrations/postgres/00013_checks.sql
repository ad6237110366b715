-- Automatic checks (SPEC §6), computed at ingest and kept per
-- conversation: check_version is the check set that computed them (NULL:
-- stored before checks existed, or never checked), check_flags a bitmask
-- of the checks that fired (bit i = checks.Keys[i]) for scans and
-- reports, check_hits the hits as a JSON array (NULL when none; see
-- transcript.CheckHit). Derived data, so not part of content_hash.

-- +goose Up
ALTER TABLE transcripts ADD COLUMN check_version BIGINT;
ALTER TABLE transcripts ADD COLUMN check_flags BIGINT NOT NULL DEFAULT 0;
ALTER TABLE transcripts ADD COLUMN check_hits TEXT;

-- Versions of the check set, like sampling_policies: immutable JSON
-- documents (package checks defines them), numbered 1, 2, 3, ...
CREATE TABLE check_sets (
    version    BIGINT  NOT NULL PRIMARY KEY,
    document   TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE check_sets;
ALTER TABLE transcripts DROP COLUMN check_hits;
ALTER TABLE transcripts DROP COLUMN check_flags;
ALTER TABLE transcripts DROP COLUMN check_version;
