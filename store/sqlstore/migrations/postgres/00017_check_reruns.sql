-- Re-runs of the automatic checks over a week (SPEC §6): a job per week
-- and check set version. cursor is the highest transcript id done; each
-- batch's new check results commit with it, so a job taken up after a
-- crash or restart continues where it stopped. from_ms and to_ms bound
-- the conversations' end times (the week in the policy's zone when the
-- job was created).

-- +goose Up
CREATE TABLE check_reruns (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    week          TEXT    NOT NULL,
    from_ms       BIGINT  NOT NULL,
    to_ms         BIGINT  NOT NULL,
    check_version BIGINT  NOT NULL REFERENCES check_sets (version),
    status        TEXT    NOT NULL,
    cursor_id     BIGINT  NOT NULL DEFAULT 0,
    done          BIGINT  NOT NULL DEFAULT 0,
    total         BIGINT  NOT NULL,
    changed       BIGINT  NOT NULL DEFAULT 0,
    error         TEXT    NOT NULL DEFAULT '',
    created_by    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    finished_at   BIGINT
);

-- +goose Down
DROP TABLE check_reruns;
