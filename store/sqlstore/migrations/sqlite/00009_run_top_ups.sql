-- Top-ups of completed runs (SPEC §2 step 2): picks that chats pushed
-- after a week's run (late chats) make possible, with the run's seed and
-- policy version, recorded with the run.

-- +goose Up

-- What the run and its top-ups have read: every transcript with an id up
-- to scanned_through (NULL: unknown, for runs before this migration or a
-- runner that died before recording it; the next top-up then reads the
-- whole week), so that a top-up reads only the transcripts ingested
-- since. handle_thresholds is a JSON object of the long-handle-time
-- thresholds the run compared with, in nanoseconds by team key
-- (sampler.TeamKey), which top-ups keep.
ALTER TABLE sampling_runs ADD COLUMN scanned_through INTEGER;
ALTER TABLE sampling_runs ADD COLUMN handle_thresholds TEXT;

-- One row per top-up, numbered 1, 2, ... within its run: UNIQUE (run_id,
-- seq) makes a second replica that read the same state fail instead of
-- adding a top-up on top of one it has not seen.
CREATE TABLE run_top_ups (
    id              INTEGER NOT NULL PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES sampling_runs (id),
    seq             INTEGER NOT NULL,
    "trigger"       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    picks           INTEGER NOT NULL, -- added by this top-up
    shortfalls      INTEGER NOT NULL, -- the run's agents still short after it
    considered      INTEGER NOT NULL, -- transcripts read
    scanned_through INTEGER NOT NULL,
    UNIQUE (run_id, seq)
) STRICT;

-- +goose Down
DROP TABLE run_top_ups;
ALTER TABLE sampling_runs DROP COLUMN handle_thresholds;
ALTER TABLE sampling_runs DROP COLUMN scanned_through;
