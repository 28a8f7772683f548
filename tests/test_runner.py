"""The clock around the outbox: job set-up, catch-up after downtime, digest, backup, purge."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from cases.store.db import Database
from cases.store.time import FakeClock, to_db
from scheduling.policy import Kind
from scheduling.runner import Scheduling, SchedulingConfig
from tests.scheduling_helpers import (
    ADMIN,
    FakeTransport,
    add_case,
    add_deadline,
    add_hearing,
    add_reminder,
    add_user,
    local,
    reminder,
    reminders,
)
from tests.support import ENGINE

CITIZEN = 1001


def scheduling(
    db: Database, clock: FakeClock, tmp_path: Path, transport: FakeTransport, **kw: object
) -> Scheduling:
    config = SchedulingConfig(
        admin_ids=(ADMIN,),
        tick_seconds=30,
        backup_dir=tmp_path / "backups",
        **kw,  # type: ignore[arg-type]
    )
    return Scheduling(db=db, clock=clock, engine=ENGINE, config=config, transport=transport)


async def test_scheduler_is_only_a_clock_with_safe_job_defaults(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    s = scheduling(db, clock, tmp_path, FakeTransport())
    scheduler = s.scheduler
    assert isinstance(scheduler._jobstores["default"], MemoryJobStore)
    assert list(scheduler._jobstores) == ["default"]
    assert scheduler._job_defaults == {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": None,  # a late run still runs (APScheduler's default is 1 s)
    }
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"tick", "digest", "backup", "purge"}
    assert isinstance(jobs["tick"].trigger, IntervalTrigger)
    assert jobs["tick"].trigger.interval == timedelta(seconds=30)
    digest = jobs["digest"].trigger
    assert isinstance(digest, CronTrigger)
    assert str(digest.timezone) == "Asia/Shanghai"
    assert "hour='8'" in str(digest) and "minute='0'" in str(digest)


async def test_catch_up_after_downtime_sends_each_due_reminder_once(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F10", date(2026, 12, 9))
    hearing_start = local(2026, 12, 3, 9, 0)
    await add_hearing(db, hearing_start)
    transport = FakeTransport()
    s = scheduling(db, clock, tmp_path, transport)
    await s.tick()  # plans; nothing due on 25 November
    assert transport.delivered == []
    crashed = await add_reminder(
        db, chat_id=4242, due_at=clock.now(), status="sending", case_id=case_id
    )

    # Down from 25 November to 3 December 10:00, after the hearing began.
    clock.set(local(2026, 12, 3, 10, 0))
    await s.outbox.recover_interrupted()
    await s.catch_up()
    sent = await reminders(db, "status = 'sent' AND kind = 'reminder'")
    assert [(r["rule_id"], r["step"]) for r in sent] == [("F10", "-5wd")]
    # The hearing has started: its reminders are no use any more and are not sent late.
    hearing_rows = await reminders(db, "rule_id = 'L7'")
    assert len(hearing_rows) == 4 and {r["status"] for r in hearing_rows} == {"expired"}
    assert (await reminder(db, crashed))["status"] == "unknown"
    # A day without backup: one is taken at once (SQLite; PostgreSQL's is pg_dump's, not ours).
    assert bool(s.backups()) is db.has_online_backup

    await s.catch_up()
    await s.tick()
    assert len(await reminders(db, "status = 'sent' AND kind = 'reminder'")) == 1


async def test_morning_digest_lists_due_today_and_overdue_once_a_day(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await add_user(db, CITIZEN)
    await add_user(db, ADMIN, role="admin", locale="en")
    mediator = await add_user(db, 5001, role="mediator")
    today_case = await add_case(db, CITIZEN, number="谷复〔2026〕1号")
    late_case = await add_case(db, CITIZEN, number="谷复〔2026〕2号")
    future_case = await add_case(db, CITIZEN, number="谷复〔2026〕3号")
    await add_deadline(db, today_case, "F5", date(2026, 11, 25))
    await add_deadline(db, late_case, "F12", date(2026, 11, 20))
    await add_deadline(db, future_case, "F12", date(2026, 12, 20))
    await add_reminder(db, chat_id=4242, due_at=clock.now(), status="unknown")
    transport = FakeTransport()
    s = scheduling(db, clock, tmp_path, transport)

    assert await s.digest() == 1  # the mediator has nothing in scope today
    digests = [r for r in transport.delivered if r.kind is Kind.DIGEST]
    assert [r.chat_id for r in digests] == [ADMIN]
    # The same morning job also warns that 2027's holiday calendar is missing (domain §1.2).
    notices = [r for r in transport.delivered if r.kind is Kind.NOTICE]
    assert [r.payload.get("problem") for r in notices] == ["calendar_missing"]
    text = digests[0].payload["text"]
    assert "Due today (1)" in text and "谷复〔2026〕1号" in text
    assert "Overdue (1)" in text and "谷复〔2026〕2号" in text
    assert "谷复〔2026〕3号" not in text
    assert "need a phone call (1)" in text
    assert mediator not in transport.chats() and CITIZEN not in transport.chats()

    assert await s.digest() == 0  # the 08:00 job and a restart's catch-up never both send


@pytest.mark.sqlite_only  # the SQLite backup API; PostgreSQL is backed up with pg_dump
async def test_backup_is_a_valid_copy_and_only_the_newest_are_kept(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await add_user(db, CITIZEN)
    s = scheduling(db, clock, tmp_path, FakeTransport(), backup_keep=2)
    for _ in range(3):
        last = await s.backup()
        clock.advance(timedelta(days=1))
    kept = s.backups()
    assert [p.name for p in kept] == sorted(p.name for p in kept) and len(kept) == 2
    assert kept[-1] == last
    with sqlite3.connect(last) as copy:
        assert copy.execute("SELECT count(*) FROM users").fetchone() == (1,)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_purge_forgets_processed_updates_after_48_hours(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    for update_id, age in ((1, 49), (2, 47)):
        await db.execute(
            "INSERT INTO processed_updates(update_id, processed_at) VALUES (?, ?)",
            (update_id, to_db(clock.now() - timedelta(hours=age))),
        )
    s = scheduling(db, clock, tmp_path, FakeTransport())
    hooks = len(db._begin_hooks)
    assert await s.purge() == 1
    assert await db.fetch_value("SELECT group_concat(update_id) FROM processed_updates") == "2"
    await s.purge()
    # Regression: each daily purge added a hook that ran in every later unit of work.
    assert len(db._begin_hooks) == hooks


async def test_start_recovers_then_catches_up_in_the_background_and_stop_is_clean(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    await add_deadline(db, case_id, "F5", date(2026, 11, 25))  # today, 08:30 has passed
    crashed = await add_reminder(
        db, chat_id=3002, due_at=clock.now() - timedelta(minutes=5), status="sending"
    )
    transport = FakeTransport()
    s = scheduling(db, clock, tmp_path, transport)
    await s.start()
    assert (await reminder(db, crashed))["status"] == "unknown"  # before anything is sent
    for _ in range(300):  # the catch-up job runs on the event loop, not on a timer we await
        if any(r.rule_id == "F5" for r in transport.delivered):
            break
        await asyncio.sleep(0.01)
    await s.stop()
    assert not s.scheduler.running
    assert [(r.chat_id, r.step) for r in transport.delivered if r.rule_id == "F5"] == [
        (ADMIN, "0wd")
    ]


async def test_a_replica_starting_marked_another_replicas_send_in_flight_unknown(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    """Replicas share the outbox (README, "Running at scale"). A replica starting (a rolling
    deploy) took every row in ``sending`` for a crashed send of its own: another replica's
    message in flight was marked unknown and the staff were told it may not have arrived.
    With replicas, only a claim older than any send is a crashed one; and since a replica that
    died may never restart, the others recover its claims at their ticks."""
    await add_user(db, CITIZEN)
    case_id = await add_case(db, CITIZEN)
    in_flight = await add_reminder(
        db, chat_id=4242, due_at=clock.now(), status="sending", case_id=case_id
    )
    await db.execute(
        "UPDATE reminders SET claimed_at = ? WHERE id = ?", (to_db(clock.now()), in_flight)
    )
    s = scheduling(db, clock, tmp_path, FakeTransport(), replicas=True)
    assert await s.recover_interrupted() == 0
    await s.tick()
    assert (await reminder(db, in_flight))["status"] == "sending"
    clock.advance(timedelta(minutes=6))  # the replica that claimed it died
    await s.tick()
    assert (await reminder(db, in_flight))["status"] == "unknown"
    # A lone process recovers every claim at its start, as before.
    lone = await add_reminder(db, chat_id=4243, due_at=clock.now(), status="sending")
    await db.execute(
        "UPDATE reminders SET claimed_at = ? WHERE id = ?", (to_db(clock.now()), lone)
    )
    assert await scheduling(db, clock, tmp_path, FakeTransport()).recover_interrupted() == 1
