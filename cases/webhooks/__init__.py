"""Signed webhooks to county systems and the inbound requests they send back (issue 13)."""
