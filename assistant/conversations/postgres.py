"""The conversation and feedback store in PostgreSQL, selected by `Settings.database_url`,
so that several app and API servers share one record of what staff asked and how they
rated it (see `assistant.conversations.store.ConversationStore`; `SQLiteStore` is the
embedded twin).

Its tables (`assistant_turns`, `assistant_events`) are made by migration 3 in
`assistant.search.pgstore.MIGRATIONS`. Timestamps are kept as the same ISO 8601 UTC text the
SQLite store keeps, so both compare and order turns alike; a `seq` column breaks ties in
insertion order as SQLite's rowid does. Every write is one short transaction on the
process's shared engine (a connection pool), so concurrent writers never tear a record.
"""

from __future__ import annotations

import json
import logging

from assistant.conversations.store import RATINGS, now, turns_where
from assistant.errors import AssistantError, StoreUnavailableError
from assistant.search.pgstore import engine, migrate

logger = logging.getLogger(__name__)

_COLUMNS = ("id", "session_id", "created_at", "question", "answer", "refused", "citations",
            "objectives", "doc_ids", "cited_docs", "k", "error", "rating", "comment",
            "rated_at", "answer_json")
_JSON = ("citations", "objectives", "doc_ids")

_VALUES = ", ".join(f"CAST(:{c} AS jsonb)" if c in _JSON else f":{c}" for c in _COLUMNS)
_UPSERT = (f"INSERT INTO assistant_turns ({', '.join(_COLUMNS)}) VALUES ({_VALUES}) "
           "ON CONFLICT (id) DO UPDATE SET "
           + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "id"))


def _is_db_error(exc: Exception) -> bool:
    return any(c.__module__.split(".")[0] in {"sqlalchemy", "psycopg", "psycopg2"}
               for c in type(exc).__mro__)


class PgConversationStore:
    """ConversationStore in one PostgreSQL database, shared by every server using it."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            migrate(url)
        except Exception as exc:
            if _is_db_error(exc):
                raise StoreUnavailableError(f"The conversation store in the database could "
                                            f"not be opened ({_brief(exc)}).") from exc
            raise

    def _run(self, sql: str, params: dict, *, write: bool) -> list | int:
        """Run one statement in its own transaction; rows read, or rows changed."""
        from sqlalchemy import text

        try:
            with engine(self.url).begin() as conn:
                result = conn.execute(text(sql), params)
                return result.rowcount if write else [r._mapping for r in result]
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            what = "The feedback could not be saved to" if write else "Cannot read"
            raise StoreUnavailableError(f"{what} the conversation store in the database "
                                        f"({_brief(exc)}).") from exc

    def log_turn(self, turn: dict) -> None:
        row = {c: turn.get(c) for c in _COLUMNS}
        row["cited_docs"] = sorted({c["doc_id"] for c in turn.get("citations") or []})
        row["citations"] = turn.get("citations") or []
        row["objectives"] = turn.get("objectives") or []
        for key in _JSON:
            row[key] = None if row[key] is None else json.dumps(row[key], ensure_ascii=False)
        row["refused"] = bool(turn.get("refused"))
        row["comment"] = turn.get("comment") or ""
        row["answer"] = turn.get("answer") or ""
        self._run(_UPSERT, row, write=True)

    def rate(self, turn_id: str, rating: str | None) -> None:
        if rating is not None and rating not in RATINGS:
            raise AssistantError(f"Feedback rating {rating!r} is not one of: "
                                 f"{', '.join(RATINGS)}.")
        stamp = now() if rating else None
        if not self._run("UPDATE assistant_turns SET rating = :r, rated_at = :at "
                         "WHERE id = :id", {"r": rating, "at": stamp, "id": turn_id},
                         write=True):
            raise AssistantError("That answer is no longer in the store; ask again to rate it.")

    def comment(self, turn_id: str, text: str) -> None:
        if not self._run("UPDATE assistant_turns SET comment = :c WHERE id = :id",
                         {"c": text.strip()[:2000], "id": turn_id}, write=True):
            raise AssistantError("That answer is no longer in the store; ask again to comment.")

    def _select(self, where: str, params: dict, order: str) -> list[dict]:
        rows = self._run(f"SELECT {', '.join(_COLUMNS)} FROM assistant_turns {where} "
                         f"ORDER BY {order}", params, write=False)
        return [_decode(r) for r in rows]

    def history(self, session_id: str) -> list[dict]:
        return self._select("WHERE session_id = :s", {"s": session_id}, "created_at, seq")

    def end_conversation(self, session_id: str) -> None:
        self._run("UPDATE assistant_turns SET session_id = :new WHERE session_id = :s",
                  {"new": f"{session_id}~{now()}", "s": session_id}, write=True)

    def log_event(self, action: str, detail: dict) -> None:
        self._run("INSERT INTO assistant_events (at, action, detail) "
                  "VALUES (:at, :action, CAST(:detail AS jsonb))",
                  {"at": now(), "action": action,
                   "detail": json.dumps(detail, ensure_ascii=False)}, write=True)
        logger.info("%s: %s", action, detail)

    def events(self) -> list[dict]:
        rows = self._run("SELECT at, action, detail FROM assistant_events "
                         "ORDER BY at DESC, seq DESC", {}, write=False)
        return [{"at": r["at"], "action": r["action"], **r["detail"]} for r in rows]

    def turns(self, since: str | None = None, until: str | None = None,
              rating: str | None = None, doc_id: str | None = None) -> list[dict]:
        doc = ("cited_docs @> ARRAY[CAST(:doc AS text)]", doc_id) if doc_id else None
        where, params = turns_where(since, until, rating, doc)
        return self._select(where, params, "created_at DESC, seq DESC")


def _decode(row) -> dict:
    out = {c: row[c] for c in _COLUMNS if c != "cited_docs"}
    out["citations"] = out["citations"] or []
    out["objectives"] = out["objectives"] or []
    out["refused"] = bool(out["refused"])
    return out


def _brief(exc: Exception) -> str:
    """The first line of a driver's message, without SQLAlchemy's appended help link."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
