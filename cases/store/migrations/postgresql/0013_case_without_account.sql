-- PostgreSQL dialect of ../0013_case_without_account.sql: a petition's case may lack an account
-- (citizen_id NULL). SQLite rebuilt `cases` to relax NOT NULL; PostgreSQL drops it in place and
-- adds the CHECK that only a petition may lack one (rows, ids, indexes, references untouched).

ALTER TABLE cases
    ALTER COLUMN citizen_id DROP NOT NULL,
    ADD CONSTRAINT cases_citizen_or_petition CHECK (citizen_id IS NOT NULL OR procedure = 'petition');

-- The worker's pending messages about those petitions are withdrawn. updated_at in SQLite's
-- text: strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000+00:00', i.e. UTC to the second.
UPDATE reminders
   SET status = 'cancelled',
       updated_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '.000000+00:00'
 WHERE status = 'pending' AND audience = 'citizen'
   AND case_id IN (SELECT case_id FROM bookings
                    WHERE case_id IS NOT NULL AND citizen_id IS NULL AND booked_by IS NOT NULL);

UPDATE cases SET citizen_id = NULL
 WHERE id IN (SELECT case_id FROM bookings
               WHERE case_id IS NOT NULL AND citizen_id IS NULL AND booked_by IS NOT NULL);

-- json_set(answers, '$.petition_kind', 'complaint'): the members are rebuilt in their order
-- (jsonb would sort the keys), petition_kind's value replaced. The text is spaced differently
-- from SQLite's compact output; it parses to the same object.
UPDATE cases
   SET answers = (
       SELECT json_object_agg(
                  e.key,
                  CASE WHEN e.key = 'petition_kind' THEN to_json('complaint'::text)
                       ELSE e.value END
                  ORDER BY e.n)::text
         FROM json_each(cases.answers::json) WITH ORDINALITY AS e(key, value, n))
 WHERE procedure = 'petition'
   AND answers::json ->> 'channel' = 'reception_day'
   AND answers::json ->> 'petition_kind' = 'request';
