-- Ids are kept as text, as on SQLite, so that one set of queries serves both engines. The text
-- of a uuid is its lowercase hyphenated form, the form the server writes and compares.
ALTER TABLE revisions
    ALTER COLUMN rev TYPE TEXT,
    ALTER COLUMN record TYPE TEXT,
    ALTER COLUMN parent TYPE TEXT;
ALTER TABLE records
    ALTER COLUMN id TYPE TEXT,
    ALTER COLUMN rev TYPE TEXT;
