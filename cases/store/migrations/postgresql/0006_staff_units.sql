-- PostgreSQL dialect of ../0006_staff_units.sql.

ALTER TABLE users ADD COLUMN unit TEXT;
CREATE INDEX users_role_unit ON users(role, unit);
