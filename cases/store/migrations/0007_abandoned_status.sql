-- A reconsideration application whose 补正 material did not arrive in time is "视为放弃"
-- (FY 31(2)), not withdrawn by the applicant: it gets its own status. Cases already closed
-- that way (they carry a 'deemed_withdrawn' event) are moved to it.

UPDATE cases SET status = 'abandoned'
WHERE status = 'withdrawn'
  AND EXISTS (
      SELECT 1 FROM case_events e WHERE e.case_id = cases.id AND e.kind = 'deemed_withdrawn'
  );
