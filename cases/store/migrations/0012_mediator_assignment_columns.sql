-- Mediation rooms get leads and cases get their mediator (issue #10).
-- users.leads_room: a mediator who leads their room (调解室负责人) sees the room's unassigned and
-- declined cases, assigns by hand and approves the one extension of the mediation period.
-- A flag, not a role: the users.role CHECK stays as it is (no table rebuild).
-- cases.mediator_id: the mediator who accepted the case (NULL while nobody has); the offers
-- that led there are kept in their own table.
ALTER TABLE users ADD COLUMN leads_room INTEGER NOT NULL DEFAULT 0 CHECK (leads_room IN (0, 1));
ALTER TABLE cases ADD COLUMN mediator_id INTEGER REFERENCES users(telegram_id);
CREATE INDEX cases_mediator ON cases(mediator_id) WHERE mediator_id IS NOT NULL;
