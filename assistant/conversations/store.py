"""The conversation and feedback store: every question with its answer and sources, and at
most one rating (with a comment) per answer, for trainers reviewing what staff asked.

`ConversationStore` is the interface the app and the CLI use; `SQLiteStore` implements it
with the standard library's sqlite3 in `<data_dir>/assistant.db` (WAL journal, one short
transaction per write, a busy timeout), so several Streamlit sessions and several server
processes can write at once without losing or tearing a record. `PgConversationStore`
(assistant/conversations/postgres.py) implements it in PostgreSQL when `database_url` is set.

A turn is a dict: id, session_id, created_at (ISO 8601 UTC), question, answer, refused,
citations, objectives, doc_ids, k, error, rating ('up' / 'down' / None), comment, rated_at,
and `answer_json` (the whole Answer, so a conversation can be shown again after a reload).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.files import file_lock
from assistant.types import Answer

logger = logging.getLogger(__name__)

DB_FILE = "assistant.db"
RATINGS = ("up", "down")
_COLUMNS = ("id", "session_id", "created_at", "question", "answer", "refused", "citations",
            "objectives", "doc_ids", "cited_docs", "k", "error", "rating", "comment",
            "rated_at", "answer_json")
_JSON = ("citations", "objectives", "doc_ids")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, created_at TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL DEFAULT '', refused INTEGER NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]', objectives TEXT NOT NULL DEFAULT '[]',
    doc_ids TEXT, cited_docs TEXT NOT NULL DEFAULT '', k INTEGER, error TEXT,
    rating TEXT CHECK (rating IN ('up', 'down')), comment TEXT NOT NULL DEFAULT '',
    rated_at TEXT, answer_json TEXT);
CREATE INDEX IF NOT EXISTS turns_session ON turns (session_id, created_at);
CREATE INDEX IF NOT EXISTS turns_created ON turns (created_at);
CREATE TABLE IF NOT EXISTS events (at TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def turns_where(since: str | None, until: str | None, rating: str | None,
                doc: tuple[str, str] | None) -> tuple[str, dict]:
    """The WHERE clause (named parameters) that picks turns by time, by rating ("up",
    "down", "rated", "unrated") and, when `doc` gives the store's own clause on :doc and
    its value, by a document they cite. Both stores filter with it."""
    clauses, params = [], {}
    if since:
        clauses.append("created_at >= :since")
        params["since"] = since
    if until:
        clauses.append("created_at < :until")
        params["until"] = until
    if rating in RATINGS:
        clauses.append("rating = :rating")
        params["rating"] = rating
    elif rating == "rated":
        clauses.append("rating IS NOT NULL")
    elif rating == "unrated":
        clauses.append("rating IS NULL")
    if doc:
        clauses.append(doc[0])
        params["doc"] = doc[1]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def new_id() -> str:
    return uuid.uuid4().hex


def make_turn(answer: Answer | None, *, question: str = "", session_id: str = "",
              turn_id: str | None = None, doc_ids: list[str] | None = None,
              k: int | None = None, error: str | None = None) -> dict:
    """Return the record of one question and its answer (or the error it gave)."""
    sources = [] if answer is None else (answer.closest if answer.refused else answer.citations)
    citations = [{"marker": c.marker, "doc_id": c.doc_id, "title": c.title,
                  "section": c.section, "paragraph": c.paragraph, "page": c.page,
                  "quote": c.quote, "score": c.score} for c in sources]
    return {
        "id": turn_id or new_id(), "session_id": session_id, "created_at": now(),
        "question": answer.question if answer is not None else question,
        "answer": answer.answer if answer is not None else "",
        "refused": bool(answer is not None and answer.refused),
        "citations": citations,
        "objectives": [] if answer is None else [
            {"id": o.id, "number": o.number, "title": o.title} for o in answer.objectives],
        "doc_ids": list(doc_ids) if doc_ids else None, "k": k, "error": error,
        "rating": None, "comment": "", "rated_at": None,
        "answer_json": answer.model_dump_json() if answer is not None else None,
    }


class ConversationStore(Protocol):
    """Where turns, ratings and comments are kept (SQLite, or PostgreSQL)."""

    def log_turn(self, turn: dict) -> None:
        """Store a turn (replacing one with the same id)."""

    def rate(self, turn_id: str, rating: str | None) -> None:
        """Set the rating of a turn; None clears it."""

    def comment(self, turn_id: str, text: str) -> None:
        """Set the comment on a turn ('' clears it)."""

    def history(self, session_id: str) -> list[dict]:
        """Return one session's turns, oldest first."""

    def end_conversation(self, session_id: str) -> None:
        """Detach a session's turns from it (kept for review, no longer shown to it)."""

    def log_event(self, action: str, detail: dict) -> None:
        """Record an administrative event (a document added to or removed from the corpus)."""

    def events(self) -> list[dict]:
        """Return the administrative events, newest first."""

    def turns(self, since: str | None = None, until: str | None = None,
              rating: str | None = None, doc_id: str | None = None) -> list[dict]:
        """Return turns, newest first; `rating` is 'up', 'down', 'rated' or 'unrated'."""


class SQLiteStore:
    """ConversationStore on one SQLite file, safe for concurrent writers."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # idle connections, reused (one thread at a time each): opening and closing one per
        # write would make SQLite checkpoint the journal on every close
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # one opener at a time, threads and processes alike: switching a new file to WAL
            # while another connection makes its tables fails at once with "database is
            # locked" (no busy wait), and a writer that started then lost its turns
            with file_lock(self.path.with_name(self.path.name + ".lock")), \
                    self._conn() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise AssistantError(f"The conversation store {self.path} could not be opened "
                                 f"({exc}).") from exc

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        """A connection from the pool; one that saw an error is closed, not returned."""
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = self._connect()
        try:
            yield db
        except BaseException:
            db.close()  # an open transaction is rolled back
            raise
        with self._lock:
            self._idle.append(db)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                             check_same_thread=False)
        db.execute("PRAGMA busy_timeout=30000")
        # in WAL mode NORMAL keeps every committed write through a crash of the process (the
        # OS holds it); only a power cut can lose the last ones, and it saves an fsync a turn
        db.execute("PRAGMA synchronous=NORMAL")
        db.row_factory = sqlite3.Row
        return db

    def _write(self, sql: str, params: tuple) -> int:
        try:
            with self._conn() as db:
                db.execute("BEGIN IMMEDIATE")
                n = db.execute(sql, params).rowcount
                db.execute("COMMIT")
                return n
        except sqlite3.Error as exc:
            raise AssistantError(f"The feedback could not be saved to {self.path} "
                                 f"({exc}).") from exc

    def log_turn(self, turn: dict) -> None:
        row = dict(turn)
        cited = {c["doc_id"] for c in row.get("citations") or []}
        row["cited_docs"] = "".join(f"|{d}|" for d in sorted(cited))
        for key in _JSON:
            row[key] = json.dumps(row.get(key), ensure_ascii=False)
        row["refused"] = int(bool(row.get("refused")))
        values = tuple(row.get(c) for c in _COLUMNS)
        self._write(f"INSERT OR REPLACE INTO turns ({', '.join(_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_COLUMNS))})", values)

    def rate(self, turn_id: str, rating: str | None) -> None:
        if rating is not None and rating not in RATINGS:
            raise AssistantError(f"Feedback rating {rating!r} is not one of: "
                                 f"{', '.join(RATINGS)}.")
        stamp = now() if rating else None
        if not self._write("UPDATE turns SET rating = ?, rated_at = ? WHERE id = ?",
                           (rating, stamp, turn_id)):
            raise AssistantError("That answer is no longer in the store; ask again to rate it.")

    def comment(self, turn_id: str, text: str) -> None:
        if not self._write("UPDATE turns SET comment = ? WHERE id = ?",
                           (text.strip()[:2000], turn_id)):
            raise AssistantError("That answer is no longer in the store; ask again to comment.")

    def _select(self, where: str, params: tuple | dict, order: str) -> list[dict]:
        try:
            with self._conn() as db:
                rows = db.execute(f"SELECT * FROM turns {where} ORDER BY {order}",
                                  params).fetchall()
        except sqlite3.Error as exc:
            raise AssistantError(f"The conversation store {self.path} cannot be read "
                                 f"({exc}).") from exc
        return [_decode(r) for r in rows]

    def history(self, session_id: str) -> list[dict]:
        return self._select("WHERE session_id = ?", (session_id,), "created_at, rowid")

    def end_conversation(self, session_id: str) -> None:
        self._write("UPDATE turns SET session_id = ? WHERE session_id = ?",
                    (f"{session_id}~{now()}", session_id))

    def log_event(self, action: str, detail: dict) -> None:
        self._write("INSERT INTO events (at, action, detail) VALUES (?, ?, ?)",
                    (now(), action, json.dumps(detail, ensure_ascii=False)))
        logger.info("%s: %s", action, detail)

    def events(self) -> list[dict]:
        try:
            with self._conn() as db:
                rows = db.execute("SELECT at, action, detail FROM events "
                                  "ORDER BY at DESC, rowid DESC").fetchall()
        except sqlite3.Error as exc:
            raise AssistantError(f"The conversation store {self.path} cannot be read "
                                 f"({exc}).") from exc
        return [{"at": r["at"], "action": r["action"], **json.loads(r["detail"])} for r in rows]

    def turns(self, since: str | None = None, until: str | None = None,
              rating: str | None = None, doc_id: str | None = None) -> list[dict]:
        doc = ("instr(cited_docs, :doc) > 0", f"|{doc_id}|") if doc_id else None
        where, params = turns_where(since, until, rating, doc)
        return self._select(where, params, "created_at DESC, rowid DESC")


def _decode(row: sqlite3.Row) -> dict:
    out = {k: row[k] for k in row.keys() if k != "cited_docs"}  # noqa: SIM118 (Row)
    for key in _JSON:
        try:
            out[key] = json.loads(out[key]) if out[key] else None
        except ValueError:
            out[key] = None
    out["citations"] = out["citations"] or []
    out["objectives"] = out["objectives"] or []
    out["refused"] = bool(out["refused"])
    return out


_stores: dict[Path, SQLiteStore] = {}
_pg_stores: dict[str, ConversationStore] = {}


def open_store(settings: Settings) -> ConversationStore:
    """Return the store for these settings (opened, and its schema made, once per process):
    PostgreSQL when `database_url` is set, shared by every server using that database;
    otherwise the SQLite file in the data folder."""
    if settings.database_url:
        store = _pg_stores.get(settings.database_url)
        if store is None:
            from assistant.conversations.postgres import PgConversationStore

            store = _pg_stores[settings.database_url] = PgConversationStore(
                settings.database_url)
        return store
    path = Path(settings.data_dir) / DB_FILE
    store = _stores.get(path)
    if store is None or not path.exists():
        store = _stores[path] = SQLiteStore(path)
    return store


# ------------------------------------------------------------- one-call helpers (CLI, tests)


def record_feedback(settings: Settings, rating: str, answer: Answer, *,
                    doc_ids: list[str] | None = None, k: int | None = None,
                    comment: str = "") -> dict:
    """Store `answer` as a new turn rated `rating` (with `comment`); return the record."""
    if rating not in RATINGS:
        raise AssistantError(f"Feedback rating {rating!r} is not one of: {', '.join(RATINGS)}.")
    turn = make_turn(answer, doc_ids=doc_ids, k=k)
    turn.update(rating=rating, rated_at=turn["created_at"], comment=comment)
    open_store(settings).log_turn(turn)
    return turn


def read_feedback(settings: Settings) -> list[dict]:
    """Return every rated turn, oldest first."""
    return list(reversed(open_store(settings).turns(rating="rated")))
