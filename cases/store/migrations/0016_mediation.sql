-- The mediation itself, once a room has the case (issue #10): the other party, the sessions
-- and who comes, the outcome with its follow-up visit (回访), and the one extension of the
-- county's mediation period. New tables only; `cases`, `users` and `reminders` are untouched.
-- Instants are UTC ISO-8601 text; dates are YYYY-MM-DD in Asia/Shanghai.

-- The other side of the dispute. consent: what the mediator recorded or the other party
-- pressed (mediation needs both sides). user_id: the chat that joined by the link.
CREATE TABLE mediation_parties (
    case_id    INTEGER PRIMARY KEY REFERENCES cases(id),
    consent    TEXT NOT NULL DEFAULT 'unknown' CHECK (consent IN ('unknown', 'given', 'refused')),
    consent_by INTEGER,
    consent_at TEXT,
    user_id    INTEGER REFERENCES users(telegram_id),
    name       TEXT,
    phone      TEXT,
    joined_at  TEXT,
    -- When the end of the mediation was wound up (sessions called off, the other party told),
    -- wherever it was recorded: the compare-and-set that tells the other party once.
    wound_up_at TEXT,
    updated_at TEXT NOT NULL,
    CHECK ((user_id IS NULL) = (joined_at IS NULL))
) STRICT;
CREATE INDEX mediation_parties_user ON mediation_parties(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX mediation_parties_unwound ON mediation_parties(case_id)
    WHERE user_id IS NOT NULL AND wound_up_at IS NULL;

-- One-time links for the other party (t.me/<bot>?start=op_<token>). Only the SHA-256 of the
-- token is kept (the applicant's outbox row holds the link until it is sent, then is blanked):
-- a copy of the database opens no case.
CREATE TABLE mediation_links (
    token_hash TEXT PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    used_by    INTEGER
) STRICT;
CREATE INDEX mediation_links_case ON mediation_links(case_id);

-- Sessions. version grows with every move, so a stale "move" press cannot move twice and the
-- reminders of each version have their own keys.
CREATE TABLE mediation_sessions (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    starts_at  TEXT NOT NULL,
    place      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX mediation_sessions_case ON mediation_sessions(case_id, starts_at);
CREATE INDEX mediation_sessions_scheduled ON mediation_sessions(starts_at)
    WHERE status = 'scheduled';

-- "I will come" / "I cannot come", per person and session (the last answer counts).
CREATE TABLE mediation_attendance (
    session_id INTEGER NOT NULL REFERENCES mediation_sessions(id),
    person_id  INTEGER NOT NULL,
    side       TEXT NOT NULL CHECK (side IN ('applicant', 'other_party', 'mediator')),
    coming     INTEGER NOT NULL CHECK (coming IN (0, 1)),
    answered_at TEXT NOT NULL,
    PRIMARY KEY (session_id, person_id)
) STRICT;

-- The outcome as the mediator recorded it: the agreement's main terms, and the follow-up
-- visit (回访) due some days later, recorded once.
CREATE TABLE mediation_outcomes (
    case_id         INTEGER PRIMARY KEY REFERENCES cases(id),
    agreed          INTEGER NOT NULL CHECK (agreed IN (0, 1)),
    terms           TEXT,
    ended_on        TEXT NOT NULL,
    recorded_by     INTEGER NOT NULL,
    followup_due_on TEXT,
    followup_at     TEXT,
    followup_by     INTEGER,
    followup_kept   INTEGER CHECK (followup_kept IS NULL OR followup_kept IN (0, 1)),
    followup_note   TEXT,
    CHECK (agreed = 1 OR followup_due_on IS NULL)
) STRICT;

-- The county lets the mediation period (rule MA) be extended once, with the room lead's
-- approval: one request per case. 'lapsed': the period ended before the lead decided.
CREATE TABLE mediation_extensions (
    case_id      INTEGER PRIMARY KEY REFERENCES cases(id),
    days         INTEGER NOT NULL CHECK (days >= 1),
    reason       TEXT NOT NULL,
    requested_by INTEGER NOT NULL,
    requested_at TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'approved', 'refused', 'lapsed')),
    decided_by   INTEGER,
    decided_at   TEXT
) STRICT;
