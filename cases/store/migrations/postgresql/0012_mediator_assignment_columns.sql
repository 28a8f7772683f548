-- PostgreSQL dialect of ../0012_mediator_assignment_columns.sql.
ALTER TABLE users ADD COLUMN leads_room BIGINT NOT NULL DEFAULT 0 CHECK (leads_room IN (0, 1));
ALTER TABLE cases ADD COLUMN mediator_id BIGINT REFERENCES users(telegram_id);
CREATE INDEX cases_mediator ON cases(mediator_id) WHERE mediator_id IS NOT NULL;
