-- Accounts: each belongs to one org unit, with a role. Passwords are argon2id hashes.
CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    must_change   BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);
CREATE INDEX accounts_unit ON accounts (unit text_pattern_ops);

-- Sessions: one per device login. Only a hash of the token is kept.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    username   TEXT NOT NULL REFERENCES accounts (username),
    device     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_username ON sessions (username);

-- The audit trail: every revision keeps the account that pushed it (the device is in `device`).
ALTER TABLE revisions ADD COLUMN account TEXT NOT NULL DEFAULT '';
