-- A number every import of areas raises in its transaction. A process that keeps area trees in
-- memory reads it before each report: the same number means the areas it keeps are still those
-- the table holds, whichever process imported last.
CREATE TABLE areas_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO areas_version (id, version) VALUES (1, 0);
