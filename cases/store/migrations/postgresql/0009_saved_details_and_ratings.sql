-- PostgreSQL dialect of ../0009_saved_details_and_ratings.sql.

CREATE TABLE saved_details (
    user_id    BIGINT PRIMARY KEY REFERENCES users(telegram_id),
    consent    BIGINT NOT NULL CHECK (consent IN (0, 1)),
    name       TEXT,
    id_type    TEXT,
    id_number  TEXT,
    phone      TEXT,
    address    TEXT,
    updated_at TEXT NOT NULL,
    CHECK (consent = 1 OR (name IS NULL AND id_type IS NULL AND id_number IS NULL
                           AND phone IS NULL AND address IS NULL))
);

CREATE TABLE case_ratings (
    case_id  BIGINT PRIMARY KEY REFERENCES cases(id),
    asked_at TEXT NOT NULL,
    score    BIGINT CHECK (score IS NULL OR score BETWEEN 1 AND 5),
    comment  TEXT,
    rated_at TEXT
);
