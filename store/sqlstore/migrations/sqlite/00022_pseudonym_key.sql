-- The secret ingest keys pseudonyms with (SPEC §7, Privacy): personal
-- data in identifier fields such as customer_id is replaced by a keyed
-- hash. One row, made on first use and kept: a changed key would change
-- every customer's pseudonym.

-- +goose Up
CREATE TABLE pseudonym_key (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    secret     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE pseudonym_key;
