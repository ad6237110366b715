-- Retention (SPEC §7): purged_at is when a reviewed transcript's content
-- (messages, attributes, customer id) was removed, NULL while it is kept.
-- The row itself stays for the picks, reviews and feedback that refer to
-- it. Unsampled transcripts are deleted outright and need no column.

-- +goose Up
ALTER TABLE transcripts ADD COLUMN purged_at BIGINT;

-- +goose Down
ALTER TABLE transcripts DROP COLUMN purged_at;
