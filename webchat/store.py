"""What must survive a gateway restart, in its own SQLite file (never the bot's database).

Kept: unconfirmed updates (the bot gets them again after either side restarts), the messages
of every chat (edits and button presses refer to them; the page shows them after a reload),
each chat's event log (the browser's resume position), sessions, files and command menus.
Not kept: pending callback-query ids (Telegram also refuses to answer an old query) and rate
limit buckets (a restart forgives, which is harmless).

Plain ``sqlite3`` in autocommit with WAL: every statement is one small indexed write, far
below a millisecond, so running it on the event loop is cheaper than a thread hop.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS updates (update_id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chats (
    chat_id INTEGER PRIMARY KEY,
    session_hash TEXT NOT NULL UNIQUE,
    locale TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0,
    keyboard TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    chat_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    view TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_chat ON events (chat_id, seq);
CREATE TABLE IF NOT EXISTS inbox (
    chat_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (chat_id, client_id)
);
CREATE TABLE IF NOT EXISTS files (
    file_id TEXT PRIMARY KEY,
    file_unique_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    name TEXT,
    mime TEXT,
    disk_name TEXT NOT NULL,
    file_path TEXT
);
CREATE TABLE IF NOT EXISTS commands (
    scope TEXT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (scope, language)
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    # ---------------------------------------------------------------- counters

    def next_id(self, key: str, start: int) -> int:
        """A counter that never goes back, even when every row it numbered is deleted."""
        row = self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
            (key, start),
        ).fetchone()
        return int(row[0])

    # ---------------------------------------------------------------- updates

    def add_update(self, update: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO updates (update_id, body) VALUES (?, ?)",
            (update["update_id"], _dumps(update)),
        )

    def pending_updates(self, start: int, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT body FROM updates WHERE update_id >= ? ORDER BY update_id LIMIT ?",
            (start, limit),
        ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def confirm_updates(self, offset: int) -> None:
        if offset > 0:
            self.conn.execute("DELETE FROM updates WHERE update_id < ?", (offset,))
        elif offset < 0:
            self.conn.execute(
                "DELETE FROM updates WHERE update_id NOT IN"
                " (SELECT update_id FROM updates ORDER BY update_id DESC LIMIT ?)",
                (-offset,),
            )

    def drop_updates(self) -> None:
        self.conn.execute("DELETE FROM updates")

    def pending_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM updates").fetchone()[0])

    # ---------------------------------------------------------------- chats

    def add_chat(self, chat_id: int, session_hash: str, locale: str, now: int) -> None:
        self.conn.execute(
            "INSERT INTO chats (chat_id, session_hash, locale, created_at) VALUES (?, ?, ?, ?)",
            (chat_id, session_hash, locale, now),
        )

    def chat_by_session(self, session_hash: str) -> sqlite3.Row | None:
        return self.conn.execute(
            "SELECT * FROM chats WHERE session_hash = ?", (session_hash,)
        ).fetchone()

    def chat(self, chat_id: int) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()

    def set_locale(self, chat_id: int, locale: str) -> None:
        self.conn.execute("UPDATE chats SET locale = ? WHERE chat_id = ?", (locale, chat_id))

    def close_chat(self, chat_id: int) -> None:
        self.conn.execute("UPDATE chats SET closed = 1 WHERE chat_id = ?", (chat_id,))

    def set_keyboard(self, chat_id: int, keyboard: dict[str, Any] | None) -> None:
        self.conn.execute(
            "UPDATE chats SET keyboard = ? WHERE chat_id = ?",
            (None if keyboard is None else _dumps(keyboard), chat_id),
        )

    # ---------------------------------------------------------------- messages

    def put_message(self, chat_id: int, body: dict[str, Any], view: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO messages (chat_id, message_id, body, view) VALUES (?,?,?,?)",
            (chat_id, body["message_id"], _dumps(body), _dumps(view)),
        )

    def message(self, chat_id: int, message_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        row = self.conn.execute(
            "SELECT body, view FROM messages WHERE chat_id = ? AND message_id = ?",
            (chat_id, message_id),
        ).fetchone()
        if row is None:
            raise KeyError(message_id)
        return json.loads(row[0]), json.loads(row[1])

    def delete_message(self, chat_id: int, message_id: int) -> bool:
        cur = self.conn.execute(
            "DELETE FROM messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        )
        return cur.rowcount > 0

    def recent_views(self, chat_id: int, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT view FROM messages WHERE chat_id = ? ORDER BY message_id DESC LIMIT ?",
            (chat_id, limit),
        ).fetchall()
        return [json.loads(r[0]) for r in reversed(rows)]

    # ---------------------------------------------------------------- events

    def add_event(self, chat_id: int, event: dict[str, Any]) -> int:
        cur = self.conn.execute(
            "INSERT INTO events (chat_id, body) VALUES (?, ?)", (chat_id, _dumps(event))
        )
        return int(cur.lastrowid or 0)

    def events_after(self, chat_id: int, seq: int, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT seq, body FROM events WHERE chat_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (chat_id, seq, limit),
        ).fetchall()
        return [{**json.loads(r[1]), "seq": r[0]} for r in rows]

    def last_seq(self, chat_id: int) -> int:
        row = self.conn.execute(
            "SELECT max(seq) FROM events WHERE chat_id = ?", (chat_id,)
        ).fetchone()
        return int(row[0] or 0)

    # ---------------------------------------------------------------- inbox dedupe

    def seen_client_id(self, chat_id: int, client_id: str) -> int | None:
        row = self.conn.execute(
            "SELECT message_id FROM inbox WHERE chat_id = ? AND client_id = ?",
            (chat_id, client_id),
        ).fetchone()
        return None if row is None else int(row[0])

    def remember_client_id(self, chat_id: int, client_id: str, message_id: int) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO inbox (chat_id, client_id, message_id) VALUES (?, ?, ?)",
            (chat_id, client_id, message_id),
        )

    # ---------------------------------------------------------------- files

    def add_file(self, row: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO files (file_id, file_unique_id, size, name, mime, disk_name, file_path)"
            " VALUES (:file_id, :file_unique_id, :size, :name, :mime, :disk_name, :file_path)",
            row,
        )

    def file(self, file_id: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM files WHERE file_id = ?", (file_id,)).fetchone()

    def file_by_path(self, file_path: str) -> sqlite3.Row | None:
        return self.conn.execute(
            "SELECT * FROM files WHERE file_path = ?", (file_path,)
        ).fetchone()

    def set_file_path(self, file_id: str, file_path: str) -> None:
        self.conn.execute("UPDATE files SET file_path = ? WHERE file_id = ?", (file_path, file_id))

    # ---------------------------------------------------------------- commands

    def set_commands(self, scope: str, language: str, commands: list[Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO commands (scope, language, body) VALUES (?, ?, ?)",
            (scope, language, _dumps(commands)),
        )

    def commands(self, scope: str, language: str) -> list[Any] | None:
        row = self.conn.execute(
            "SELECT body FROM commands WHERE scope = ? AND language = ?", (scope, language)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def delete_commands(self, scope: str, language: str) -> None:
        self.conn.execute(
            "DELETE FROM commands WHERE scope = ? AND language = ?", (scope, language)
        )
