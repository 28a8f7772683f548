-- Petitions handed to the agencies that must answer them (issue #10, XF 22-23, 34).
-- One row per handover: 交办 (assign) to an agency of the organisation file, or 转送 (transfer)
-- to a body outside the county (named as typed). A case has at most one live handover
-- (assigned or accepted); an agency that objects (XF 23(3), 5 WD) returns it once the office
-- agrees, and the office may hand it over again, so earlier rows stay as history.
CREATE TABLE petition_handovers (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    kind          TEXT NOT NULL CHECK (kind IN ('assign', 'transfer')),
    agency_id     TEXT,
    body_name     TEXT,
    reason        TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    status        TEXT NOT NULL CHECK (status IN ('assigned', 'accepted', 'concluded',
                                                  'returned', 'transferred')),
    assigned_by   INTEGER NOT NULL,
    assigned_at   TEXT NOT NULL,
    accepted_by   INTEGER,
    accepted_on   TEXT,
    concluded_by  INTEGER,
    concluded_on  TEXT,
    -- XF 23(3): the agency's objection (not within its competence) waits for the petition
    -- office: agreed, the handover is 'returned'; not agreed, the agency must handle it.
    objection_reason     TEXT,
    objected_by          INTEGER,
    objected_at          TEXT,
    objection_refused_at TEXT,
    CHECK ((kind = 'assign' AND agency_id IS NOT NULL)
        OR (kind = 'transfer' AND body_name IS NOT NULL AND length(trim(body_name)) > 0))
) STRICT;
CREATE UNIQUE INDEX petition_handovers_live ON petition_handovers(case_id)
    WHERE status IN ('assigned', 'accepted');
CREATE INDEX petition_handovers_agency ON petition_handovers(agency_id, status);

-- XF 34: the handling agency asks to extend the 60-day period (at most 30 days); the head of
-- the body approves. One pending request per case.
CREATE TABLE petition_extension_requests (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    handover_id   INTEGER NOT NULL REFERENCES petition_handovers(id),
    days          INTEGER NOT NULL CHECK (days > 0),
    reason        TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'approved', 'refused')),
    requested_by  INTEGER NOT NULL,
    requested_at  TEXT NOT NULL,
    decided_by    INTEGER,
    decided_at    TEXT
) STRICT;
CREATE UNIQUE INDEX petition_extension_pending ON petition_extension_requests(case_id)
    WHERE status = 'pending';
