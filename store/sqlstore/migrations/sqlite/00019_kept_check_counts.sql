-- Check rates over all conversations (SPEC §6) outlive the conversations:
-- retention deletes unsampled chats (SPEC §7) and reports keep their
-- figures. When retention deletes a checked conversation it adds it here,
-- in the same transaction, as transcripts would have counted it: once per
-- author (its owner if the owner wrote in it, and each secondary author),
-- under the check set version that checked it (which tells the checks
-- that ran) and the flags that fired. bucket_ms is the start of the UTC
-- quarter hour the conversation ended in: every zone's offset is a whole
-- number of quarter hours, so a week in whatever zone the policy names
-- later is a whole number of buckets. Live conversations are counted from
-- transcripts; nothing is in both, so the rates add the two. Nothing to
-- backfill: the conversations stored at upgrade are all still in
-- transcripts (those deleted before were counted nowhere, and are lost).

-- +goose Up
CREATE TABLE kept_check_counts (
    bucket_ms     INTEGER NOT NULL,
    agent_id      TEXT    NOT NULL,
    check_version INTEGER NOT NULL,
    check_flags   INTEGER NOT NULL,
    chats         INTEGER NOT NULL,
    PRIMARY KEY (bucket_ms, agent_id, check_version, check_flags)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE kept_check_counts;
