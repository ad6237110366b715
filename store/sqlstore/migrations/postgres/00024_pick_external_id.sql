-- A pick keeps its transcript's external id, as it keeps its end time (a
-- picked transcript is frozen; the external id is its identity and never
-- changes): a preview or run of a week that had runs reads the week's
-- picked (external id, agent id) pairs (PickedInWeek) from picks alone,
-- without a join to transcripts.
--
-- picks_week replaces picks_ended (ended_at): keyed by (ended_at, id), the
-- order retention reads its candidates in (PurgeReviewedTranscripts), and
-- carrying what PickedInWeek and PickedInWeekAfter read, so that a range
-- of end times can be an index-only scan.

-- +goose Up
ALTER TABLE picks ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
UPDATE picks p SET external_id = t.external_id FROM transcripts t WHERE t.id = p.transcript_id;
DROP INDEX picks_ended;
CREATE INDEX picks_week ON picks (ended_at, id) INCLUDE (transcript_id, external_id, agent_id);

-- +goose Down
DROP INDEX picks_week;
CREATE INDEX picks_ended ON picks (ended_at);
ALTER TABLE picks DROP COLUMN external_id;
