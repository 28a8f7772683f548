-- Staff onboarding by invitation (issue #10): an administrator's one-time deep link
-- (https://t.me/<bot>?start=inv_<token>) makes whoever opens it staff of one unit. Only the
-- SHA-256 of the token is stored: the link is shown once and cannot be read back from here.
-- status moves pending -> used | revoked once (compare-and-set); expiry is read from expires_at.
-- request_key (the administrator's chat and message) makes a double press create one link.
CREATE TABLE staff_invitations (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    request_key TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL
        CHECK (role IN ('mediator', 'office_staff', 'agency_liaison', 'agency_head')),
    unit TEXT NOT NULL,
    heads_reconsideration INTEGER NOT NULL DEFAULT 0 CHECK (heads_reconsideration IN (0, 1)),
    leads_room INTEGER NOT NULL DEFAULT 0 CHECK (leads_room IN (0, 1)),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'used', 'revoked')),
    used_by INTEGER,
    used_at TEXT,
    revoked_by INTEGER,
    revoked_at TEXT
) STRICT;
CREATE INDEX staff_invitations_pending ON staff_invitations(expires_at) WHERE status = 'pending';

-- A case's next deadline (WHERE case_id = ? AND status = 'open' ORDER BY due_on): without this
-- index SQLite answered it from case_deadlines_due, walking every open deadline of the county
-- in date order for each case; /cases at 20,000 cases took 28 s for a mediator and 93 s for an
-- office clerk (benchmarks/worklist.py's data), with it 24 ms and 125 ms.
CREATE INDEX case_deadlines_case_due ON case_deadlines(case_id, status, due_on);
