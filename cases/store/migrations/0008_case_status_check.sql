-- Case statuses are an enumeration per procedure (cases/procedures.py, PROCEDURE_STATUSES):
-- the schema now refuses any other value. SQLite cannot add a CHECK to an existing table, so
-- `cases` is rebuilt inside this migration's transaction: its rows are copied aside, the table
-- is dropped and created again with the constraint, the rows are copied back (a row whose
-- status the procedure does not know fails the migration, which then rolls back whole), and
-- its indexes are created again. Foreign keys from other tables name `cases` and point at the
-- new table; `defer_foreign_keys` lets the moment between DROP and re-INSERT pass, and the
-- check at COMMIT finds every reference resolved again.
--
-- Also: users get a display name (Telegram first name or @username, stored when it changes),
-- so the case history names the actor as well as the role.

PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE cases_0008 AS SELECT * FROM cases;

DROP TABLE cases;

CREATE TABLE cases (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    procedure      TEXT NOT NULL CHECK (procedure IN ('reconsideration', 'petition', 'mediation')),
    status         TEXT NOT NULL,
    citizen_id     INTEGER NOT NULL REFERENCES users(telegram_id),
    draft_id       INTEGER UNIQUE REFERENCES drafts(id),
    sensitive      INTEGER NOT NULL DEFAULT 0 CHECK (sensitive IN (0, 1)),
    respondent     TEXT,
    subject        TEXT NOT NULL,
    answers        TEXT NOT NULL DEFAULT '{}',
    linked_case_id INTEGER REFERENCES cases(id),
    received_on    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    routed_to      TEXT,
    routed_to_name TEXT,
    link_reason    TEXT,
    CHECK (
        (procedure = 'reconsideration' AND status IN ('abandoned', 'accepted', 'closed',
            'correction_requested', 'decided', 'refused', 'submitted', 'suspended', 'withdrawn'))
        OR (procedure = 'petition' AND status IN ('accepted', 'closed', 'decided', 'submitted',
            'withdrawn'))
        OR (procedure = 'mediation' AND status IN ('accepted', 'closed', 'settled', 'submitted',
            'withdrawn'))
    )
) STRICT;

INSERT INTO cases(id, number, procedure, status, citizen_id, draft_id, sensitive, respondent,
                  subject, answers, linked_case_id, received_on, created_at, updated_at,
                  routed_to, routed_to_name, link_reason)
SELECT id, number, procedure, status, citizen_id, draft_id, sensitive, respondent,
       subject, answers, linked_case_id, received_on, created_at, updated_at,
       routed_to, routed_to_name, link_reason
FROM cases_0008 ORDER BY id;

DROP TABLE cases_0008;

CREATE INDEX cases_citizen ON cases(citizen_id, created_at);
CREATE INDEX cases_status ON cases(status);
CREATE INDEX cases_linked ON cases(linked_case_id);

ALTER TABLE users ADD COLUMN display_name TEXT;
