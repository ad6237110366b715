-- Calibration sessions (SPEC §2 calibration, §11): the same chats before
-- several inspectors, scored blind, apart from production reviews so that
-- they never reach feedback, reports, disputes or picks. Times are Unix
-- milliseconds, as elsewhere.

-- +goose Up

-- inspectors and chats are JSON arrays (inspector ids, external ids) in
-- the order the admin gave; the items reference the rows.
CREATE TABLE calibration_sessions (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT    NOT NULL,
    rubric_version BIGINT  NOT NULL REFERENCES rubrics (version),
    benchmark_id   TEXT    REFERENCES inspectors (id), -- NULL without a benchmark
    inspectors     TEXT    NOT NULL,
    chats          TEXT    NOT NULL,
    due_at         BIGINT,
    status         TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    revealed_at    BIGINT,
    closed_at      BIGINT,
    closed_by      TEXT    NOT NULL DEFAULT ''
);

-- One item per (session, chat, participant), holding the participant's
-- review: review_status is '' before the first save, then draft or final;
-- ratings, flags and details are encoded as in reviews. Ids start at
-- 1,000,000,000 (store.CalibrationItemIDBase) so that they never meet a
-- pick's in the queue and the review calls.
CREATE TABLE calibration_items (
    id             BIGINT  GENERATED ALWAYS AS IDENTITY (START WITH 1000000000) PRIMARY KEY,
    session_id     BIGINT  NOT NULL REFERENCES calibration_sessions (id),
    transcript_id  BIGINT  NOT NULL REFERENCES transcripts (id),
    inspector_id   TEXT    NOT NULL REFERENCES inspectors (id),
    review_status  TEXT    NOT NULL DEFAULT '',
    rubric_version BIGINT  NOT NULL REFERENCES rubrics (version),
    ratings        TEXT    NOT NULL DEFAULT '',
    flags          TEXT    NOT NULL DEFAULT '',
    details        TEXT    NOT NULL DEFAULT '{}',
    score          DOUBLE PRECISION NOT NULL DEFAULT 0,
    grade          TEXT    NOT NULL DEFAULT '',
    critical       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    finalized_at   BIGINT,
    UNIQUE (session_id, transcript_id, inspector_id)
);

-- An inspector's open calibration items (their queue) and sessions.
CREATE INDEX calibration_items_inspector ON calibration_items (inspector_id, review_status);

-- +goose Down
DROP TABLE calibration_items;
DROP TABLE calibration_sessions;
