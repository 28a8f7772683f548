-- 局长接待日 (XF 18(2)): reception sessions, bookings with their waitlist, and the community
-- worker role (社区网格员) who books for citizens who are not online (issue 9).

-- users.role gains 'community_worker'. SQLite cannot alter a CHECK, so the table is rebuilt:
-- copied aside, dropped, created anew under the same name and refilled. Other tables reference
-- users(telegram_id); with foreign keys on, the drop would fail, so the check is deferred to the
-- commit, by which time every referenced row is back (a refilled parent row settles the
-- deferred count; a rename of a new table would not). Keep this list of columns in step with
-- any other migration that adds a column to users (0008 added display_name).
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE users_before_0010 AS
    SELECT telegram_id, locale, role, first_seen, last_seen, unit, display_name FROM users;

DROP TABLE users;

CREATE TABLE users (
    telegram_id INTEGER PRIMARY KEY,
    locale      TEXT CHECK (locale IS NULL OR locale IN ('zh', 'en')),
    role        TEXT NOT NULL DEFAULT 'citizen'
                CHECK (role IN ('citizen', 'mediator', 'office_staff', 'agency_liaison',
                                'agency_head', 'admin', 'community_worker')),
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    unit        TEXT,
    display_name TEXT
) STRICT;

INSERT INTO users(telegram_id, locale, role, first_seen, last_seen, unit, display_name)
    SELECT telegram_id, locale, role, first_seen, last_seen, unit, display_name
    FROM users_before_0010;

DROP TABLE users_before_0010;

CREATE INDEX users_role_unit ON users(role, unit);

-- One reception session of one agency on one day. Recurring ones are written from the
-- organisation file's reception_days when they enter the booking window (source 'rule', one row
-- per agency and day, so a cancelled or moved one is never written again); administrators add
-- others (source 'admin'). Bookings point at a session and a slot number, so a moved session
-- takes its bookings along. provisional: the day lies in a year the legal calendar does not
-- cover yet (domain §1.2).
CREATE TABLE reception_sessions (
    id           INTEGER PRIMARY KEY,
    agency       TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('rule', 'admin')),
    rule_day     TEXT,
    day          TEXT NOT NULL,
    starts       TEXT NOT NULL,
    ends         TEXT NOT NULL,
    place        TEXT NOT NULL,
    place_en     TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL CHECK (slot_minutes BETWEEN 5 AND 240),
    seats        INTEGER NOT NULL CHECK (seats BETWEEN 1 AND 500),
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
    provisional  INTEGER NOT NULL DEFAULT 0 CHECK (provisional IN (0, 1)),
    confirmed    INTEGER NOT NULL DEFAULT 0 CHECK (confirmed IN (0, 1)),
    created_by   INTEGER,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CHECK (starts < ends)
) STRICT;
CREATE UNIQUE INDEX reception_sessions_rule ON reception_sessions(agency, rule_day)
    WHERE source = 'rule';
CREATE INDEX reception_sessions_day ON reception_sessions(agency, day, status);

-- Booking numbers are never reused (as case numbers, case_sequences with prefix 'JD').

-- A booking, or a place on a session's waitlist. Seats are held by 'offered', 'booked' and
-- 'confirmed' rows; 'waiting' rows hold none and are served in id order.
CREATE TABLE bookings (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    session_id    INTEGER NOT NULL REFERENCES reception_sessions(id),
    slot          INTEGER NOT NULL CHECK (slot >= 0),
    agency        TEXT NOT NULL,
    citizen_id    INTEGER REFERENCES users(telegram_id),  -- NULL: booked by a proxy
    booked_by     INTEGER REFERENCES users(telegram_id),
    person_name   TEXT,
    person_phone  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'booked', 'confirmed',
                                                  'attended', 'no_show', 'cancelled',
                                                  'expired', 'released')),
    subject       TEXT NOT NULL,
    request       TEXT NOT NULL,
    people        INTEGER NOT NULL CHECK (people BETWEEN 1 AND 5),
    offer_until   TEXT,
    outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('settled', 'petition', 'referred')),
    outcome_note  TEXT,
    case_id       INTEGER REFERENCES cases(id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (citizen_id IS NOT NULL OR (booked_by IS NOT NULL AND person_phone IS NOT NULL))
) STRICT;
-- Status before slot: the seats taken (three statuses) and the waitlist (one) of a session are
-- each a few index ranges, however long the waitlist grows.
CREATE INDEX bookings_session ON bookings(session_id, status, slot);
CREATE INDEX bookings_citizen ON bookings(citizen_id, status);
CREATE INDEX bookings_offers ON bookings(status, offer_until);
-- One live booking or waitlist place per person per agency.
CREATE UNIQUE INDEX bookings_one_per_agency ON bookings(citizen_id, agency)
    WHERE status IN ('waiting', 'offered', 'booked', 'confirmed');
CREATE UNIQUE INDEX bookings_one_per_agency_by_phone ON bookings(person_phone, agency)
    WHERE person_phone IS NOT NULL AND status IN ('waiting', 'offered', 'booked', 'confirmed');

-- The seat limit, enforced by the database whatever the caller does: a row may not take a seat
-- that the slot no longer has. The booking service's conditional statements never trip it;
-- it is the guarantee, they are the polite path.
CREATE TRIGGER bookings_seats_insert BEFORE INSERT ON bookings
WHEN NEW.status IN ('offered', 'booked', 'confirmed')
 AND (SELECT count(*) FROM bookings b
       WHERE b.session_id = NEW.session_id AND b.slot = NEW.slot
         AND b.status IN ('offered', 'booked', 'confirmed'))
     >= (SELECT seats FROM reception_sessions WHERE id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'reception slot is full');
END;

CREATE TRIGGER bookings_seats_update BEFORE UPDATE OF status, session_id, slot ON bookings
WHEN NEW.status IN ('offered', 'booked', 'confirmed')
 AND NOT (OLD.status IN ('offered', 'booked', 'confirmed')
          AND OLD.session_id = NEW.session_id AND OLD.slot = NEW.slot)
 AND (SELECT count(*) FROM bookings b
       WHERE b.session_id = NEW.session_id AND b.slot = NEW.slot AND b.id != NEW.id
         AND b.status IN ('offered', 'booked', 'confirmed'))
     >= (SELECT seats FROM reception_sessions WHERE id = NEW.session_id)
BEGIN
    SELECT RAISE(ABORT, 'reception slot is full');
END;

-- What happened to a booking, append-only like case_events.
CREATE TABLE booking_events (
    id         INTEGER PRIMARY KEY,
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    at         TEXT NOT NULL,
    actor_id   INTEGER,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX booking_events_booking ON booking_events(booking_id, id);

CREATE TRIGGER booking_events_no_update BEFORE UPDATE ON booking_events
BEGIN
    SELECT RAISE(ABORT, 'booking_events is append-only');
END;

CREATE TRIGGER booking_events_no_delete BEFORE DELETE ON booking_events
BEGIN
    SELECT RAISE(ABORT, 'booking_events is append-only');
END;
