-- A record whose revisions have more than one head is in conflict (see model::merge).
ALTER TABLE records ADD COLUMN conflict INTEGER NOT NULL DEFAULT 0;

-- Push idempotency keys, bound to the hash of the push's content, with the answer given, so a
-- re-sent push is answered again and not applied twice. Written in the push's own transaction.
CREATE TABLE push_keys (
    key         TEXT PRIMARY KEY NOT NULL,
    hash        TEXT NOT NULL,
    response    TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
