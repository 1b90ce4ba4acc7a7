-- Per-town targets the county set after issuing a plan (an imported decomposition table). They
-- lie over the plan's own `targets.towns` wherever targets are read; the stored plan itself never
-- changes. `target` is the JSON of `model::plan::Target`.
CREATE TABLE town_targets (
    plan      TEXT NOT NULL,
    indicator TEXT NOT NULL,
    town      TEXT NOT NULL,
    target    TEXT NOT NULL,
    set_at    INTEGER NOT NULL,
    set_by    TEXT NOT NULL,
    PRIMARY KEY (plan, indicator, town)
);

-- What administrators changed besides records (records keep their own trail in `revisions`):
-- who, from which device, when, over which unit, and what (`detail`, JSON).
CREATE TABLE admin_actions (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    account TEXT NOT NULL,
    device  TEXT NOT NULL,
    unit    TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE INDEX admin_actions_unit ON admin_actions (unit, seq);
