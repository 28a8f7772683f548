"""Fakes for Telegram and time, shared by tests and benchmarks."""
