-- Nothing to do on PostgreSQL: its weekly scan reads transcripts_ended_agent
-- (SQLite drops that index in its 00004). Versions stay in step across
-- dialects.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
