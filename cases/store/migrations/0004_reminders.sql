-- Reminders: the facts they are planned from besides case_deadlines (hearings, defence periods
-- of suits against agencies) and the durable outbox (engineering.md §3). Instants are UTC ISO-8601 text; legal dates are
-- YYYY-MM-DD in Asia/Shanghai.

-- L7: a court hearing in an 行政应诉 case. case_id is nullable: a suit against an agency is not
-- always linked to a citizen's case in this bot.
CREATE TABLE hearings (
    id                INTEGER PRIMARY KEY,
    case_id           INTEGER REFERENCES cases(id),
    agency            TEXT NOT NULL,
    court             TEXT NOT NULL,
    court_case_number TEXT,
    starts_at         TEXT NOT NULL,
    major             INTEGER NOT NULL DEFAULT 0 CHECK (major IN (0, 1)),
    head_required     INTEGER NOT NULL DEFAULT 0 CHECK (head_required IN (0, 1)),
    status            TEXT NOT NULL DEFAULT 'scheduled'
                      CHECK (status IN ('scheduled', 'held', 'adjourned', 'cancelled')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX hearings_open ON hearings(status, starts_at);

-- L3: the defendant agency's 15 CD to file evidence and the 答辩状 after receiving the
-- complaint copy (XS 67(1)). due_on is computed by cases/deadlines.py.
CREATE TABLE litigation_defences (
    id                    INTEGER PRIMARY KEY,
    case_id               INTEGER REFERENCES cases(id),
    agency                TEXT NOT NULL,
    court                 TEXT NOT NULL,
    court_case_number     TEXT,
    complaint_received_on TEXT NOT NULL,
    due_on                TEXT NOT NULL,
    status                TEXT NOT NULL DEFAULT 'open'
                          CHECK (status IN ('open', 'filed', 'cancelled')),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;
CREATE INDEX litigation_defences_open ON litigation_defences(status, due_on);

-- The outbox. One row per message to one chat; dedup_key makes planning idempotent.
-- source_kind/source_id point at case_deadlines, hearings or litigation_defences (no foreign
-- key: one column serves three tables); for notices, at the reminder that failed.
CREATE TABLE reminders (
    id              INTEGER PRIMARY KEY,
    dedup_key       TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('reminder', 'chase', 'overdue', 'escalation', 'notice',
                                    'digest')),
    rule_id         TEXT,
    source_kind     TEXT NOT NULL
                    CHECK (source_kind IN ('deadline', 'hearing', 'defence', 'notice', 'digest')),
    source_id       INTEGER,
    case_id         INTEGER REFERENCES cases(id),
    step            TEXT NOT NULL,
    audience        TEXT NOT NULL,
    chat_id         INTEGER NOT NULL,
    locale          TEXT NOT NULL DEFAULT 'zh',
    critical        INTEGER NOT NULL DEFAULT 0 CHECK (critical IN (0, 1)),
    quiet           TEXT NOT NULL DEFAULT 'none'
                    CHECK (quiet IN ('none', 'defer', 'defer_unless_due_today')),
    deadline_on     TEXT,
    escalate_after  TEXT,
    payload         TEXT NOT NULL DEFAULT '{}',
    due_at          TEXT NOT NULL,
    expires_at      TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown',
                                      'expired', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    claimed_at      TEXT,
    sent_at         TEXT,
    tg_message_id   INTEGER,
    last_error      TEXT,
    -- Proof of service (送达): when Telegram accepted the message, when and by whom it was
    -- acknowledged with the "received / 已收到" button.
    delivered_at    TEXT,
    acknowledged_at TEXT,
    acknowledged_by INTEGER,
    escalated_from  INTEGER REFERENCES reminders(id),
    escalated_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX reminders_due ON reminders(status, due_at);
CREATE INDEX reminders_source ON reminders(source_kind, source_id, status);
CREATE INDEX reminders_case ON reminders(case_id, status);
CREATE INDEX reminders_unacknowledged ON reminders(escalate_after)
    WHERE status = 'sent' AND acknowledged_at IS NULL AND escalated_at IS NULL;

-- What the planner last planned for each source, so an unchanged source costs one comparison.
CREATE TABLE reminder_plans (
    source_kind TEXT NOT NULL,
    source_id   INTEGER NOT NULL,
    signature   TEXT NOT NULL,
    planned_at  TEXT NOT NULL,
    PRIMARY KEY (source_kind, source_id)
) STRICT, WITHOUT ROWID;
