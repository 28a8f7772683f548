-- 行政应诉: the court case record of domain §6.5, which the L3 defence period
-- (litigation_defences) and the L7 hearings (hearings) of 0004 belong to, and what happened at
-- each hearing (who appeared for the agency: XS 3(3), XSJS 128-132). Instants are UTC
-- ISO-8601 text; legal dates are YYYY-MM-DD in Asia/Shanghai.

CREATE TABLE lawsuits (
    id                    INTEGER PRIMARY KEY,
    agency_id             TEXT NOT NULL,       -- the organisation file's id of the defendant
    agency                TEXT NOT NULL,       -- its Chinese name when registered
    court                 TEXT NOT NULL,
    court_case_number     TEXT NOT NULL,
    plaintiff             TEXT NOT NULL,
    act_challenged        TEXT NOT NULL,
    complaint_received_on TEXT NOT NULL
                          CHECK (date(complaint_received_on) IS complaint_received_on),
    -- XSJS 129(1): major public interest, high public concern, liable to cause 群体性事件.
    major                 INTEGER NOT NULL DEFAULT 0 CHECK (major IN (0, 1)),
    -- XSJS 129(1): the court suggested in writing that the head appear.
    court_requested_head  INTEGER NOT NULL DEFAULT 0 CHECK (court_requested_head IN (0, 1)),
    status                TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    registered_by         INTEGER NOT NULL,
    closed_by             INTEGER,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL
) STRICT;
-- One record per defendant and court case: co-defendants (XS 26(2): the original agency and
-- the 复议机关) each register the same court case for themselves; a double press registers once.
CREATE UNIQUE INDEX lawsuits_one_per_defendant ON lawsuits(court_case_number, agency_id);
CREATE INDEX lawsuits_open ON lawsuits(status, agency_id);

ALTER TABLE litigation_defences ADD COLUMN lawsuit_id INTEGER REFERENCES lawsuits(id);
-- 1 = the due date was counted on Monday-Friday (no holiday data for that year, domain §1.2).
ALTER TABLE litigation_defences ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0
    CHECK (provisional IN (0, 1));
ALTER TABLE litigation_defences ADD COLUMN filed_on TEXT
    CHECK (filed_on IS NULL OR date(filed_on) IS filed_on);
ALTER TABLE litigation_defences ADD COLUMN filed_by INTEGER;
CREATE INDEX litigation_defences_lawsuit ON litigation_defences(lawsuit_id);

ALTER TABLE hearings ADD COLUMN lawsuit_id INTEGER REFERENCES lawsuits(id);
CREATE INDEX hearings_lawsuit ON hearings(lawsuit_id, status);

-- Who appeared for the defendant at a hearing that was held. attendance:
--   head        the head (负责人: principal, deputy or partially responsible head, XSJS 128)
--   staff       相应的工作人员 instead of the head (XS 3(3); XSJS 130); counts for 出庭率
--   lawyer_only only a lawyer: not permitted (XSJS 128 "不得仅委托律师出庭")
--   absent      nobody for the agency (XS 58 default judgment; XS 66(2))
CREATE TABLE hearing_appearances (
    hearing_id  INTEGER PRIMARY KEY REFERENCES hearings(id),
    attendance  TEXT NOT NULL CHECK (attendance IN ('head', 'staff', 'lawyer_only', 'absent')),
    appeared_by TEXT,          -- name and post of the person who appeared
    excuse      TEXT,          -- why the head did not appear (XSJS 129(3); CTGD 9)
    recorded_by INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;
