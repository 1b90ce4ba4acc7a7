-- Each unit's figures at its indicators' own level (villages, and towns for town-level
-- indicators), from the unit's live records, per plan: rewritten in the transaction of every push
-- that changes one of the unit's records, so a report rolls these up instead of the records
-- (see docs/scale.md). kind is number, ratio or flag; a flag keeps 1 or 0 in num.
CREATE TABLE unit_figures (
    plan TEXT NOT NULL,
    unit TEXT NOT NULL,
    indicator TEXT NOT NULL,
    kind TEXT NOT NULL,
    num DOUBLE PRECISION NOT NULL,
    den DOUBLE PRECISION NOT NULL,
    scale DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (plan, unit, indicator)
);

-- The plans the figures were computed under, by a hash of each plan: a plan that differs from
-- its hash here (new, or replaced) has its figures rebuilt from the records at the next start.
CREATE TABLE rollup_plans (
    plan TEXT PRIMARY KEY,
    hash TEXT NOT NULL
);
