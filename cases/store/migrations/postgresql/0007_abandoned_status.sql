-- PostgreSQL dialect of ../0007_abandoned_status.sql (the same statement).

UPDATE cases SET status = 'abandoned'
WHERE status = 'withdrawn'
  AND EXISTS (
      SELECT 1 FROM case_events e WHERE e.case_id = cases.id AND e.kind = 'deemed_withdrawn'
  );
