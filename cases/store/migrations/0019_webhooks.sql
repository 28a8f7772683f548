-- Signed webhooks to county systems (issue 13). Changes are captured by triggers into
-- webhook_events, in the same transaction as the change itself: nothing is lost at a crash and
-- no feature needs a hook. The webhook pump (scheduling/webhooks.py) fans each event out into
-- webhook_deliveries, one row per receiver that wants it, and delivers them from there.
-- deadline.overdue has no row change to trigger on (time passes): the pump scans for it and
-- remembers what it announced in webhook_overdue. Inbound requests of other systems are
-- remembered by (sender, delivery id) in webhook_inbound, so a repeat acts once.
-- Triggers only read NEW/OLD and insert here; they never fail the write they follow.

CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    uid         TEXT NOT NULL UNIQUE DEFAULT (lower(hex(randomblob(16)))),
    type        TEXT NOT NULL,
    -- Events of one subject are delivered in order: 'case:<id>', 'lawsuit:<id>', 'booking:<id>'.
    subject     TEXT NOT NULL,
    case_id     INTEGER,
    lawsuit_id  INTEGER,
    hearing_id  INTEGER,
    booking_id  INTEGER,
    deadline_id INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}',
    occurred_at TEXT NOT NULL,
    fanned_out  INTEGER NOT NULL DEFAULT 0 CHECK (fanned_out IN (0, 1))
) STRICT;
CREATE INDEX webhook_events_new ON webhook_events(id) WHERE fanned_out = 0;
CREATE INDEX webhook_events_at ON webhook_events(occurred_at);

CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    event_id     INTEGER NOT NULL REFERENCES webhook_events(id),
    receiver     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    -- The JSON body, limited to what this receiver may see; the same bytes on every attempt.
    body         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at      TEXT NOT NULL,
    last_error   TEXT,
    last_code    INTEGER,
    last_try_at  TEXT,
    delivered_at TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (event_id, receiver)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(receiver, next_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(receiver, subject, id)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_state ON webhook_deliveries(receiver, status, id);

CREATE TABLE webhook_overdue (
    deadline_id INTEGER NOT NULL REFERENCES case_deadlines(id),
    due_on      TEXT NOT NULL,
    PRIMARY KEY (deadline_id, due_on)
) STRICT;

CREATE TABLE webhook_inbound (
    sender      TEXT NOT NULL,
    delivery    TEXT NOT NULL,
    type        TEXT NOT NULL,
    code        INTEGER NOT NULL,
    response    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (sender, delivery)
) STRICT;

-- Cases: created (and routed, when intake routed it), status changed, routed or transferred.
CREATE TRIGGER webhook_case_created AFTER INSERT ON cases
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, detail, occurred_at)
    VALUES ('case.created', 'case:' || NEW.id, NEW.id,
            json_object('status', NEW.status, 'unit', NEW.routed_to,
                        'unit_name', NEW.routed_to_name),
            NEW.created_at);
    INSERT INTO webhook_events(type, subject, case_id, detail, occurred_at)
    SELECT 'case.routed', 'case:' || NEW.id, NEW.id,
           json_object('status', NEW.status, 'unit', NEW.routed_to,
                       'unit_name', NEW.routed_to_name, 'from_unit', NULL),
           NEW.created_at
    WHERE NEW.routed_to IS NOT NULL;
END;

CREATE TRIGGER webhook_case_status AFTER UPDATE OF status ON cases
WHEN OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, detail, occurred_at)
    VALUES ('case.status_changed', 'case:' || NEW.id, NEW.id,
            json_object('status', NEW.status, 'from_status', OLD.status,
                        'unit', NEW.routed_to, 'unit_name', NEW.routed_to_name),
            NEW.updated_at);
END;

CREATE TRIGGER webhook_case_routed AFTER UPDATE OF routed_to ON cases
WHEN OLD.routed_to IS NOT NEW.routed_to
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, detail, occurred_at)
    VALUES ('case.routed', 'case:' || NEW.id, NEW.id,
            json_object('status', NEW.status, 'unit', NEW.routed_to,
                        'unit_name', NEW.routed_to_name, 'from_unit', OLD.routed_to),
            NEW.updated_at);
END;

-- Court hearings (L7): a date recorded, a date or status changed, who appeared.
CREATE TRIGGER webhook_hearing_added AFTER INSERT ON hearings
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, lawsuit_id, hearing_id, detail,
                               occurred_at)
    VALUES ('hearing.recorded',
            coalesce('lawsuit:' || NEW.lawsuit_id, 'case:' || NEW.case_id, 'hearing:' || NEW.id),
            NEW.case_id, NEW.lawsuit_id, NEW.id,
            json_object('what', 'scheduled', 'starts_at', NEW.starts_at, 'status', NEW.status),
            NEW.created_at);
END;

CREATE TRIGGER webhook_hearing_changed AFTER UPDATE OF starts_at, status ON hearings
WHEN OLD.starts_at IS NOT NEW.starts_at OR OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, lawsuit_id, hearing_id, detail,
                               occurred_at)
    VALUES ('hearing.recorded',
            coalesce('lawsuit:' || NEW.lawsuit_id, 'case:' || NEW.case_id, 'hearing:' || NEW.id),
            NEW.case_id, NEW.lawsuit_id, NEW.id,
            json_object('what', 'changed', 'starts_at', NEW.starts_at, 'status', NEW.status),
            NEW.updated_at);
END;

CREATE TRIGGER webhook_hearing_appearance AFTER INSERT ON hearing_appearances
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, lawsuit_id, hearing_id, detail,
                               occurred_at)
    SELECT 'hearing.recorded',
           coalesce('lawsuit:' || h.lawsuit_id, 'case:' || h.case_id, 'hearing:' || h.id),
           h.case_id, h.lawsuit_id, h.id,
           json_object('what', 'appearance', 'starts_at', h.starts_at, 'status', h.status,
                       'attendance', NEW.attendance),
           NEW.recorded_at
    FROM hearings h WHERE h.id = NEW.hearing_id;
END;

-- 局长接待日: a booking or a waitlist place taken.
CREATE TRIGGER webhook_booking_created AFTER INSERT ON bookings
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, booking_id, detail, occurred_at)
    VALUES ('booking.created', 'booking:' || NEW.id, NEW.case_id, NEW.id,
            json_object('status', NEW.status, 'unit', NEW.agency),
            NEW.created_at);
END;
