-- Accounts: each belongs to one org unit, with a role. Passwords are argon2id hashes.
CREATE TABLE accounts (
    username      TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change   INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);
CREATE INDEX accounts_unit ON accounts (unit);

-- Sessions: one per device login. Only a hash of the token is kept.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    username   TEXT NOT NULL REFERENCES accounts (username),
    device     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_username ON sessions (username);

-- The audit trail: every revision keeps the account that pushed it (the device is in `device`).
ALTER TABLE revisions ADD COLUMN account TEXT NOT NULL DEFAULT '';
