"""My documents: uploads that stay private to the session that made them.

Each session that uploads gets a folder `<data_dir>/sessions/<session id>/` holding its
files (`uploads/`) and its own index (`index/`): the shared corpus plus its uploads, built
from a copy of the shared index so that only the new text is embedded. Other sessions keep
searching the shared index and never see these files. When the shared index changes (an
administrator added or removed a document), a session's own index is rebuilt on next use.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.search.index import current_build
from ui.uploads import EXTENSIONS, UploadError, display_name, ingest_upload

BASE_FILE = "BASE"  # the shared build a session's index was made from


def workspace(settings: Settings, sid: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", sid):
        raise UploadError("This session has no valid id; reload the page.")
    return Path(settings.data_dir) / "sessions" / sid


def uploads_dir(settings: Settings, sid: str) -> Path:
    return workspace(settings, sid) / "uploads"


def private_files(settings: Settings, sid: str) -> list[Path]:
    """The session's uploaded files, oldest name first."""
    folder = uploads_dir(settings, sid)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in EXTENSIONS)


def private_settings(settings: Settings, sid: str) -> Settings:
    """Settings whose index is the session's own (shared corpus + its uploads)."""
    return settings.with_(index_dir=workspace(settings, sid) / "index")


def is_current(settings: Settings, sid: str) -> bool:
    """Whether the session's index exists and was made from the shared index in use."""
    own = private_settings(settings, sid).index_dir
    shared = current_build(Path(settings.index_dir))
    base = own / BASE_FILE
    return (current_build(own) is not None and shared is not None and base.exists()
            and base.read_text().strip() == shared.name)


def build_private(settings: Settings, sid: str, build: Callable[[Settings, list[Path]], object]
                  ) -> object:
    """(Re)build the session's index; `build(settings, extra)` runs build_index."""
    own = private_settings(settings, sid)
    shared = current_build(Path(settings.index_dir))
    if shared is None:
        raise IngestError("There is no shared index yet; reload the page to build it.")
    if current_build(own.index_dir) is None:  # start from the shared vectors
        target = own.index_dir / "builds" / shared.name
        shutil.copytree(shared, target, dirs_exist_ok=True)
        (own.index_dir / "CURRENT").write_text(shared.name)
    report = build(own, private_files(settings, sid))
    (own.index_dir / BASE_FILE).write_text(shared.name)
    return report


def add_private(settings: Settings, sid: str, name: str, data: bytes,
                build: Callable[[Settings, list[Path]], object]) -> tuple[Path, object]:
    """Save an upload in the session's folder and rebuild its index; on failure remove it."""
    folder = uploads_dir(settings, sid)
    return ingest_upload(settings.with_(corpus_dir=folder), name, data,
                         lambda: build_private(settings, sid, build))


def remove_private(settings: Settings, sid: str, filename: str,
                   build: Callable[[Settings, list[Path]], object]) -> None:
    """Remove one of the session's uploads and rebuild (or drop) its index."""
    path = uploads_dir(settings, sid) / Path(filename).name
    if not path.is_file():
        raise UploadError(f"{display_name(filename)} is not among your documents.")
    path.unlink()
    if private_files(settings, sid):
        build_private(settings, sid, build)
    else:
        shutil.rmtree(private_settings(settings, sid).index_dir, ignore_errors=True)


def private_doc_ids(index, settings: Settings, sid: str) -> set[str]:
    """The ids of the documents in `index` that are this session's uploads."""
    try:
        folder = uploads_dir(settings, sid).resolve()
    except UploadError:
        return set()
    return {d for d, doc in index.documents.items()
            if doc.path and Path(doc.path).resolve().parent == folder}
