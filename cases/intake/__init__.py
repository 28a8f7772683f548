"""Intake: the three forms, the parsers for what citizens type, drafts and submission."""
