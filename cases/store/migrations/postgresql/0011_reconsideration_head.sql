-- PostgreSQL dialect of ../0011_reconsideration_head.sql.
ALTER TABLE users ADD COLUMN heads_reconsideration BIGINT NOT NULL DEFAULT 0
    CHECK (heads_reconsideration IN (0, 1));
