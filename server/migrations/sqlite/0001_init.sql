-- Org units: the division hierarchy (county → town → village).
CREATE TABLE areas (
    code   TEXT PRIMARY KEY NOT NULL,
    name   TEXT NOT NULL,
    level  TEXT NOT NULL,
    parent TEXT NOT NULL
);

-- Every revision ever received, numbered in the order stored. `rev` is the idempotency key and
-- `hash` binds it to its content. Nothing here is ever updated or deleted.
CREATE TABLE revisions (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    rev         TEXT NOT NULL UNIQUE,
    record      TEXT NOT NULL,
    parent      TEXT,
    device      TEXT NOT NULL,
    clock       INTEGER NOT NULL,
    form        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    deleted     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX revisions_record ON revisions (record);
CREATE INDEX revisions_unit_seq ON revisions (unit, seq);

-- The winning revision of each record (see Revision::wins_over), for reports.
CREATE TABLE records (
    id      TEXT PRIMARY KEY NOT NULL,
    rev     TEXT NOT NULL,
    clock   INTEGER NOT NULL,
    form    TEXT NOT NULL,
    unit    TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    body    TEXT NOT NULL,
    seq     INTEGER NOT NULL
);
CREATE INDEX records_unit ON records (unit);
