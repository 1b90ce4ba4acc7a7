-- What residents send in from the public wish wall (server/src/api/wall.rs): the fields the
-- plan lets them fill (`content`, JSON) for a form and a village, with their phone for the
-- village's worker, who checks it before it becomes a record. `state` is waiting, accepted
-- (made a record), declined or hidden.
CREATE TABLE wall_submissions (
    id         TEXT PRIMARY KEY,
    unit       TEXT NOT NULL,
    plan       TEXT NOT NULL,
    form       TEXT NOT NULL,
    content    TEXT NOT NULL,
    phone      TEXT NOT NULL,
    state      TEXT NOT NULL,
    made_at    BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT NOT NULL
);
CREATE INDEX wall_submissions_waiting ON wall_submissions (state, unit, made_at);
