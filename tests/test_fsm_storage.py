"""The SQLite FSM storage passes the checks aiogram runs on its own storages, and survives a
restart (a new storage object on the same file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from cases.store.db import Database
from cases.store.fsm_records import FsmRecords
from cases.store.migrate import migrate
from cases.store.sqlite import SqliteDatabase
from cases.store.time import FakeClock
from handlers.storage import SqliteStorage


class Form(StatesGroup):
    name = State()


@pytest.fixture
def storage(db: Database, clock: FakeClock) -> SqliteStorage:
    return SqliteStorage(FsmRecords(db, clock))


@pytest.fixture
def storage_key() -> StorageKey:
    return StorageKey(bot_id=42, chat_id=-1, user_id=2)


async def test_set_state(storage: SqliteStorage, storage_key: StorageKey) -> None:
    assert await storage.get_state(key=storage_key) is None
    await storage.set_state(key=storage_key, state="state")
    assert await storage.get_state(key=storage_key) == "state"
    await storage.set_state(key=storage_key, state=None)
    assert await storage.get_state(key=storage_key) is None


async def test_set_state_accepts_state_objects(
    storage: SqliteStorage, storage_key: StorageKey
) -> None:
    await storage.set_state(key=storage_key, state=Form.name)
    assert await storage.get_state(key=storage_key) == "Form:name"


async def test_set_data(storage: SqliteStorage, storage_key: StorageKey) -> None:
    assert await storage.get_data(key=storage_key) == {}
    await storage.set_data(key=storage_key, data={"foo": "bar"})
    assert await storage.get_data(key=storage_key) == {"foo": "bar"}
    await storage.set_data(key=storage_key, data={})
    assert await storage.get_data(key=storage_key) == {}


async def test_update_data(storage: SqliteStorage, storage_key: StorageKey) -> None:
    assert await storage.get_data(key=storage_key) == {}
    assert await storage.update_data(key=storage_key, data={"foo": "bar"}) == {"foo": "bar"}
    assert await storage.update_data(key=storage_key, data={}) == {"foo": "bar"}
    assert await storage.get_data(key=storage_key) == {"foo": "bar"}
    assert await storage.update_data(key=storage_key, data={"baz": "spam"}) == {
        "foo": "bar",
        "baz": "spam",
    }
    assert await storage.update_data(key=storage_key, data={"baz": "test"}) == {
        "foo": "bar",
        "baz": "test",
    }


async def test_returned_data_cannot_change_the_stored_data(
    storage: SqliteStorage, storage_key: StorageKey
) -> None:
    await storage.set_data(key=storage_key, data={"a": 1})
    data = await storage.get_data(key=storage_key)
    data["a"] = 2
    assert await storage.get_data(key=storage_key) == {"a": 1}


async def test_keys_differ_by_destiny_thread_and_business_connection(
    storage: SqliteStorage,
) -> None:
    base = StorageKey(bot_id=42, chat_id=1, user_id=1)
    others = [
        StorageKey(bot_id=42, chat_id=1, user_id=1, destiny="aiogd:stack:x"),
        StorageKey(bot_id=42, chat_id=1, user_id=1, thread_id=7),
        StorageKey(bot_id=42, chat_id=1, user_id=1, business_connection_id="bc"),
    ]
    await storage.set_state(base, "base")
    for index, key in enumerate(others):
        await storage.set_state(key, f"other{index}")
    assert await storage.get_state(base) == "base"
    assert [await storage.get_state(k) for k in others] == ["other0", "other1", "other2"]


async def test_state_and_data_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "restart.sqlite3"
    key = StorageKey(bot_id=42, chat_id=5, user_id=5)
    async with SqliteDatabase(path) as first:
        await migrate(first, clock=clock)
        storage = SqliteStorage(FsmRecords(first, clock))
        await storage.set_state(key, "Form:name")
        await storage.set_data(key, {"draft_id": 17, "note": "中文"})
    async with SqliteDatabase(path) as second:
        storage = SqliteStorage(FsmRecords(second, clock))
        assert await storage.get_state(key) == "Form:name"
        assert await storage.get_data(key) == {"draft_id": 17, "note": "中文"}


async def test_clearing_removes_the_row(
    storage: SqliteStorage, storage_key: StorageKey, db: Database
) -> None:
    await storage.set_state(storage_key, "x")
    await storage.set_data(storage_key, {"k": 1})
    await storage.set_state(storage_key, None)
    await storage.set_data(storage_key, {})
    assert await db.fetch_value("SELECT count(*) FROM fsm_states") == 0


async def test_a_nested_value_changed_in_place_is_saved_for_the_restart(
    db: Database, clock: FakeClock, storage: SqliteStorage, storage_key: StorageKey
) -> None:
    """Regression: triage changed ``data["triage"]`` in place and saved it; the shallow cache
    already held the change, so nothing was written and the answer was gone after a restart."""
    await storage.set_data(storage_key, {"triage": {}})
    data = await storage.get_data(storage_key)
    data["triage"]["in_court"] = True
    await storage.set_data(storage_key, data)
    restarted = SqliteStorage(FsmRecords(db, clock))
    assert await restarted.get_data(storage_key) == {"triage": {"in_court": True}}
