-- A record's current text is its winning revision's, found by the number the record keeps
-- (`seq`): kept once, in `revisions`, instead of twice.
ALTER TABLE records DROP COLUMN body;
