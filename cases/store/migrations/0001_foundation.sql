-- Foundation: people, processed updates, conversation state, drafts, cases and their history.
-- Instants are UTC ISO-8601 text; dates of legal periods are YYYY-MM-DD in Asia/Shanghai.

CREATE TABLE users (
    telegram_id INTEGER PRIMARY KEY,
    locale      TEXT CHECK (locale IS NULL OR locale IN ('zh', 'en')),
    role        TEXT NOT NULL DEFAULT 'citizen'
                CHECK (role IN ('citizen', 'mediator', 'office_staff', 'agency_liaison',
                                'agency_head', 'admin')),
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
) STRICT;

-- Telegram re-delivers updates after a crash; each update_id is handled once.
CREATE TABLE processed_updates (
    update_id    INTEGER PRIMARY KEY,
    processed_at TEXT NOT NULL
) STRICT;
CREATE INDEX processed_updates_at ON processed_updates(processed_at);

-- aiogram FSM state, keyed by every StorageKey field so aiogram-dialog style destinies work.
CREATE TABLE fsm_states (
    bot_id                 INTEGER NOT NULL,
    chat_id                INTEGER NOT NULL,
    user_id                INTEGER NOT NULL,
    thread_id              INTEGER NOT NULL DEFAULT 0,
    business_connection_id TEXT NOT NULL DEFAULT '',
    destiny                TEXT NOT NULL,
    state                  TEXT,
    data                   TEXT NOT NULL DEFAULT '{}',
    updated_at             TEXT NOT NULL,
    PRIMARY KEY (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny)
) STRICT;

-- A form being filled in. Saved after every answer; one open draft per procedure per user.
CREATE TABLE drafts (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(telegram_id),
    procedure  TEXT NOT NULL CHECK (procedure IN ('reconsideration', 'petition', 'mediation')),
    status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'submitted', 'discarded')),
    answers    TEXT NOT NULL DEFAULT '{}',
    step       TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX drafts_one_open ON drafts(user_id, procedure) WHERE status = 'open';

-- Case numbers are never reused: the counter only grows, inside the submitting transaction.
CREATE TABLE case_sequences (
    prefix     TEXT NOT NULL,
    year       INTEGER NOT NULL,
    last_value INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
) STRICT;

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
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX cases_citizen ON cases(citizen_id, created_at);
CREATE INDEX cases_status ON cases(status);

CREATE TABLE parties (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    role      TEXT NOT NULL CHECK (role IN ('applicant', 'respondent', 'third_party', 'agent',
                                            'other_party', 'representative')),
    name      TEXT NOT NULL,
    id_type   TEXT,
    id_number TEXT,
    phone     TEXT,
    address   TEXT,
    details   TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX parties_case ON parties(case_id);

-- Evidence. Recorded against the draft while filling in, moved to the case on submission.
CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(telegram_id),
    draft_id       INTEGER REFERENCES drafts(id),
    case_id        INTEGER REFERENCES cases(id),
    kind           TEXT NOT NULL CHECK (kind IN ('photo', 'document', 'voice')),
    file_id        TEXT NOT NULL,
    file_unique_id TEXT NOT NULL,
    file_name      TEXT,
    mime_type      TEXT,
    size           INTEGER NOT NULL,
    sha256         TEXT,
    created_at     TEXT NOT NULL,
    CHECK (draft_id IS NOT NULL OR case_id IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX attachments_once_per_draft ON attachments(draft_id, file_unique_id)
    WHERE draft_id IS NOT NULL;
CREATE INDEX attachments_case ON attachments(case_id);

-- Append-only history of every change: who, when, what.
CREATE TABLE case_events (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    actor_role TEXT NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX case_events_case ON case_events(case_id, id);

CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;

CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN
    SELECT RAISE(ABORT, 'case_events is append-only');
END;
