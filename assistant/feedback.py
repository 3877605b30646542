"""Thumbs up/down on answers, kept locally as JSON lines for trainers to review.

One entry per line in `<data_dir>/feedback.jsonl`: when, the rating, the question, the
answer and its citations. The file is append-only; every entry is written in one call under
an exclusive lock, then flushed and fsynced, so concurrent writers (several Streamlit
sessions, several processes) never interleave or lose lines.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.files import fsync_dir
from assistant.types import Answer

logger = logging.getLogger(__name__)

FEEDBACK_FILE = "feedback.jsonl"
RATINGS = ("up", "down")

# flock excludes other processes; this excludes other threads of this one on platforms
# where the file lock is per process rather than per open file
_thread_lock = threading.Lock()


def feedback_path(settings: Settings) -> Path:
    """Return the path of the feedback log for these settings."""
    return Path(settings.data_dir) / FEEDBACK_FILE


def make_entry(rating: str, answer: Answer, *, doc_ids: list[str] | None = None,
               k: int | None = None, comment: str = "") -> dict:
    """Return the feedback record for one rated answer (raises AssistantError on a bad rating)."""
    if rating not in RATINGS:
        raise AssistantError(f"Feedback rating {rating!r} is not one of: {', '.join(RATINGS)}.")
    sources = answer.closest if answer.refused else answer.citations
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": rating,
        "question": answer.question,
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": [
            {"marker": c.marker, "doc_id": c.doc_id, "title": c.title, "section": c.section,
             "paragraph": c.paragraph, "page": c.page, "quote": c.quote, "score": c.score}
            for c in sources
        ],
        "objectives": [{"id": o.id, "number": o.number, "title": o.title}
                       for o in answer.objectives],
        "doc_ids": list(doc_ids) if doc_ids else None,
        "k": k,
        "comment": comment,
    }


def record_feedback(settings: Settings, rating: str, answer: Answer, **extra) -> dict:
    """Append one rating of `answer` to the feedback log; return the entry written."""
    entry = make_entry(rating, answer, **extra)
    append_entry(feedback_path(settings), entry)
    return entry


def append_entry(path: Path, entry: dict) -> None:
    """Append `entry` as one JSON line, durably and atomically with respect to other writers."""
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise AssistantError(
            f"The feedback could not be saved to {path} ({exc.strerror or exc})."
        ) from exc
    try:
        with _thread_lock, _locked(fd):
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
    except OSError as exc:
        raise AssistantError(
            f"The feedback could not be saved to {path} ({exc.strerror or exc})."
        ) from exc
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)
    logger.info("feedback recorded in %s", path)


def read_feedback(settings: Settings) -> list[dict]:
    """Return every feedback entry, oldest first; unreadable lines are skipped and logged."""
    path = feedback_path(settings)
    if not path.exists():
        return []
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    logger.warning("%s line %d is not valid JSON; skipped", path, n)
    except OSError as exc:
        raise AssistantError(f"The feedback log {path} cannot be read ({exc.strerror}).") from exc
    return out


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    """Hold an exclusive lock on the open file `fd` (fcntl on POSIX, msvcrt on Windows)."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        try:
            os.lseek(fd, 0, os.SEEK_END)
            yield
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


