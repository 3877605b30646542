"""Reading one file into page texts: txt and md (decoded safely) and pdf (pypdf), with the
checks that keep a bad file from hurting the ingest: type, size, regular file, encryption,
text layer, and a bound on how much page content a PDF may unpack to."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from pathlib import Path

from assistant.errors import IngestError

logger = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".pdf"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
PRINT_MARK = re.compile(r"\.indd\s+(\d+)\s+\d{1,2}/\d{1,2}/\d{2,4}")
# pdftotext-style page starts where the form feed became a single leading space
_PAGE_START = re.compile(r"^ (?![\s\u2013\u2022\-])\S")


def read_checked(path: Path, max_bytes: int | None = None) -> tuple[bytes, str]:
    """Return (bytes, sha256) of a supported, non-empty regular file within the size limit.

    Raises IngestError with one sentence naming the file and the reason.
    """
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(f"{name}: unsupported file type '{suffix}'; use .pdf, .txt or .md.")
    data = _read_bytes(path, max_bytes)
    if not data.strip():
        raise IngestError(f"{name}: the file is empty.")
    return data, hashlib.sha256(data).hexdigest()


def read_pages(path: Path, max_bytes: int | None = None) -> tuple[list[str], bool, str]:
    """Return (page texts, whether pages are real, sha256 of the bytes) for one file.

    Raises IngestError with one sentence naming the file and the reason.
    """
    data, digest = read_checked(path, max_bytes)
    if path.suffix.lower() == ".pdf" or data[:5] == b"%PDF-":
        return _pdf_pages(path.name, data), True, digest
    text = decode_text(path.name, data)
    if "\f" in text:
        return text.split("\f"), True, digest
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if i and _PAGE_START.match(line)]
    if len(starts) >= 3:
        pages, prev = [], 0
        for i in starts:
            pages.append("\n".join(lines[prev:i]))
            prev = i
        pages.append("\n".join(lines[prev:]))
        return _split_after_print_marks(pages), True, digest
    return [text], False, digest


def _read_bytes(path: Path, max_bytes: int | None) -> bytes:
    """The bytes of a regular file, refused by size before reading and never more than that.

    A FIFO or a device (a link to /dev/zero named notes.txt) would block or never end, so
    only regular files are read; the limit is checked on the open file and again on what
    was read, so a file that grows after the check cannot slip past it.
    """
    name = path.name
    try:
        with open(path, "rb", opener=_open_nonblocking) as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise IngestError(f"{name}: not a regular file.")
            if max_bytes is not None and st.st_size > max_bytes:
                raise IngestError(_too_big(name, st.st_size, max_bytes))
            data = f.read() if max_bytes is None else f.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise IngestError(f"{name}: the file disappeared before it could be read.") from exc
    except IsADirectoryError as exc:
        raise IngestError(f"{name}: not a regular file.") from exc
    except OSError as exc:
        raise IngestError(f"{name}: cannot be read ({exc.strerror or exc}).") from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise IngestError(_too_big(name, len(data), max_bytes))
    return data


def _open_nonblocking(path: str, flags: int) -> int:
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused right after)
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _too_big(name: str, size: int, max_bytes: int) -> str:
    return f"{name}: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:g} MB limit."


def decode_text(name: str, data: bytes) -> str:
    """Decode text bytes (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IngestError(f"{name}: broken UTF-16 text.") from exc
    if b"\x00" in data[:4096]:
        raise IngestError(f"{name}: looks like a binary file, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        logger.info("%s is not UTF-8; read as Windows-1252/Latin-1", name)
    if len(_CONTROL.findall(text)) > max(10, len(text) // 100):
        raise IngestError(f"{name}: not readable text in a known encoding.")
    return text


# What text extraction may unpack from one PDF: the page content streams, with every form
# XObject counted once per time a page draws it. Real documents unpack to a few times their
# file size; a decompression bomb (a few kB that inflate to gigabytes, or one form drawn
# thousands of times) is refused before pypdf spends minutes or gigabytes on it.
PDF_WORK_FLOOR = 16 * 2**20
PDF_WORK_PER_BYTE = 50
_DO = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do\b")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


MAX_PDF_PAGES = 1000


def check_pdf(name: str, data: bytes, max_pages: int = MAX_PDF_PAGES):
    """Return the pypdf reader of a PDF that is safe to extract text from.

    Raises IngestError (one sentence) for a damaged or encrypted file, one over `max_pages`
    pages, or one whose page content unpacks past the safety budget."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    budget = max(PDF_WORK_FLOOR, PDF_WORK_PER_BYTE * len(data))
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # unsupported algorithm and the like
                raise IngestError(f"{name}: the PDF is encrypted and cannot be opened.") from exc
            if not ok:
                raise IngestError(f"{name}: the PDF is encrypted with a password.")
        n = len(reader.pages)
        if n > max_pages:
            raise IngestError(f"{name}: {n} pages is over the {max_pages}-page limit; split "
                              "it into parts and add those.")
        _check_pdf_work(name, reader.pages, budget)
    except IngestError:
        raise
    except LimitReachedError as exc:
        raise IngestError(f"{name}: the PDF unpacks past the safety limits (a decompression "
                          "bomb?); it was not read.") from exc
    except Exception as exc:  # pypdf raises many types on damaged files
        raise IngestError(f"{name}: not a readable PDF ({type(exc).__name__}).") from exc
    return reader


def _pdf_pages(name: str, data: bytes) -> list[str]:
    from pypdf.errors import LimitReachedError, PdfReadError

    reader = check_pdf(name, data)
    try:
        pages = [(page.extract_text() or "") for page in reader.pages]
    except IngestError:
        raise
    except LimitReachedError as exc:
        raise IngestError(f"{name}: the PDF unpacks past the safety limits (a decompression "
                          "bomb?); it was not read.") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise IngestError(f"{name}: not a readable PDF ({type(exc).__name__}).") from exc
    except Exception as exc:  # pypdf raises many types on damaged files
        raise IngestError(f"{name}: not a readable PDF ({type(exc).__name__}).") from exc
    if not pages:
        raise IngestError(f"{name}: the PDF has no pages.")
    if sum(len(p.strip()) for p in pages) < 20:
        raise IngestError(f"{name}: the PDF has no text layer (scanned?); run OCR on it first.")
    return pages


def _check_pdf_work(name: str, pages, budget: int) -> None:
    """Raise IngestError if extracting the text of `pages` would unpack over `budget` bytes."""
    memo: dict[int, int] = {}
    total = 0
    for page in pages:
        total += _content_work(page.get("/Contents"), page.get("/Resources"), budget - total,
                               memo, set())
        if total > budget:
            raise IngestError(
                f"{name}: the PDF unpacks to over {budget / 2**20:.0f} MB of page content "
                "(a decompression bomb?); it was not read."
            )


def _content_work(contents, resources, remaining: int, memo: dict[int, int],
                  drawing: set[int]) -> int:
    """Bytes of content `contents` unpacks to, forms drawn by it included, up to `remaining`."""
    from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

    contents = contents.get_object() if contents is not None else None
    if isinstance(contents, ArrayObject):
        streams = [s.get_object() for s in contents]
    else:
        streams = [contents]
    resources = resources.get_object() if resources is not None else None
    xobjects = resources.get("/XObject") if isinstance(resources, DictionaryObject) else None
    xobjects = xobjects.get_object() if xobjects is not None else None
    work = 0
    for stream in streams:
        if not isinstance(stream, StreamObject):
            continue
        content = stream.get_data()  # decoded once and kept by pypdf for extraction
        work += len(content)
        if work > remaining or not isinstance(xobjects, DictionaryObject):
            continue
        drawn: dict[bytes, int] = {}
        for m in _DO.finditer(content):
            key = _NAME_ESCAPE.sub(lambda e: bytes([int(e.group(1), 16)]), m.group(1))
            drawn[key] = drawn.get(key, 0) + 1
        for key, times in drawn.items():
            ref = xobjects.get("/" + key.decode("latin-1"))
            form = ref.get_object() if ref is not None else None
            if not isinstance(form, StreamObject) or form.get("/Subtype") != "/Form":
                continue
            form_id = id(form)
            if form_id in drawing or len(drawing) > 30:  # a form that draws itself
                return remaining + 1
            if form_id not in memo:
                memo[form_id] = _content_work(form, form.get("/Resources") or resources,
                                              remaining, memo, drawing | {form_id})
            work += times * memo[form_id]
            if work > remaining:
                return work
    return work


def _split_after_print_marks(pages: list[str]) -> list[str]:
    """A printer's mark ('...indd 11 28/06/2012') ends a page even without a page break."""
    out = []
    for page in pages:
        lines = page.split("\n")
        cut = 0
        for i, line in enumerate(lines):
            if PRINT_MARK.search(line) and i < len(lines) - 1:
                out.append("\n".join(lines[cut : i + 1]))
                cut = i + 1
        out.append("\n".join(lines[cut:]))
    return out
