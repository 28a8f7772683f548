-- Petitions handed to an agency (0017, cases/petitions/handover.py) leave cases.routed_to as it
-- was: the case stays with the petition office, which oversees it, and the handover table says
-- where it went. The capture triggers of 0019 watch cases.routed_to only, so the county systems
-- never heard that a petition was assigned (交办) to an agency, transferred (转送) outside the
-- county, or came back to the office after an objection. The handover's history event (written
-- in the same unit of work) is captured as a case.routed event: unit 'agency:<id>' for an
-- assignment, none (the body's name only) for a transfer, the office again for a return.
CREATE TRIGGER webhook_petition_handover AFTER INSERT ON case_events
WHEN NEW.kind IN ('petition_assigned', 'petition_transferred', 'petition_returned')
BEGIN
    INSERT INTO webhook_events(type, subject, case_id, detail, occurred_at)
    SELECT 'case.routed', 'case:' || c.id, c.id,
           json_object(
               'status', c.status,
               'unit', CASE NEW.kind
                   WHEN 'petition_assigned'
                       THEN 'agency:' || json_extract(NEW.detail, '$.agency_id')
                   WHEN 'petition_transferred' THEN NULL
                   ELSE c.routed_to END,
               'unit_name', CASE NEW.kind
                   WHEN 'petition_assigned' THEN json_extract(NEW.detail, '$.agency_name')
                   WHEN 'petition_transferred' THEN json_extract(NEW.detail, '$.body_name')
                   ELSE c.routed_to_name END,
               'from_unit', CASE NEW.kind
                   WHEN 'petition_returned'
                       THEN 'agency:' || json_extract(NEW.detail, '$.agency_id')
                   ELSE c.routed_to END),
           NEW.at
    FROM cases c WHERE c.id = NEW.case_id;
END;
