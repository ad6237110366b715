-- zstd dictionaries that transcript bodies are compressed with. Kept
-- forever: a body names its dictionary, and every body must stay readable.

-- +goose Up
CREATE TABLE body_dictionaries (
    id         BIGINT NOT NULL PRIMARY KEY,
    data       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE body_dictionaries;
