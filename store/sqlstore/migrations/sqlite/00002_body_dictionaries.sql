-- zstd dictionaries that transcript bodies are compressed with. Kept
-- forever: a body names its dictionary, and every body must stay readable.

-- +goose Up
CREATE TABLE body_dictionaries (
    id         INTEGER NOT NULL PRIMARY KEY,
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE body_dictionaries;
