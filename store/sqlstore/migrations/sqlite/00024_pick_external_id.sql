-- A pick keeps its transcript's external id, as it keeps its end time (a
-- picked transcript is frozen; the external id is its identity and never
-- changes): a preview or run of a week that had runs reads the week's
-- picked (external id, agent id) pairs (PickedInWeek) from picks alone,
-- not by a seek per pick into transcripts_sampling.
--
-- picks_week replaces picks_ended (ended_at): a range of end times reads
-- it without the table. id follows ended_at so that retention's candidates
-- (PurgeReviewedTranscripts: ended_at, then id; reading transcript_id) are
-- still in index order and covered; external_id and agent_id serve
-- PickedInWeek, transcript_id PickedInWeekAfter's test.

-- +goose Up
ALTER TABLE picks ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
UPDATE picks SET external_id = (SELECT external_id FROM transcripts WHERE id = picks.transcript_id);
DROP INDEX picks_ended;
CREATE INDEX picks_week ON picks (ended_at, id, transcript_id, external_id, agent_id);

-- An older binary (which opens a newer database and leaves what it does
-- not know) inserts picks without the column: the trigger fills it in, so
-- that PickedInWeek sees them once this one runs again.
-- +goose StatementBegin
CREATE TRIGGER picks_fill_external_id AFTER INSERT ON picks WHEN NEW.external_id = '' BEGIN
    UPDATE picks SET external_id = (SELECT external_id FROM transcripts WHERE id = NEW.transcript_id) WHERE id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER picks_fill_external_id;
DROP INDEX picks_week;
CREATE INDEX picks_ended ON picks (ended_at);
ALTER TABLE picks DROP COLUMN external_id;
