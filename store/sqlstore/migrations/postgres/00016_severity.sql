-- Inspector severity (SPEC §11) reads every final and retracted review of
-- a range of weeks: who scored whom, and how much. A covering index makes
-- that read an index-only scan instead of reading each review's row with
-- its ratings and comments (120k reviews: BENCHMARKS.md).

-- +goose Up
CREATE INDEX reviews_severity ON reviews (week, status, agent_id, inspector_id, score, critical, superseded_by_id, id);

-- +goose Down
DROP INDEX reviews_severity;
