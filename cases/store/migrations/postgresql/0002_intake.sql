-- PostgreSQL dialect of ../0002_intake.sql.

ALTER TABLE cases ADD COLUMN routed_to TEXT;
ALTER TABLE cases ADD COLUMN routed_to_name TEXT;
ALTER TABLE cases ADD COLUMN link_reason TEXT;
CREATE INDEX cases_linked ON cases(linked_case_id);
CREATE INDEX attachments_draft ON attachments(draft_id);
