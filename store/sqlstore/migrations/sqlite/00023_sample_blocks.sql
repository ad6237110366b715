-- The week's sample records packed per hour of end time (sampleblock.go):
-- a preview or run reads a week as 168 blocks instead of a million index
-- entries. A block is a cache, valid only while its hour is unchanged:
-- every change to a transcript's sample record bumps its hour's counter in
-- sample_hour_changes, in the same transaction (the triggers below, so no
-- write path can forget it), and a block is read only when the version it
-- was built at equals the counter. Counters only grow and are never
-- deleted, so a block built from an older snapshot can never match again;
-- and it is never stored (storeBlocks checks the count in its write). The
-- triggers also delete the hour's block: a changed chat's old fields, or a
-- deleted chat's, do not stay on disk in it.
-- hour is ended_at / 3600000 (UTC hours since the epoch).

-- +goose Up
CREATE TABLE sample_hour_changes (
    hour INTEGER NOT NULL PRIMARY KEY,
    n    INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE sample_blocks (
    hour        INTEGER NOT NULL PRIMARY KEY,
    version     INTEGER NOT NULL,
    -- sha256 of the seed the block's keys were computed with, empty when
    -- it holds none.
    seed_digest BLOB    NOT NULL,
    rows        INTEGER NOT NULL,
    data        BLOB    NOT NULL
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER transcripts_hour_insert AFTER INSERT ON transcripts BEGIN
    INSERT INTO sample_hour_changes (hour, n) VALUES (NEW.ended_at / 3600000, 1)
        ON CONFLICT (hour) DO UPDATE SET n = n + 1;
    DELETE FROM sample_blocks WHERE hour = NEW.ended_at / 3600000;
END;
-- +goose StatementEnd

-- The columns of the sample record (sampleFields in runscan.go); a test
-- checks that the list covers them. Other updates (sampled, check flags,
-- purges) leave the record as it was and the block valid.
-- +goose StatementBegin
CREATE TRIGGER transcripts_hour_update AFTER UPDATE OF
    external_id, agent_id, secondary_agents, channel, customer_tier, tags, csat, transfer_count,
    handle_ms, ended_at, message_count, agent_message_count, customer_message_count, owner_wrote
ON transcripts BEGIN
    INSERT INTO sample_hour_changes (hour, n) VALUES (OLD.ended_at / 3600000, 1)
        ON CONFLICT (hour) DO UPDATE SET n = n + 1;
    DELETE FROM sample_blocks WHERE hour = OLD.ended_at / 3600000;
    INSERT INTO sample_hour_changes (hour, n) VALUES (NEW.ended_at / 3600000, 1)
        ON CONFLICT (hour) DO UPDATE SET n = n + 1;
    DELETE FROM sample_blocks WHERE hour = NEW.ended_at / 3600000;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER transcripts_hour_delete AFTER DELETE ON transcripts BEGIN
    INSERT INTO sample_hour_changes (hour, n) VALUES (OLD.ended_at / 3600000, 1)
        ON CONFLICT (hour) DO UPDATE SET n = n + 1;
    DELETE FROM sample_blocks WHERE hour = OLD.ended_at / 3600000;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER transcripts_hour_delete;
DROP TRIGGER transcripts_hour_update;
DROP TRIGGER transcripts_hour_insert;
DROP TABLE sample_blocks;
DROP TABLE sample_hour_changes;
