"""Durable writes and the one kind of file lock, shared by the index, the model cache and
the feedback log."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout


class LockBusyError(Exception):
    """Another process (or thread) holds the lock and the caller chose not to wait."""


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename or a new file) to disk, where the OS allows it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_size(path: Path) -> int:
    """Bytes in `path`, or 0 if it cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


@contextlib.contextmanager
def file_lock(path: Path, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the block: other processes,
    and other threads of this one, wait for it, or get LockBusyError at once if `wait` is
    False. The lock goes with the process if it dies."""
    # thread_local=False and a new object per call: every holder has its own open file, so
    # two threads of one process exclude each other as two processes do
    lock = FileLock(str(path), timeout=-1 if wait else 0, thread_local=False)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LockBusyError(str(path)) from exc
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write (by any writer: np.save, an exporter);
    when the block ends without error it replaces `path` in one step, durably, so a reader
    sees the old file or the new one, never half. On error the temporary file is removed."""
    # the suffix is kept last: some writers add their own otherwise (np.save adds .npy)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace `path` with `data` (text as UTF-8, or bytes), atomically and durably."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
