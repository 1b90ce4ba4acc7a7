-- Password guesses per (account, address) and per address, shared by every server process on
-- the database (see server/src/auth.rs). A row lasts an hour after its last guess; each guess
-- drops a few rows past that, so the table holds about an hour of guessing.
CREATE TABLE login_strikes (
    key     TEXT PRIMARY KEY NOT NULL,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL
);
CREATE INDEX login_strikes_last_at ON login_strikes (last_at);
