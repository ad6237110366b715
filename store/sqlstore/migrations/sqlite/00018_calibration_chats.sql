-- A chat put before a calibration session is frozen like a picked one
-- (transcripts.go, upsertTail): a changed re-push must find the session's
-- items by transcript, once per push that changed a stored chat.

-- +goose Up
CREATE INDEX calibration_items_transcript ON calibration_items (transcript_id);

-- +goose Down
DROP INDEX calibration_items_transcript;
