"""Checking and saving uploaded files, and adding to or removing from the shared corpus.

Uploads go to the session's own folder by default (ui.private); only an administrator
(ASSISTANT_ADMIN_TOKEN) can add a file to the shared corpus or remove one from it.

The file's type is checked by its content (magic bytes), not its name; its size is checked;
its name is reduced to a plain file name inside the corpus folder ('../../x.pdf' -> 'x.pdf');
it is read once by the library before the index is rebuilt; and if it cannot be ingested it
is removed again, leaving the index in use as it was.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path

from assistant.config import Settings
from assistant.errors import AssistantError, IngestError

EXTENSIONS = (".pdf", ".txt", ".md")
# content that is certainly not text, by its first bytes
_BINARY_MAGIC = {
    b"PK\x03\x04": "a ZIP archive (or a Word/Excel file)",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"MZ": "a Windows program",
    b"\x7fELF": "a program",
    b"\x1f\x8b": "a gzip archive",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"{\\rtf": "an RTF document",
}


class UploadError(AssistantError):
    """The uploaded file was refused; the message says why and what to do."""


def check_upload(name: str, data: bytes, max_bytes: int) -> str:
    """Return the extension the file is saved under, or raise UploadError saying why not."""
    shown = display_name(name)
    ext = Path(shown).suffix.lower()
    if ext not in EXTENSIONS:
        raise UploadError(f"{shown}: only PDF, .txt and .md files can be added.")
    if not data:
        raise UploadError(f"{shown}: the file is empty.")
    if len(data) > max_bytes:
        raise UploadError(f"{shown}: {len(data) / 2**20:.1f} MB is over the "
                          f"{max_bytes / 2**20:.0f} MB limit.")
    is_pdf = b"%PDF-" in data[:1024]
    if ext == ".pdf":
        if not is_pdf:
            raise UploadError(f"{shown} is not a PDF: its content does not start with "
                              "%PDF-. If it is text, save it as .txt.")
        return ext
    if is_pdf:
        raise UploadError(f"{shown} is a PDF, not text; rename it to .pdf.")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise UploadError(f"{shown} is {what}, not text; use a PDF, .txt or .md file.")
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in data[:8192]:
        raise UploadError(f"{shown} looks like a binary file, not text.")
    return ext


def display_name(name: str) -> str:
    """The last part of an uploaded file name, for messages (markup tags dropped first, so
    the '/' of a closing tag is not taken for a folder)."""
    name = re.sub(r"<[^<>]*>", " ", name or "")
    return re.sub(r"\s+", " ", re.split(r"[\\/]", name)[-1]).strip() or "upload"


def safe_filename(name: str, ext: str) -> str:
    """A plain file name with extension `ext` that keeps the user's base name: no folders,
    no markup, no leading dots, no odd characters ('../x<script>y</script>.txt' -> 'x-y.txt')."""
    base = unicodedata.normalize("NFKD", display_name(name))
    base = base.encode("ascii", "ignore").decode()
    stem = base[: -len(Path(base).suffix)] if Path(base).suffix else base
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    stem = re.sub(r"\.{2,}", ".", stem)
    stem = re.sub(r"-{2,}", "-", stem).strip(".-_ ")[:80] or "upload"
    return f"{stem}{ext}"


def plural(n: int, word: str) -> str:
    """'1 passage', '3 passages'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def is_admin(settings: Settings, token: str) -> bool:
    """Whether `token` is the administrator token (never true when none is set)."""
    import hmac

    return bool(settings.admin_token) and bool(token) and hmac.compare_digest(
        settings.admin_token.encode(), token.encode())


def target_path(corpus_dir: Path, filename: str) -> Path:
    """A path for `filename` inside `corpus_dir` that does not exist yet."""
    root = corpus_dir.resolve()
    stem, ext = filename[: -len(Path(filename).suffix)], Path(filename).suffix
    candidate, n = root / filename, 2
    while candidate.exists():
        candidate, n = root / f"{stem}-{n}{ext}", n + 1
    if candidate.parent != root:  # cannot happen after safe_filename; checked all the same
        raise UploadError(f"{filename}: not a valid file name.")
    return candidate


def save_upload(settings: Settings, name: str, data: bytes) -> Path:
    """Check the upload and write it into the corpus folder; return its path."""
    ext = check_upload(name, data, settings.max_file_mb * 2**20)
    corpus = Path(settings.corpus_dir)
    digest = hashlib.sha256(data).hexdigest()
    if corpus.is_dir():
        for existing in corpus.iterdir():
            if (existing.is_file() and existing.suffix.lower() in EXTENSIONS
                    and existing.stat().st_size == len(data)
                    and hashlib.sha256(existing.read_bytes()).hexdigest() == digest):
                raise UploadError(f"{display_name(name)} is already in the corpus as "
                                  f"{existing.name}.")
    try:
        corpus.mkdir(parents=True, exist_ok=True)
        path = target_path(corpus, safe_filename(name, ext))
        tmp = corpus / f".upload-{uuid.uuid4().hex}.part"  # not a corpus file until renamed
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise UploadError(f"{display_name(name)} could not be saved in {corpus} "
                          f"({exc.strerror or exc}).") from exc
    return path


def remove_from_corpus(settings: Settings, filename: str, build: Callable[[], object]
                       ) -> object:
    """Remove one file from the shared corpus and rebuild the index; return the report.

    The file is moved aside first and put back if the rebuild fails, so the index in use
    and the corpus always agree."""
    corpus = Path(settings.corpus_dir).resolve()
    path = corpus / Path(filename).name
    if not path.is_file() or path.suffix.lower() not in EXTENSIONS:
        raise UploadError(f"{display_name(filename)} is not in the corpus.")
    aside = corpus / f".removed-{uuid.uuid4().hex}-{path.name}"
    os.replace(path, aside)
    try:
        report = build()
    except BaseException:
        os.replace(aside, path)
        raise
    aside.unlink(missing_ok=True)
    return report


def ingest_upload(settings: Settings, name: str, data: bytes,
                  build: Callable[[], object]) -> tuple[Path, object]:
    """Save an upload, check that the library can read it, then rebuild the index with it.

    `build()` rebuilds the index (the UI passes build_index with its progress bar) and
    returns a BuildReport. On any failure the file is removed again and the error raised;
    the index in use is left as it was. Returns (saved path, report).
    """
    from assistant.ingest.clean import SourceFile, load_document

    path = save_upload(settings, name, data)
    try:
        load_document(SourceFile(path), max_bytes=settings.max_file_mb * 2**20)
        report = build()
        skipped = [reason for file, reason in report.skipped if file == path.name]
        if skipped:
            raise IngestError(skipped[0])
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, report
