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

-- A replica still on schema 23 during a rolling upgrade inserts picks
-- without the column: the trigger fills it in, so that PickedInWeek sees
-- them (and a later run does not pick their chats again).
-- +goose StatementBegin
CREATE FUNCTION picks_fill_external_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.external_id INTO NEW.external_id FROM transcripts t WHERE t.id = NEW.transcript_id;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER picks_fill_external_id BEFORE INSERT ON picks
    FOR EACH ROW WHEN (NEW.external_id = '') EXECUTE FUNCTION picks_fill_external_id();

-- +goose Down
DROP TRIGGER picks_fill_external_id ON picks;
DROP FUNCTION picks_fill_external_id();
DROP INDEX picks_week;
CREATE INDEX picks_ended ON picks (ended_at);
ALTER TABLE picks DROP COLUMN external_id;
