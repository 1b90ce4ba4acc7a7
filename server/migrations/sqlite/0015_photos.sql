-- Photo evidence (server/src/api/photos.rs). The photos' bytes are in the object store under
-- their id (the SHA-256 of the bytes); `photos` lists those held. `record_photos` lists which
-- records name which photo, in which unit, written with each revision a push stores: a photo is
-- taken only from an account whose scope holds a record naming it, and shown only to those.
CREATE TABLE photos (
    id          TEXT PRIMARY KEY,
    bytes       BIGINT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    received_at BIGINT NOT NULL,
    account     TEXT NOT NULL
);
CREATE TABLE record_photos (
    photo  TEXT NOT NULL,
    unit   TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (photo, unit, record)
);
