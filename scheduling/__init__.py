"""Time: reminder policy, planning, the durable outbox, the rate-limited sender and the clock.

Only :mod:`scheduling.sender` and :mod:`scheduling.runner` import aiogram / APScheduler; the
planner, outbox, policy and digest are plain asyncio + SQLite and are tested with a fake clock.
"""
