-- Mediators' profiles and the offers that assign mediation cases to them (issue #10).
-- mediator_profiles: what a mediator chose to show citizens (shown_name), a phone used only to
-- find conflicts of interest (回避), the real name for the same checks (the shown name may be
-- "王老师", the Telegram name anything), and a maximum load (NULL: the room's default).
-- A mediator without a row serves every category of their room with the default load.
CREATE TABLE mediator_profiles (
    user_id INTEGER PRIMARY KEY REFERENCES users(telegram_id),
    shown_name TEXT,
    phone TEXT,
    real_name TEXT,
    max_load INTEGER CHECK (max_load IS NULL OR max_load BETWEEN 1 AND 500),
    updated_at TEXT NOT NULL
);
-- Dispute categories a mediator takes; none = every category of their room.
CREATE TABLE mediator_skills (
    user_id INTEGER NOT NULL REFERENCES users(telegram_id),
    category_id TEXT NOT NULL,
    PRIMARY KEY (user_id, category_id)
);
-- Declared absences, both days included (dates in Asia/Shanghai).
CREATE TABLE mediator_absences (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(telegram_id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (starts_on <= ends_on)
);
CREATE INDEX mediator_absences_user ON mediator_absences(user_id, ends_on);
-- A mediator's declared conflict of interest on one case: never offered it again.
CREATE TABLE mediator_conflicts (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    user_id INTEGER NOT NULL REFERENCES users(telegram_id),
    reason TEXT,
    declared_at TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
-- Every offer of a case to one mediator and how it ended. At most one pending offer per case
-- (the partial unique index), so two scheduler passes can never offer a case twice.
CREATE TABLE mediation_offers (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    mediator_id INTEGER NOT NULL REFERENCES users(telegram_id),
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    offered_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    answered_at TEXT,
    reason_code TEXT,
    reason TEXT
);
CREATE UNIQUE INDEX mediation_offers_one_pending ON mediation_offers(case_id)
    WHERE status = 'pending';
CREATE INDEX mediation_offers_due ON mediation_offers(expires_at) WHERE status = 'pending';
CREATE INDEX mediation_offers_mediator ON mediation_offers(mediator_id, status);
