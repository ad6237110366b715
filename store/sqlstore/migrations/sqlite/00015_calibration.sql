-- Calibration sessions (SPEC §2 calibration, §11): the same chats before
-- several inspectors, scored blind, apart from production reviews so that
-- they never reach feedback, reports, disputes or picks. Times are Unix
-- milliseconds, as elsewhere.

-- +goose Up

-- inspectors and chats are JSON arrays (inspector ids, external ids) in
-- the order the admin gave; the items reference the rows.
CREATE TABLE calibration_sessions (
    id             INTEGER NOT NULL PRIMARY KEY,
    name           TEXT    NOT NULL,
    rubric_version INTEGER NOT NULL REFERENCES rubrics (version),
    benchmark_id   TEXT    REFERENCES inspectors (id), -- NULL without a benchmark
    inspectors     TEXT    NOT NULL,
    chats          TEXT    NOT NULL,
    due_at         INTEGER,
    status         TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    revealed_at    INTEGER,
    closed_at      INTEGER,
    closed_by      TEXT    NOT NULL DEFAULT ''
) STRICT;

-- One item per (session, chat, participant), holding the participant's
-- review: review_status is '' before the first save, then draft or final;
-- ratings, flags and details are encoded as in reviews. Ids start at
-- 1,000,000,000 (store.CalibrationItemIDBase) so that they never meet a
-- pick's in the queue and the review calls: AUTOINCREMENT keeps its
-- counter in sqlite_sequence, which is seeded below.
CREATE TABLE calibration_items (
    id             INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    session_id     INTEGER NOT NULL REFERENCES calibration_sessions (id),
    transcript_id  INTEGER NOT NULL REFERENCES transcripts (id),
    inspector_id   TEXT    NOT NULL REFERENCES inspectors (id),
    review_status  TEXT    NOT NULL DEFAULT '',
    rubric_version INTEGER NOT NULL REFERENCES rubrics (version),
    ratings        TEXT    NOT NULL DEFAULT '',
    flags          TEXT    NOT NULL DEFAULT '',
    details        TEXT    NOT NULL DEFAULT '{}',
    score          REAL    NOT NULL DEFAULT 0,
    grade          TEXT    NOT NULL DEFAULT '',
    critical       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finalized_at   INTEGER,
    UNIQUE (session_id, transcript_id, inspector_id)
) STRICT;

INSERT INTO sqlite_sequence (name, seq) VALUES ('calibration_items', 999999999);

-- An inspector's open calibration items (their queue) and sessions.
CREATE INDEX calibration_items_inspector ON calibration_items (inspector_id, review_status);

-- +goose Down
DROP TABLE calibration_items;
DROP TABLE calibration_sessions;
