-- The unit a staff member works for: a mediation room (mediator), an agency (liaison, head) or
-- an office. Cases and reminders are scoped by it (cases/staff.py, scheduling/recipients.py).

ALTER TABLE users ADD COLUMN unit TEXT;
CREATE INDEX users_role_unit ON users(role, unit);
