"""The append-only case history (``case_events``): who did what, when.

Every module that changes a case writes its event here, inside its own unit of work, so the
history and the change commit together. The table refuses UPDATE and DELETE (migration 0001).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiosqlite


async def append_event(
    conn: aiosqlite.Connection,
    case_id: int,
    *,
    at: str,
    actor_id: int | None,
    actor_role: str,
    kind: str,
    detail: Mapping[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO case_events(case_id, at, actor_id, actor_role, kind, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (case_id, at, actor_id, actor_role, kind, json.dumps(detail, ensure_ascii=False)),
    )
