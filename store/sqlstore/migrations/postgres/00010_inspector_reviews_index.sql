-- An inspector's finalised reviews, newest first (ListReviews, `qactl
-- review history`): without this index the list reads every review of
-- every inspector. Reviews grow by thousands a week.

-- +goose Up
CREATE INDEX reviews_inspector ON reviews (inspector_id, id);

-- +goose Down
DROP INDEX reviews_inspector;
