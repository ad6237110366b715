-- Re-runs of the automatic checks over a week (SPEC §6): a job per week
-- and check set version. cursor is the highest transcript id done; each
-- batch's new check results commit with it, so a job taken up after a
-- crash or restart continues where it stopped. from_ms and to_ms bound
-- the conversations' end times (the week in the policy's zone when the
-- job was created).

-- +goose Up
CREATE TABLE check_reruns (
    id            INTEGER NOT NULL PRIMARY KEY,
    week          TEXT    NOT NULL,
    from_ms       INTEGER NOT NULL,
    to_ms         INTEGER NOT NULL,
    check_version INTEGER NOT NULL REFERENCES check_sets (version),
    status        TEXT    NOT NULL,
    cursor_id     INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    total         INTEGER NOT NULL,
    changed       INTEGER NOT NULL DEFAULT 0,
    error         TEXT    NOT NULL DEFAULT '',
    created_by    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;

-- +goose Down
DROP TABLE check_reruns;
