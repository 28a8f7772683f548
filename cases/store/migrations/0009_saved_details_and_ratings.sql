-- Issue 11. Independent of 0008 (case status CHECKs): two new tables, nothing else touched.
--
-- saved_details: a citizen's name, ID, phone and address kept for their next filing, only with
-- their consent (consent = 1); a refusal is remembered without any personal data, so the
-- question is asked once. /forgetme deletes the row. Filed cases keep their own copy in
-- parties (official records). Staff pages never read this table.
CREATE TABLE saved_details (
    user_id    INTEGER PRIMARY KEY REFERENCES users(telegram_id),
    consent    INTEGER NOT NULL CHECK (consent IN (0, 1)),
    name       TEXT,
    id_type    TEXT,
    id_number  TEXT,
    phone      TEXT,
    address    TEXT,
    updated_at TEXT NOT NULL,
    CHECK (consent = 1 OR (name IS NULL AND id_type IS NULL AND id_number IS NULL
                           AND phone IS NULL AND address IS NULL))
) STRICT;

-- case_ratings: the citizen's rating of a closed case (1-5, an optional comment), asked once.
-- For statistics only: staff pages never show who rated what.
CREATE TABLE case_ratings (
    case_id  INTEGER PRIMARY KEY REFERENCES cases(id),
    asked_at TEXT NOT NULL,
    score    INTEGER CHECK (score IS NULL OR score BETWEEN 1 AND 5),
    comment  TEXT,
    rated_at TEXT
) STRICT;
