-- Org units: the division hierarchy (county → town → village).
CREATE TABLE areas (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    level  TEXT NOT NULL,
    parent TEXT NOT NULL
);

-- Every revision ever received, numbered in the order stored. `rev` is the idempotency key and
-- `hash` binds it to its content. Nothing here is ever updated or deleted.
CREATE TABLE revisions (
    seq         BIGSERIAL PRIMARY KEY,
    rev         UUID NOT NULL UNIQUE,
    record      UUID NOT NULL,
    parent      UUID,
    device      TEXT NOT NULL,
    clock       BIGINT NOT NULL,
    form        TEXT NOT NULL,
    unit        TEXT NOT NULL,
    deleted     BOOLEAN NOT NULL,
    body        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX revisions_record ON revisions (record);
CREATE INDEX revisions_unit_seq ON revisions (unit text_pattern_ops, seq);

-- The winning revision of each record (see model::merge), for reports and checksums.
CREATE TABLE records (
    id       UUID PRIMARY KEY,
    rev      UUID NOT NULL,
    clock    BIGINT NOT NULL,
    form     TEXT NOT NULL,
    unit     TEXT NOT NULL,
    deleted  BOOLEAN NOT NULL,
    body     TEXT NOT NULL,
    seq      BIGINT NOT NULL,
    conflict BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX records_unit ON records (unit text_pattern_ops);

-- Push idempotency keys, bound to the hash of the push's content, with the answer given.
CREATE TABLE push_keys (
    key         TEXT PRIMARY KEY,
    hash        TEXT NOT NULL,
    response    TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
