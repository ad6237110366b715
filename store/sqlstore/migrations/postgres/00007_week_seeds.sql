-- Each week's seed, drawn before the week is first previewed or run and
-- kept for every run of the week, whatever its policy version: a preview
-- then shows the picks the run will make, and its commitment (SHA-256 of
-- the seed) is published before the seed is revealed. Weeks run before
-- this table existed keep the seed of their first run.

-- +goose Up
CREATE TABLE week_seeds (
    week       TEXT    NOT NULL PRIMARY KEY,
    seed       BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);

INSERT INTO week_seeds (week, seed, created_at)
SELECT r.week, r.seed, r.created_at FROM sampling_runs r
WHERE r.id = (SELECT MIN(f.id) FROM sampling_runs f WHERE f.week = r.week);

-- +goose Down
DROP TABLE week_seeds;
