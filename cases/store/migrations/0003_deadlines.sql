-- Case clocks: the statutory deadlines a case has started (rule ids of cases/deadlines.py),
-- their pauses and extensions. Dates of legal periods are YYYY-MM-DD in Asia/Shanghai;
-- instants are UTC ISO-8601 text. The history of every change is in case_events.

CREATE TABLE case_deadlines (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER NOT NULL REFERENCES cases(id),
    rule_id          TEXT NOT NULL,
    trigger_on       TEXT NOT NULL CHECK (date(trigger_on) IS trigger_on),
    -- The current last day: the rule's period, moved by closed pauses and extensions. While
    -- the deadline is paused it is the last day computed before the pause.
    due_on           TEXT NOT NULL CHECK (date(due_on) IS due_on),
    -- 1 = a day consulted lay in a year without holiday data (counted Monday-Friday).
    provisional      INTEGER NOT NULL DEFAULT 0 CHECK (provisional IN (0, 1)),
    status           TEXT NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'paused', 'met', 'missed', 'cancelled')),
    -- The period as opened, so later changes of local settings never move an open deadline.
    simplified       INTEGER NOT NULL DEFAULT 0 CHECK (simplified IN (0, 1)),
    unit             TEXT NOT NULL
                     CHECK (unit IN ('calendar_days', 'working_days', 'months', 'years')),
    count            INTEGER NOT NULL CHECK (count >= 0),
    direction        TEXT NOT NULL DEFAULT 'after' CHECK (direction IN ('after', 'before')),
    basis            TEXT NOT NULL,
    paused_since     TEXT CHECK (paused_since IS NULL OR date(paused_since) IS paused_since),
    paused_days      INTEGER NOT NULL DEFAULT 0 CHECK (paused_days >= 0),
    -- Granted extensions, in the rule's unit (X4, F12: calendar days), and the last approver.
    extension_days   INTEGER NOT NULL DEFAULT 0 CHECK (extension_days >= 0),
    extended_by      INTEGER REFERENCES users(telegram_id),
    extension_reason TEXT,
    closed_on        TEXT CHECK (closed_on IS NULL OR date(closed_on) IS closed_on),
    closed_by        INTEGER REFERENCES users(telegram_id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((status = 'paused') = (paused_since IS NOT NULL)),
    CHECK ((status IN ('met', 'missed', 'cancelled')) = (closed_on IS NOT NULL))
) STRICT;
CREATE INDEX case_deadlines_case ON case_deadlines(case_id, status);
CREATE INDEX case_deadlines_due ON case_deadlines(status, due_on);
CREATE INDEX case_deadlines_provisional ON case_deadlines(provisional)
    WHERE provisional = 1 AND status IN ('open', 'paused');
-- A rule runs at most once at a time per case (a new F5 after 补正 restarts the same row).
CREATE UNIQUE INDEX case_deadlines_one_running ON case_deadlines(case_id, rule_id)
    WHERE status IN ('open', 'paused');

-- Intervals during which a deadline stood still: 补正 (F6/F7, FYSS 29), 中止 (F17, FY 39),
-- 听证 in 复核 (X8, XF 36(2)), 现场勘验 (FYSS 34), 鉴定评估 (ZXTJ 26).
CREATE TABLE deadline_pauses (
    id          INTEGER PRIMARY KEY,
    deadline_id INTEGER NOT NULL REFERENCES case_deadlines(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    reason      TEXT NOT NULL
                CHECK (reason IN ('correction', 'suspension', 'hearing', 'inspection',
                                  'appraisal')),
    started_on  TEXT NOT NULL CHECK (date(started_on) IS started_on),
    ended_on    TEXT CHECK (ended_on IS NULL OR (date(ended_on) IS ended_on
                                                 AND ended_on >= started_on)),
    started_by  INTEGER REFERENCES users(telegram_id),
    ended_by    INTEGER REFERENCES users(telegram_id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX deadline_pauses_deadline ON deadline_pauses(deadline_id, started_on);
CREATE INDEX deadline_pauses_case ON deadline_pauses(case_id, ended_on);
CREATE UNIQUE INDEX deadline_pauses_one_open ON deadline_pauses(deadline_id)
    WHERE ended_on IS NULL;
