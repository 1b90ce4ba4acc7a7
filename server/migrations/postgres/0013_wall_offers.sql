-- Helpers' offers to take up a record on the public wish wall (server/src/api/wall.rs). An offer
-- keeps the helper's contact for the village's worker only; `what` is the record's title when
-- the offer was made, for the worker's list. `state` is waiting, accepted, declined or hidden.
CREATE TABLE wall_offers (
    id         TEXT PRIMARY KEY,
    record     TEXT NOT NULL,
    unit       TEXT NOT NULL,
    plan       TEXT NOT NULL,
    form       TEXT NOT NULL,
    what       TEXT NOT NULL,
    name       TEXT NOT NULL,
    phone      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    note       TEXT NOT NULL,
    state      TEXT NOT NULL,
    made_at    BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT NOT NULL
);
CREATE INDEX wall_offers_waiting ON wall_offers (state, unit, made_at);
CREATE INDEX wall_offers_record ON wall_offers (record, state);
