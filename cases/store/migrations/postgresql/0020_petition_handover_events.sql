-- PostgreSQL dialect of ../0020_petition_handover_events.sql: a petition's handover history
-- event is captured as a case.routed webhook event (see the SQLite file for why). As in 0019,
-- json_object(...) is json_build_object(...)::text. json_extract(detail, '$.k') is
-- `detail::json -> 'k'` where it becomes a member (the member keeps its JSON type, as SQLite's
-- does) and `->> 'k'` where it is joined to text ('agency:' || ...); a missing key is NULL in both.
CREATE FUNCTION webhook_petition_handover() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    handover json := NEW.detail::json;
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, detail, occurred_at)
    SELECT 'case.routed', 'case:' || c.id, c.id,
           json_build_object(
               'status', c.status,
               'unit', CASE NEW.kind
                   WHEN 'petition_assigned' THEN 'agency:' || (handover ->> 'agency_id')
                   WHEN 'petition_transferred' THEN NULL
                   ELSE c.routed_to END,
               'unit_name', CASE NEW.kind
                   WHEN 'petition_assigned' THEN handover -> 'agency_name'
                   WHEN 'petition_transferred' THEN handover -> 'body_name'
                   ELSE to_json(c.routed_to_name) END,
               'from_unit', CASE NEW.kind
                   WHEN 'petition_returned' THEN 'agency:' || (handover ->> 'agency_id')
                   ELSE c.routed_to END)::text,
           NEW.at
    FROM cases c WHERE c.id = NEW.case_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER webhook_petition_handover AFTER INSERT ON case_events
    FOR EACH ROW
    WHEN (NEW.kind IN ('petition_assigned', 'petition_transferred', 'petition_returned'))
    EXECUTE FUNCTION webhook_petition_handover();
