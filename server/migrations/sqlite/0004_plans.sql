-- Plans across years. Every plan the server was given is kept here, as the JSON it serves.
CREATE TABLE plans (
    id       TEXT PRIMARY KEY NOT NULL,
    body     TEXT NOT NULL,
    added_at INTEGER NOT NULL
);

-- Which plan is current (for new records) and which is the legacy plan (the one records made
-- before they carried a plan belong to: the current plan at the first start after this
-- migration, kept once and never changed).
CREATE TABLE plan_roles (
    role TEXT PRIMARY KEY NOT NULL,
    plan TEXT NOT NULL
);

-- The plan each revision and record belongs to; '' until the legacy plan is settled at start.
-- `records` holds the winning revision of each record as `model::merge::RecordState` decides it
-- (0001's comment on it names an older rule).
ALTER TABLE revisions ADD COLUMN plan TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN plan TEXT NOT NULL DEFAULT '';
CREATE INDEX records_plan_unit ON records (plan, unit);
