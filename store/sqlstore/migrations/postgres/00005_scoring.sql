-- Scoring (SPEC §2 steps 4–6, disputes, §5): rubric versions, reviews,
-- feedback records, disputes and the audit trail. Times are Unix
-- milliseconds, as elsewhere.

-- +goose Up

-- Versions 1, 2, 3, ...; the document is JSON the store does not interpret.
-- locked becomes true when the first review uses a version; from then on the
-- document never changes.
CREATE TABLE rubrics (
    version    BIGINT  NOT NULL PRIMARY KEY,
    document   TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    locked     BOOLEAN NOT NULL DEFAULT FALSE
);

-- The one active version (a single row).
CREATE TABLE rubric_active (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version BIGINT  NOT NULL REFERENCES rubrics (version)
);

-- ratings is compact text, "key,value,max,marks;..." (value -1 is N/A;
-- marks f = failing, c = critical), so that a report over a hundred
-- thousand reviews parses it without JSON; details is JSON holding what
-- only people read (comments, strengths, suggestions). agent_id,
-- external_id and week copy the pick's and its run's, for reports and
-- feedback.
CREATE TABLE reviews (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pick_id          BIGINT  NOT NULL REFERENCES picks (id),
    inspector_id     TEXT    NOT NULL REFERENCES inspectors (id),
    agent_id         TEXT    NOT NULL,
    external_id      TEXT    NOT NULL,
    week             TEXT    NOT NULL,
    rubric_version   BIGINT  NOT NULL REFERENCES rubrics (version),
    status           TEXT    NOT NULL,
    ratings          TEXT    NOT NULL,
    flags            TEXT    NOT NULL DEFAULT '',
    details          TEXT    NOT NULL,
    score            DOUBLE PRECISION NOT NULL DEFAULT 0,
    grade            TEXT    NOT NULL DEFAULT '',
    critical         BOOLEAN NOT NULL DEFAULT FALSE,
    dispute_id       BIGINT,
    supersedes_id    BIGINT  REFERENCES reviews (id),
    superseded_by_id BIGINT  REFERENCES reviews (id),
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finalized_at     BIGINT
);

-- A pick has at most one final review and each inspector at most one
-- draft of it: these indexes are what make a finalised review impossible
-- to overwrite, whatever races.
CREATE UNIQUE INDEX reviews_one_final ON reviews (pick_id) WHERE status = 'final';
CREATE UNIQUE INDEX reviews_one_draft ON reviews (pick_id, inspector_id) WHERE status = 'draft';
-- An agent's counted reviews of a week, to rewrite its report cell.
CREATE INDEX reviews_report ON reviews (agent_id, week) WHERE status = 'final';

-- Reports read one row per agent and week rather than one per review: the
-- final reviews of (agent_id, week), one per line as
-- "score|critical|flags|ratings", rewritten in the transaction that
-- changes them. A team report over 2,000 agents and 12 weeks reads 24,000
-- rows instead of 120,000.
CREATE TABLE report_cells (
    agent_id TEXT NOT NULL,
    week     TEXT NOT NULL,
    reviews  TEXT NOT NULL,
    PRIMARY KEY (agent_id, week)
);

-- One record per final review. The id is the delivery cursor: inserts take
-- a transaction-scoped advisory lock, so ids are committed in order and a
-- reader resuming after id n never skips a record committed later.
CREATE TABLE feedback (
    id                BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    review_id         BIGINT  NOT NULL REFERENCES reviews (id),
    agent_id          TEXT    NOT NULL,
    supervisor_id     TEXT    NOT NULL,
    team_id           TEXT    NOT NULL,
    week              TEXT    NOT NULL,
    grade             TEXT    NOT NULL,
    coaching_required BOOLEAN NOT NULL,
    share_as_example  BOOLEAN NOT NULL,
    supersedes_id     BIGINT  REFERENCES feedback (id),
    created_at        BIGINT NOT NULL,
    acknowledged_at   BIGINT,
    acknowledged_by   TEXT    NOT NULL DEFAULT '',
    coaching_note     TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX feedback_supervisor ON feedback (supervisor_id, id);
CREATE INDEX feedback_agent ON feedback (agent_id, id);
CREATE INDEX feedback_review ON feedback (review_id);

CREATE TABLE disputes (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    review_id     BIGINT  NOT NULL REFERENCES reviews (id),
    pick_id       BIGINT  NOT NULL REFERENCES picks (id),
    agent_id      TEXT    NOT NULL,
    opened_by     TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    assignee_id   TEXT    NOT NULL REFERENCES inspectors (id),
    status        TEXT    NOT NULL,
    resolution_id BIGINT  REFERENCES reviews (id),
    opened_at     BIGINT NOT NULL,
    resolved_at   BIGINT
);

-- One open dispute per review.
CREATE UNIQUE INDEX disputes_one_open ON disputes (review_id) WHERE status = 'open';
CREATE INDEX disputes_agent ON disputes (agent_id, id);
CREATE INDEX disputes_pick ON disputes (pick_id);

CREATE TABLE audit_events (
    id        BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    entity    TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_entity ON audit_events (entity, entity_id, id);
CREATE INDEX audit_actor ON audit_events (actor, id);

-- +goose Down
DROP TABLE report_cells;
DROP TABLE audit_events;
DROP TABLE disputes;
DROP TABLE feedback;
DROP TABLE reviews;
DROP TABLE rubric_active;
DROP TABLE rubrics;
