-- Check re-runs shared by replicas (SPEC §6, README "PostgreSQL
-- deployment"): a running job is worked by one replica at a time, the one
-- named by owner, until lease_until (unix ms). The holder renews the lease
-- with every batch it commits, and a batch commits only while owner is
-- still the holder, so a replica that lost its lease (another took the
-- job over after the lease expired) cannot advance the cursor or the
-- counts. lease_until 0 means the job is free (never claimed, or released
-- at shutdown).
--
-- At most one job per week runs: a second start for the week finds the
-- running one (the partial unique index makes that hold across replicas).
-- Jobs of a week already running twice before this migration keep the
-- newest; the older ones are marked failed.

-- +goose Up
ALTER TABLE check_reruns ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE check_reruns ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
UPDATE check_reruns SET status = 'failed', error = 'superseded by a newer re-run of the week (schema 20 allows one running re-run per week)'
WHERE status = 'running' AND id < (SELECT max(c.id) FROM check_reruns c WHERE c.week = check_reruns.week AND c.status = 'running');
CREATE UNIQUE INDEX check_reruns_running_week ON check_reruns (week) WHERE status = 'running';

-- +goose Down
DROP INDEX check_reruns_running_week;
ALTER TABLE check_reruns DROP COLUMN lease_until;
ALTER TABLE check_reruns DROP COLUMN owner;
