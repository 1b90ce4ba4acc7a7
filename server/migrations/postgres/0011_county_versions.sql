-- A number per county that every change to what its figures roll up from raises in the same
-- transaction: a push that rewrites figures of its units, targets set for its towns, a rebuild.
-- A process that keeps counties rolled up in memory between reports of wider scopes reads these
-- first and rolls up again only the counties whose number moved, whichever process moved it.
-- A county without a row has number 0.
CREATE TABLE county_versions (
    county  TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- The nation's report reads the provinces, the units whose parent is the nation's empty code.
CREATE INDEX areas_parent ON areas (parent);
