-- SQLite's 00023 packs the week's sample records per hour for the weekly
-- scan (sampleblock.go). PostgreSQL scans the week's columns as they are
-- (runscan.go): the version number is kept in step with SQLite's.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
