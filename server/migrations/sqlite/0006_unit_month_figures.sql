-- Each unit's figures as of the end of each month of its plan's period (month is YYYY-MM),
-- beside unit_figures (now): cumulative, each the figure of the records counted by that month's
-- end, so an "as of" report reads one row per unit and indicator and a year's chart twelve. They
-- are rewritten with unit_figures, in the same push (see docs/scale.md, "Months").
CREATE TABLE unit_month_figures (
    plan TEXT NOT NULL,
    unit TEXT NOT NULL,
    indicator TEXT NOT NULL,
    month TEXT NOT NULL,
    kind TEXT NOT NULL,
    num REAL NOT NULL,
    den REAL NOT NULL,
    scale REAL NOT NULL,
    PRIMARY KEY (plan, unit, indicator, month)
);

-- An "as of" report reads one month of a scope's units.
CREATE INDEX unit_month_figures_by_month ON unit_month_figures (plan, month, unit);
-- A month series reads one indicator of a scope's units.
CREATE INDEX unit_month_figures_by_indicator ON unit_month_figures (plan, indicator, unit, month);

-- The month rows of a database from before they were kept are made by the rebuild the next start
-- runs for plans it does not find here.
DELETE FROM rollup_plans;
