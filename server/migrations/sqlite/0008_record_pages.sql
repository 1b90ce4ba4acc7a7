-- Records listed a page at a time, newest first (GET /api/records): a plan's records in the
-- order of their current revision's number, read from the top down to the page's start, so a
-- page deep in a county's list costs what the first does.
CREATE INDEX records_plan_seq ON records (plan, seq);
