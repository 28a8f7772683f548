-- Replicas share one outbox (README, "Running at scale"). A process first leases the due rows
-- it will send next (leased_by, until lease_until), so replicas do not queue the same rows and
-- spend the shared send budget on claims they then lose. The claim itself is unchanged: a row
-- goes pending -> sending once, whoever leased it. A replica that dies leaves its leases to
-- expire; the rows are still pending and another replica takes them.
ALTER TABLE reminders ADD COLUMN leased_by TEXT;
ALTER TABLE reminders ADD COLUMN lease_until TEXT;
