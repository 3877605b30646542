"""The HTTP API (`assistant serve`): the same answers as the command line, as JSON.

    POST /ask          {"question", "k", "docs", "history"} -> the answer JSON of DESIGN.md
    GET  /provisions   ?q=...&k=&doc=  -> the provisions (objectives) a query falls under
    GET  /documents    the indexed documents;  GET /documents/{doc_id}: one of them
    GET  /healthz      the process is up;      GET /readyz: the store is loaded and reachable

This module and the CLI are the only places where errors become status codes: 400 bad
input, 404 unknown document, 413 body too large, 429 too many requests, 503 while the
store is unavailable. Every request is logged as one JSON line on the `assistant.access`
logger. OpenAPI docs are served at /docs (schema at /openapi.json).
"""

from __future__ import annotations

import inspect
import json
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.errors import (
    AssistantError,
    IndexMismatchError,
    IndexMissingError,
    StoreUnavailableError,
    UnknownDocumentError,
)
from assistant.types import Answer

logger = logging.getLogger(__name__)
access_log = logging.getLogger("assistant.access")

# how often (seconds) a request checks whether ingest has switched in a new index version
_VERSION_CHECK_EVERY = 1.0
# how often a failed load of the store is retried while requests keep coming
_RETRY_LOAD_EVERY = 2.0


class Turn(BaseModel):
    question: str
    answer: str = ""


class AskRequest(BaseModel):
    question: str = Field(..., description="the question, in plain English")
    k: int | None = Field(None, description="passages the answer draws on (default 5)")
    docs: list[str] | None = Field(None, description="only search these document ids")
    history: list[Turn] | None = Field(None, description="earlier turns of the conversation")


class AssistantHolder:
    """Holds the loaded Assistant of the index version in use; reloads it when an ingest
    switches in a new version (checked at most once a second), and reports the store as
    unavailable (StoreUnavailableError) while it cannot be loaded or reached."""

    def __init__(self, settings: Settings, embedder=None) -> None:
        self.settings = settings
        self.embedder = embedder
        self._assistant = None
        self._version: str | None = None
        self._checked = 0.0
        self._failed_at = 0.0
        self._error: str = ""
        self._lock = threading.Lock()

    def get(self):
        """Return the Assistant for the current version, loading it if needed."""
        now = time.monotonic()
        if self._assistant is not None and now - self._checked < _VERSION_CHECK_EVERY:
            return self._assistant
        with self._lock:
            try:
                version = self._current_version()
            except Exception as exc:  # store unreachable: keep serving nothing stale
                raise StoreUnavailableError(f"The store is unavailable: {exc}") from exc
            if self._assistant is not None and version == self._version:
                self._checked = time.monotonic()
                return self._assistant
            if self._assistant is None and self._error and now - self._failed_at < (
                    _RETRY_LOAD_EVERY):
                raise StoreUnavailableError(self._error)
            try:
                self._assistant = self._load()
                self._version, self._error = version, ""
            except (IndexMissingError, IndexMismatchError, StoreUnavailableError) as exc:
                self._failed_at, self._error = time.monotonic(), str(exc)
                if self._assistant is None:
                    raise StoreUnavailableError(str(exc)) from exc
                logger.warning("new index version not loaded, serving the previous: %s", exc)
            self._checked = time.monotonic()
            return self._assistant

    @property
    def version(self) -> str | None:
        return self._version

    def _current_version(self) -> str | None:
        from assistant.search.backends import current_version

        return current_version(self.settings)

    def _load(self):
        from assistant.pipeline import Assistant
        from assistant.search.backends import load_data

        embedder = self.embedder
        if embedder is None:
            from assistant.search.embed import get_embedder

            embedder = get_embedder(self.settings.resolved_model_path(),
                                    self.settings.batch_size)
            self.embedder = embedder
        index = load_data(self.settings)
        return Assistant(self.settings, index=index, embedder=embedder)


class RateLimiter:
    """At most `per_minute` requests from one client in any 60 seconds (sliding window)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            times = self._seen[client]
            while times and now - times[0] >= 60.0:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status,
                        headers=headers)


def _status_of(exc: AssistantError) -> int:
    if isinstance(exc, UnknownDocumentError):
        return 404
    if isinstance(exc, StoreUnavailableError):
        return 503
    return 400


def create_app(settings: Settings | None = None, embedder=None) -> FastAPI:
    """Return the API app over the store `settings` selects (files, or PostgreSQL)."""
    settings = settings or Settings.from_env()
    holder = AssistantHolder(settings, embedder)
    limiter = RateLimiter(settings.api_requests_per_minute)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # load in the background so /healthz answers at once and /readyz says when ready
        threading.Thread(target=_warm, args=(holder,), daemon=True).start()
        yield

    app = FastAPI(title="NHS policy assistant", version="1", lifespan=lifespan,
                  description="Cited answers and provisions from NHS policy documents.")
    app.state.holder = holder
    _add_middleware(app, settings, limiter)
    _add_error_handlers(app)
    _add_routes(app, holder)
    return app


def _warm(holder: AssistantHolder) -> None:
    """Load the store now so the first question is fast; a failure means 503s until later."""
    try:
        holder.get()
    except Exception as exc:
        logger.warning("store not ready at startup: %s", exc)


def _add_middleware(app: FastAPI, settings: Settings, limiter: RateLimiter) -> None:
    @app.middleware("http")
    async def guard_and_log(request: Request, call_next):
        t0 = time.perf_counter()
        client = request.client.host if request.client else "-"
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        response = None
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit()
                                   or int(length) > settings.api_max_body_bytes):
            response = _error(413, f"The request body is larger than "
                                   f"{settings.api_max_body_bytes:,} bytes.")
        elif request.url.path not in ("/healthz", "/readyz") and not limiter.allow(client):
            response = _error(429, f"More than {limiter.per_minute} requests in a minute "
                                   "from this client; wait and try again.",
                              {"Retry-After": "60"})
        else:
            body = await request.body()
            if len(body) > settings.api_max_body_bytes:
                response = _error(413, f"The request body is larger than "
                                       f"{settings.api_max_body_bytes:,} bytes.")
            else:
                response = await call_next(request)
        response.headers["X-Request-Id"] = request_id
        access_log.info(json.dumps({
            "ts": round(time.time(), 3), "request_id": request_id, "client": client,
            "method": request.method, "path": request.url.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - t0) * 1000, 1),
            "version": app.state.holder.version,
        }))
        return response


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError):
        status = _status_of(exc)
        return _error(status, str(exc), {"Retry-After": "5"} if status == 503 else None)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        detail = first.get("msg", "invalid request")
        return _error(400, f"Bad request: {where + ': ' if where else ''}{detail}.")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        if _is_database_error(exc):
            return _error(503, "The store is unavailable just now; try again shortly.",
                          {"Retry-After": "5"})
        logger.exception("unexpected error on %s", request.url.path)
        return _error(500, f"Unexpected {type(exc).__name__}; the server log has details.")


def _is_database_error(exc: Exception) -> bool:
    names = {c.__module__.split(".")[0] for c in type(exc).__mro__}
    return bool(names & {"psycopg", "psycopg2", "sqlalchemy", "asyncpg"})


def _accepts_history() -> bool:
    from assistant.pipeline import Assistant

    return "history" in inspect.signature(Assistant.ask).parameters


def _add_routes(app: FastAPI, holder: AssistantHolder) -> None:
    with_history = _accepts_history()

    @app.post("/ask", response_model=Answer, summary="Answer a question with citations")
    def ask(body: AskRequest) -> Any:
        assistant = holder.get()
        kwargs: dict[str, Any] = {"k": body.k, "doc_ids": body.docs}
        if with_history and body.history:
            kwargs["history"] = [t.model_dump() for t in body.history]
        answer = assistant.ask(body.question, **kwargs)
        return JSONResponse(json.loads(answer.model_dump_json()))

    @app.get("/provisions", summary="The provisions (objectives) a query falls under")
    def provisions(q: Annotated[str, Query(description="the query")],
                   k: Annotated[int, Query(ge=1, le=50)] = 5,
                   doc: Annotated[list[str] | None, Query()] = None) -> dict:
        matches = holder.get().objectives(q, k=k, doc_ids=doc)
        return {"query": q, "provisions": [{**m.model_dump(), "kind": "objective"}
                                           for m in matches]}

    @app.get("/documents", summary="The indexed documents")
    def documents() -> dict:
        return {"documents": _documents(holder.get())}

    @app.get("/documents/{doc_id}", summary="One indexed document")
    def document(doc_id: str) -> dict:
        assistant = holder.get()
        assistant.check_docs([doc_id])
        return next(d for d in _documents(assistant) if d["doc_id"] == doc_id)

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", summary="The store is loaded and reachable")
    def readyz() -> dict:
        assistant = holder.get()
        return {"status": "ready", "version": holder.version,
                "passages": len(assistant.index.passages)}


def _documents(assistant) -> list[dict]:
    listed = {d["doc_id"]: d for d in assistant.index.manifest.get("documents", [])}
    out = []
    for doc_id, doc in assistant.index.documents.items():
        row = listed.get(doc_id, {})
        out.append({"doc_id": doc_id, "title": doc.title, "short_title": doc.short_title,
                    "kind": doc.kind, "status": doc.status, "date": doc.date,
                    "pages": row.get("pages", doc.n_pages), "passages": row.get("passages")})
    return out


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000,
          workers: int = 1) -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    if workers > 1:  # each worker process builds its own app from the environment
        uvicorn.run("assistant.api:create_app", factory=True, host=host, port=port,
                    workers=workers, access_log=False, log_config=None)
    else:
        uvicorn.run(create_app(settings), host=host, port=port, access_log=False,
                    log_config=None)
