-- Indexes of only the open rows, for the backlog a metrics scrape counts
-- (sqlstore/backlog.go): they stay as small as the backlog while picks and
-- feedback grow by thousands a week. Open disputes already have
-- disputes_one_open.

-- +goose Up
CREATE INDEX picks_open ON picks (status) WHERE status IN ('assigned', 'pool', 'disputed');
CREATE INDEX feedback_unacked ON feedback (created_at) WHERE acknowledged_at IS NULL;

-- +goose Down
DROP INDEX feedback_unacked;
DROP INDEX picks_open;
