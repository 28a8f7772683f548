-- FY 62(1): an extension of the reconsideration decision period is approved by the head of
-- the reconsideration body (行政复议机构的负责人). A flag on office staff, not a role: the
-- users.role CHECK stays as it is (no table rebuild).
ALTER TABLE users ADD COLUMN heads_reconsideration INTEGER NOT NULL DEFAULT 0
    CHECK (heads_reconsideration IN (0, 1));
