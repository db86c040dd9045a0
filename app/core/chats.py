"""Chats that last: titles, scopes and turns with their sources, in SQLite in the data folder.

One connection, guarded by a lock, shared by the core's threads (WAL, foreign
keys on, so deleting a chat deletes its turns and their sources). Schema changes
are numbered migrations, applied in order, never edited once shipped (as in
ingest/manifest.py).

`history(id)` rebuilds the engine's Turns so a resumed chat's follow-up sees
what was said, with the same source numbers and the same text as the first
time (so llama.cpp's KV cache still matches within a process). A stopped answer
is kept and listed, but is left out of the history: half an answer fed back as
if complete would have the model continue from, or trust, a claim it never
finished; its question alone would leave a user message with no reply, which
chat templates do not expect. The next question simply follows the last
complete turn; its new sources may reuse the stopped turn's numbers.
"""
from __future__ import annotations

import builtins  # `list` is also a method of ChatStore
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

# The value types live in chat_types; importers may keep taking them from here.
from app.core.chat_types import DEFAULT_TITLE, Chat, ChatScope, ChatTurn, first_question_title  # noqa: F401
from app.errors import ChatNotFoundError, ChatsCorruptError, ChatsTooNewError, ChatStorageError

if TYPE_CHECKING:
    from app.engine.prompt import Turn

MIGRATIONS: list[str] = [
    # 1: chats, their turns, and each turn's sources (what the model was shown)
    """
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        auto_title INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        scope_folders TEXT NOT NULL DEFAULT '[]',
        scope_files TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX chats_updated ON chats(updated_at);
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        raw_answer TEXT NOT NULL DEFAULT '',
        stopped INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        UNIQUE (chat_id, position)
    );
    CREATE TABLE sources (
        turn_id INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        number INTEGER NOT NULL,
        chunk_id TEXT NOT NULL,
        path TEXT NOT NULL,
        page_start INTEGER,
        page_end INTEGER,
        spans TEXT NOT NULL DEFAULT '[]',
        body TEXT NOT NULL DEFAULT '',
        text TEXT NOT NULL DEFAULT '',
        heading TEXT NOT NULL DEFAULT '',
        score REAL NOT NULL DEFAULT 0,
        cited INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (turn_id, position)
    );
    """,
    # 2: what the answer checks flagged, shown under the answer (JSON list of lines)
    """
    ALTER TABLE turns ADD COLUMN notes TEXT NOT NULL DEFAULT '[]';
    """,
]


class ChatStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = self._open()

    # --- opening -------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                                 timeout=30)
        except sqlite3.Error as e:
            raise ChatStorageError(f"{self.path}: {e}") from e
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(MIGRATIONS):
                db.close()
                raise ChatsTooNewError(str(self.path), version, len(MIGRATIONS))
            _migrate(db, version)
        except sqlite3.OperationalError as e:  # locked, read-only, no space: not damage
            db.close()
            raise ChatStorageError(f"{self.path}: {e}") from e
        except sqlite3.DatabaseError as e:  # not a database, or damaged: keep it, start over
            db.close()
            aside = _keep_aside(self.path)
            raise ChatsCorruptError(str(self.path), str(aside), str(e)) from e
        return db

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The lock, a transaction for writes, and SQLite errors as a user-facing error."""
        with self._lock:
            try:
                if write:
                    self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                except BaseException:
                    if write:
                        self.db.execute("ROLLBACK")
                    raise
                if write:
                    self.db.execute("COMMIT")
            except sqlite3.Error as e:
                raise ChatStorageError(str(e)) from e

    # --- chats ---------------------------------------------------------------
    def create(self, title: str = DEFAULT_TITLE, scope: ChatScope | None = None) -> Chat:
        scope = scope or ChatScope()
        now = time.time()
        with self._tx(write=True) as db:
            cur = db.execute(
                "INSERT INTO chats (title, auto_title, created_at, updated_at, scope_folders, "
                "scope_files) VALUES (?, ?, ?, ?, ?, ?)",
                (title, int(title == DEFAULT_TITLE), now, now, json.dumps(list(scope.folders)),
                 json.dumps(list(scope.files))))
            return Chat(int(cur.lastrowid or 0), title, now, now, scope, [])

    def list(self) -> list[Chat]:
        """Every chat, most recently active first; turns not loaded."""
        with self._tx() as db:
            rows = db.execute("SELECT id, title, created_at, updated_at, scope_folders, scope_files "
                              "FROM chats ORDER BY updated_at DESC, id DESC").fetchall()
        return [_chat(r) for r in rows]

    def get(self, chat_id: int) -> Chat | None:
        with self._tx() as db:
            row = db.execute("SELECT id, title, created_at, updated_at, scope_folders, scope_files "
                             "FROM chats WHERE id = ?", (chat_id,)).fetchone()
            if row is None:
                return None
            chat = _chat(row)
            chat.turns = self._turns(db, chat_id)
        return chat

    def rename(self, chat_id: int, title: str) -> None:
        title = " ".join(title.split()) or DEFAULT_TITLE
        self._update(chat_id, "title = ?, auto_title = 0", (title,))

    def set_scope(self, chat_id: int, scope: ChatScope) -> None:
        self._update(chat_id, "scope_folders = ?, scope_files = ?",
                     (json.dumps(list(scope.folders)), json.dumps(list(scope.files))))

    def delete(self, chat_id: int) -> None:
        with self._tx(write=True) as db:
            db.execute("DELETE FROM chats WHERE id = ?", (chat_id,))  # turns, sources cascade

    def _update(self, chat_id: int, assignments: str, values: tuple[Any, ...]) -> None:
        with self._tx(write=True) as db:
            cur = db.execute(f"UPDATE chats SET {assignments}, updated_at = ? WHERE id = ?",
                             (*values, time.time(), chat_id))
            if cur.rowcount == 0:
                raise ChatNotFoundError(chat_id)

    # --- turns ---------------------------------------------------------------
    def add_turn(self, chat_id: int, turn: ChatTurn) -> None:
        with self._tx(write=True) as db:
            last = db.execute("SELECT MAX(position) FROM turns WHERE chat_id = ?",
                              (chat_id,)).fetchone()[0]
            self._insert_turn(db, chat_id, 0 if last is None else last + 1, turn)

    def replace_last_turn(self, chat_id: int, turn: ChatTurn) -> None:
        """Regenerate: the last turn gives way to `turn` (added if the chat has none)."""
        with self._tx(write=True) as db:
            last = db.execute("SELECT id, position FROM turns WHERE chat_id = ? "
                              "ORDER BY position DESC LIMIT 1", (chat_id,)).fetchone()
            if last is not None:
                db.execute("DELETE FROM turns WHERE id = ?", (last[0],))
            self._insert_turn(db, chat_id, 0 if last is None else last[1], turn)

    def history(self, chat_id: int, without_last: bool = False) -> builtins.list[Turn]:
        """The engine Turns to feed the next question (stopped answers left out, see the
        module doc). `without_last`: the history a regenerate of the last turn needs."""
        from app.engine.prompt import NumberedSource, Turn

        with self._tx() as db:
            turns = self._turns(db, chat_id)
        if without_last:
            turns = turns[:-1]
        out: list[Turn] = []
        shown: set[int] = set()  # numbers the model has seen in the turns fed back so far
        for t in turns:
            if t.stopped:
                continue
            turn = Turn(t.question, t.raw_answer or t.answer)
            for s in t.sources:
                if s.number in shown:
                    turn.reused.append(s.number)
                else:
                    turn.sources.append(NumberedSource(s.number, s.passage))
                    shown.add(s.number)
            out.append(turn)
        return out

    def _insert_turn(self, db: sqlite3.Connection, chat_id: int, position: int,
                     turn: ChatTurn) -> None:
        chat = db.execute("SELECT auto_title FROM chats WHERE id = ?", (chat_id,)).fetchone()
        if chat is None:
            raise ChatNotFoundError(chat_id)
        cur = db.execute(
            "INSERT INTO turns (chat_id, position, question, answer, raw_answer, stopped, "
            "created_at, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (chat_id, position, turn.question, turn.answer, turn.raw_answer, int(turn.stopped),
             turn.created_at, json.dumps(list(turn.notes))))
        db.executemany(
            "INSERT INTO sources (turn_id, position, number, chunk_id, path, page_start, "
            "page_end, spans, body, text, heading, score, cited) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(cur.lastrowid, i, s.number, p.chunk_id, p.path, p.page_start, p.page_end,
              json.dumps([[sp.page, sp.start, sp.end] for sp in p.spans]), p.body, p.text,
              p.heading, float(p.score), int(bool(s.cited)))
             for i, s in enumerate(turn.sources) for p in [s.passage]])
        title = first_question_title(turn.question) if chat[0] and position == 0 else None
        if title:
            db.execute("UPDATE chats SET title = ?, auto_title = 0, updated_at = ? WHERE id = ?",
                       (title, time.time(), chat_id))
        else:
            db.execute("UPDATE chats SET updated_at = ? WHERE id = ?", (time.time(), chat_id))

    def _turns(self, db: sqlite3.Connection, chat_id: int) -> builtins.list[ChatTurn]:
        from app.engine.prompt import NumberedSource
        from ingest.document import PageSpan
        from ingest.passage import Passage

        rows = db.execute("SELECT id, question, answer, raw_answer, stopped, created_at, notes FROM turns "
                          "WHERE chat_id = ? ORDER BY position", (chat_id,)).fetchall()
        sources: dict[int, list[NumberedSource]] = {r[0]: [] for r in rows}
        for s in db.execute(
                "SELECT s.turn_id, s.number, s.path, s.page_start, s.page_end, s.spans, s.body, "
                "s.score, s.chunk_id, s.cited, s.text, s.heading FROM sources s "
                "JOIN turns t ON t.id = s.turn_id WHERE t.chat_id = ? "
                "ORDER BY s.turn_id, s.position", (chat_id,)):
            spans = tuple(PageSpan(int(p), int(a), int(b)) for p, a, b in json.loads(s[5]))
            number, path, start, end, body, score, cid, cited, text, heading = s[1:5] + s[6:]
            passage = Passage(cid, path, start, end, text or body, score, heading, spans, body)
            sources[s[0]].append(NumberedSource(number, passage, bool(cited)))
        return [ChatTurn(r[1], r[2], sources[r[0]], bool(r[4]), r[5], r[3], json.loads(r[6])) for r in rows]


def _chat(row: tuple[Any, ...]) -> Chat:
    scope = ChatScope(tuple(json.loads(row[4])), tuple(json.loads(row[5])))
    return Chat(row[0], row[1], row[2], row[3], scope, [])


def _migrate(db: sqlite3.Connection, version: int) -> None:
    for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for stmt in (s.strip() for s in sql.split(";")):
                if stmt:
                    db.execute(stmt)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


def _keep_aside(path: Path) -> Path:
    """Move a damaged database (and its WAL files) aside; never delete what we cannot read."""
    from app.settings import aside_name

    aside = aside_name(path)
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            os.replace(src, Path(str(aside) + suffix))
    return aside
