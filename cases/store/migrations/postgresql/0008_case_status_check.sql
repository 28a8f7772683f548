-- PostgreSQL dialect of ../0008_case_status_check.sql. SQLite rebuilt `cases` to add a table
-- CHECK; PostgreSQL adds it in place. ADD CONSTRAINT checks every existing row, so a row whose
-- status its procedure does not know fails the migration, which rolls back whole, as in SQLite.
-- Rows, ids, indexes and the foreign keys pointing at `cases` are untouched.

ALTER TABLE cases ADD CONSTRAINT cases_status_per_procedure CHECK (
    (procedure = 'reconsideration' AND status IN ('abandoned', 'accepted', 'closed',
        'correction_requested', 'decided', 'refused', 'submitted', 'suspended', 'withdrawn'))
    OR (procedure = 'petition' AND status IN ('accepted', 'closed', 'decided', 'submitted',
        'withdrawn'))
    OR (procedure = 'mediation' AND status IN ('accepted', 'closed', 'settled', 'submitted',
        'withdrawn'))
);

ALTER TABLE users ADD COLUMN display_name TEXT;
