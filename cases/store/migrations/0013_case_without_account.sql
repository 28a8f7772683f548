-- A case may belong to a citizen who has no account (issue #9): a petition registered at a
-- reception day (局长接待日) from a booking a community worker (社区网格员) made for a citizen
-- without Telegram. Until now such a case was owned by the worker's account (citizen_id NOT
-- NULL), so the worker saw it in /mycases and received its later notices. Now citizen_id is
-- NULL for such a case; the citizen's name and phone are on the case as its applicant party
-- (parties), where staff reach them, and only a petition can lack an account (the other
-- procedures are applied for in the chat by the applicant).
--
-- SQLite cannot relax NOT NULL, so `cases` is rebuilt as migration 0008 did: rows copied aside,
-- the table dropped and created again, the rows copied back, the indexes recreated. Foreign
-- keys from other tables name `cases` and point at the new table; `defer_foreign_keys` lets the
-- moment between DROP and re-INSERT pass. Keep this list of columns in step with every
-- migration before this one that adds a column to cases (0002 routed_to, routed_to_name,
-- link_reason; 0012 mediator_id).

PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE cases_0013 AS SELECT * FROM cases;

DROP TABLE cases;

CREATE TABLE cases (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    procedure      TEXT NOT NULL CHECK (procedure IN ('reconsideration', 'petition', 'mediation')),
    status         TEXT NOT NULL,
    citizen_id     INTEGER REFERENCES users(telegram_id),  -- NULL: a citizen without an account
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
    mediator_id    INTEGER REFERENCES users(telegram_id),
    CHECK (citizen_id IS NOT NULL OR procedure = 'petition'),
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
                  routed_to, routed_to_name, link_reason, mediator_id)
SELECT id, number, procedure, status, citizen_id, draft_id, sensitive, respondent,
       subject, answers, linked_case_id, received_on, created_at, updated_at,
       routed_to, routed_to_name, link_reason, mediator_id
FROM cases_0013 ORDER BY id;

DROP TABLE cases_0013;

CREATE INDEX cases_citizen ON cases(citizen_id, created_at);
CREATE INDEX cases_status ON cases(status);
CREATE INDEX cases_linked ON cases(linked_case_id);
CREATE INDEX cases_mediator ON cases(mediator_id) WHERE mediator_id IS NOT NULL;

-- Messages about those petitions still waiting for the worker's chat (a notice deferred by the
-- quiet hours, one waiting for a retry) were the citizen's: withdrawn, as the office now tells
-- the citizen in writing.
UPDATE reminders
   SET status = 'cancelled',
       updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00'
 WHERE status = 'pending' AND audience = 'citizen'
   AND case_id IN (SELECT case_id FROM bookings
                    WHERE case_id IS NOT NULL AND citizen_id IS NULL AND booked_by IS NOT NULL);

-- Petitions registered at a reception day from a proxy booking until now were the worker's:
-- they become the citizen's (no account; the booking's name and phone are the applicant party).
UPDATE cases SET citizen_id = NULL
 WHERE id IN (SELECT case_id FROM bookings
               WHERE case_id IS NOT NULL AND citizen_id IS NULL AND booked_by IS NOT NULL);

-- Those petitions were also registered with petition_kind "request", which is none of intake's
-- kinds: they become "complaint" (申诉求决), the kind every reader already took them for.
UPDATE cases SET answers = json_set(answers, '$.petition_kind', 'complaint')
 WHERE procedure = 'petition'
   AND json_extract(answers, '$.channel') = 'reception_day'
   AND json_extract(answers, '$.petition_kind') = 'request';
