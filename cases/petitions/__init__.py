"""Petitions handed to the agencies that must answer them (XF 22-23, 34-35)."""
