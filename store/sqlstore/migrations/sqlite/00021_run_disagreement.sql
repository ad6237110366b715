-- The policy option check_disagreement orders a run's check:<key> rules
-- by weights computed from final reviews (server/check_disagreement.go).
-- Reviews are finalised, disputed and re-scored after the run, and check
-- re-runs change the flags they are compared with, so the weights and the
-- rule order are frozen with the run, when it is created: its top-ups,
-- replacements and previews, and an auditor's recomputation, take the
-- rules in the stored order.

-- +goose Up

-- A JSON object (store.RunDisagreement as sqlstore encodes it): the rules
-- in the order the run takes them, each check's weight and the counts it
-- rests on, the weeks and the cut-off of the reviews counted. NULL for a
-- policy without the option, and for runs made before this migration,
-- whose top-ups recompute the order from the reviews finalised before the
-- run's creation.
ALTER TABLE sampling_runs ADD COLUMN disagreement TEXT;

-- +goose Down
ALTER TABLE sampling_runs DROP COLUMN disagreement;
