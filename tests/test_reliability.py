"""Faults and hostile files lose nothing: one ingest of a corpus full of bad files, PDF
decompression bombs, files that vanish or never end, processes killed (SIGKILL) at every
stage of an index build, damaged index files, failed uploads, the server's network defaults
and the feedback log under kill -9.

tests/test_corpus.py already covers each bad file on its own; here they meet in one real
ingest, and the faults are the ones a single file cannot show.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import free_port, streamlit_server
from pdfs import encrypted_pdf, policy_pdf, scanned_pdf, truncated_pdf

from assistant.config import PROJECT_ROOT, Settings
from assistant.errors import AssistantError, IndexMismatchError, IngestError
from assistant.ingest.clean import SourceFile, load_document
from assistant.search.index import build_index, current_build, embed_text, load_index

CARERS = "Which objective covers carers?"


# ------------------------------------------------------------------ helpers


def copy_built(built: Settings, dest: Path, corpus_files: list[str] | None = None) -> Settings:
    """A private copy of the session corpus (or some of its files) and index."""
    dest.mkdir(parents=True, exist_ok=True)
    if corpus_files is None:
        shutil.copytree(built.corpus_dir, dest / "corpus")
    else:
        (dest / "corpus").mkdir()
        for name in corpus_files + ["manifest.json"]:
            shutil.copy(built.corpus_dir / name, dest / "corpus" / name)
    shutil.copytree(built.index_dir, dest / "index")
    return Settings(corpus_dir=dest / "corpus", index_dir=dest / "index", data_dir=dest / "data")


def build_files(settings: Settings) -> dict[str, bytes]:
    build = current_build(settings.index_dir)
    return {str(p.relative_to(build)): p.read_bytes() for p in build.rglob("*") if p.is_file()}


def answers_carers(settings: Settings, embedder, index=None) -> None:
    from assistant.pipeline import Assistant

    bot = Assistant(settings, index=index or load_index(settings), embedder=embedder)
    answer = bot.ask(CARERS)
    assert not answer.refused, answer.answer
    assert answer.citations[0].quote.startswith("Objective 15"), answer.answer
    doc = bot.index.documents[answer.citations[0].doc_id]
    for c in answer.citations:
        assert bot.index.documents[c.doc_id].text[c.start : c.end] == c.quote
    assert doc.doc_id == "draft-mandate-2012"


def sparse_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def deflate_repeated(chunk: bytes, total: int) -> bytes:
    """A zlib stream of `chunk` repeated to about `total` bytes, made without compressing
    `total` bytes: after a full flush every block compresses to the same bytes."""
    block = chunk * max(1, 2**20 // len(chunk))
    n = max(1, total // len(block))
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    rest = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()
    adler = 1
    for _ in range(n):
        adler = zlib.adler32(block, adler)
    return b"\x78\xda" + first + rest * (n - 1) + end + struct.pack(">I", adler)


TEXT_OPS = b"BT /F1 12 Tf 72 700 Td (Carers need support from the NHS and councils.) Tj ET\n"


def raw_pdf(contents: list[bytes], form: bytes | None = None, form_draws_itself=False) -> bytes:
    """A PDF written byte by byte: one page per deflated content stream in `contents`; every
    page may draw the deflated form XObject `form` as /Fm0."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b"<< /Type /Font /Subtype /Type1 "
            b"/BaseFont /Helvetica >>"]
    form_ref = ""
    if form is not None:
        objs.append(b"")  # placeholder: the form is object 4
        own = "/XObject << /Fm0 4 0 R >>" if form_draws_itself else ""
        objs[3] = (f"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << "
                   f"/Font << /F1 3 0 R >> {own} >> /Length {len(form)} /Filter /FlateDecode "
                   ">>\nstream\n").encode() + form + b"\nendstream"
        form_ref = "/XObject << /Fm0 4 0 R >>"
    kids = []
    for data in contents:
        page_no, content_no = len(objs) + 1, len(objs) + 2
        kids.append(f"{page_no} 0 R")
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << "
                    f"/Font << /F1 3 0 R >> {form_ref} >> /Contents {content_no} 0 R >>"
                    .encode())
        objs.append(f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode()
                    + data + b"\nendstream")
    objs[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def many_page_bomb() -> bytes:
    """40 pages that each inflate to 8 MB (under pypdf's per-stream limit): 320 MB in all
    from a file of about 300 kB."""
    return raw_pdf([zlib.compress(TEXT_OPS)] + [deflate_repeated(b" ", 8 * 2**20)] * 40)


BOMBS = {
    # one stream that inflates to 400 MB: pypdf's own per-stream limit stops it
    "one-stream.pdf": lambda: raw_pdf([zlib.compress(TEXT_OPS),
                                       deflate_repeated(b" ", 400 * 2**20)]),
    "many-pages.pdf": many_page_bomb,
    # a 3 kB file whose page draws a 1 MB form 4,000 times: minutes of pypdf's time
    "form-4000.pdf": lambda: raw_pdf(
        [zlib.compress(TEXT_OPS + b"/Fm0 Do\n" * 4000)],
        form=zlib.compress(b"BT /F1 12 Tf (A) Tj ET\n" * 40_000)),
    "form-loop.pdf": lambda: raw_pdf([zlib.compress(TEXT_OPS + b"/Fm0 Do\n")],
                                     form=zlib.compress(TEXT_OPS + b"/Fm0 Do\n"),
                                     form_draws_itself=True),
}


def measured(fn):
    """Run fn(); return (result or exception, seconds, peak Python memory in MB)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # returned, for the caller to check
        result = exc
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


# ------------------------------------------------------------------ one ingest, every bad file

LATIN1 = ("Hospital caf\u00e9 r\u00e9gime\n\nThe hospital caf\u00e9 will sell fruit for "
          "\u00a31 to na\u00efve visitors and staff on night shifts.\n")
BOM_MD = ("# Bicycle parking policy\n\nEvery hospital site should offer covered bicycle "
          "parking for staff within two hundred metres of the main entrance.\n")
# file -> what its one line must say
EXPECTED_SKIPS = {
    "corrupt.pdf": "not a readable PDF",
    "truncated.pdf": "not a readable PDF",
    "locked.pdf": "encrypted with a password",
    "scanned.pdf": "no text layer",
    "zero.txt": "empty",
    "huge-201mb.txt": "over the 200 MB limit",
    "duplicate.txt": "same content as strategic-context-2012.txt",
    "vanishing.txt": "disappeared",
    "bomb.pdf": "decompression bomb",
}


@pytest.fixture(scope="module")
def mixed_run(built, embedder, tmp_path_factory):
    """`assistant ingest` over the real corpus plus every kind of bad file, one of which is
    deleted after discovery and before it is read: (settings, stderr, exit code)."""
    import assistant.search.index
    from assistant.cli import main

    root = tmp_path_factory.mktemp("mixed")
    settings = copy_built(built, root)
    corpus = settings.corpus_dir
    good = policy_pdf(root / "policy.pdf")
    (corpus / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog" + os.urandom(3000))
    truncated_pdf(good, corpus / "truncated.pdf")
    encrypted_pdf(good, corpus / "locked.pdf", user_password="s3cret")
    encrypted_pdf(good, corpus / "open-encrypted.pdf", user_password="")
    scanned_pdf(corpus / "scanned.pdf")
    (corpus / "zero.txt").write_bytes(b"")
    sparse_file(corpus / "huge-201mb.txt", 201 * 2**20)
    (corpus / "latin1-notes.txt").write_bytes(LATIN1.encode("latin-1"))
    (corpus / "bom-notes.md").write_bytes(b"\xef\xbb\xbf" + BOM_MD.encode("utf-8"))
    shutil.copy(corpus / "strategic-context-2012.txt", corpus / "duplicate.txt")
    (corpus / "vanishing.txt").write_text("A short note about ward rounds that is deleted "
                                          "while the ingest runs.\n")
    (corpus / "bomb.pdf").write_bytes(many_page_bomb())

    real = assistant.search.index.load_document

    def load_document(src, *args, **kwargs):
        if src.path.name == "vanishing.txt":
            src.path.unlink()  # gone between discovery and reading
        return real(src, *args, **kwargs)

    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(assistant.search.index, "load_document", load_document)
        mp.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
        mp.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
        mp.setenv("ASSISTANT_DATA_DIR", str(settings.data_dir))
        with contextlib.redirect_stderr(err):
            code = main(["ingest", "--quiet"])
    return settings, err.getvalue(), code


def test_every_bad_file_gets_one_line_naming_it_and_the_reason(mixed_run):
    _, stderr, code = mixed_run
    assert code == 0, stderr
    assert "Traceback" not in stderr
    skipped = [line[len("skipped: "):] for line in stderr.splitlines()
               if line.startswith("skipped: ")]
    by_file = {}
    for line in skipped:
        name = line.split(":", 1)[0]
        assert name not in by_file, f"two lines for {name}"
        by_file[name] = line
    assert set(by_file) == set(EXPECTED_SKIPS), stderr
    for name, reason in EXPECTED_SKIPS.items():
        assert reason in by_file[name], by_file[name]


def test_everything_else_is_indexed_and_answers(mixed_run, embedder):
    settings, stderr, _ = mixed_run
    index = load_index(settings)
    assert set(index.documents) == {
        "draft-mandate-2012", "strategic-context-2012", "news-final-mandate-2012",
        "hsj-first-mandate-2012", "mandate-2017-19-summary", "nhs-constitution-2015",
        "open-encrypted", "latin1-notes", "bom-notes"}
    latin = index.documents["latin1-notes"].text
    assert "hospital caf\u00e9 will sell fruit for \u00a31 to na\u00efve visitors" in latin
    bom = index.documents["bom-notes"].text
    assert not bom.startswith("\ufeff") and bom.startswith("Bicycle parking policy")
    assert "free medicines review" in index.documents["open-encrypted"].text
    assert "duplicate" not in " ".join(index.documents)
    answers_carers(settings, embedder, index)


def test_the_summary_counts_what_was_indexed_and_skipped(mixed_run):
    _, stderr, _ = mixed_run
    summary = stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"Indexed 9 document\(s\), \d+ passages \(\d+ texts embedded, \d+ "
                        r"reused\) in [\d.]+s; skipped 9\.", summary), summary


# ------------------------------------------------------------------ size, devices, growth


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path):
    path = sparse_file(tmp_path / "two-mb.txt", 2 * 2**20)
    limit = Settings(max_file_mb=1).max_file_mb * 2**20
    result, seconds, peak = measured(lambda: load_document(SourceFile(path), max_bytes=limit))
    assert isinstance(result, IngestError)
    assert str(result) == "two-mb.txt: 2.0 MB is over the 1 MB limit."
    assert peak < 0.5  # MB: the 2 MB were never read


def test_a_200_mb_file_is_refused_by_size_at_once(tmp_path):
    path = sparse_file(tmp_path / "scan-archive.pdf", 200 * 2**20 + 1)
    limit = Settings().max_file_mb * 2**20
    result, seconds, peak = measured(lambda: load_document(SourceFile(path), max_bytes=limit))
    assert isinstance(result, IngestError)
    assert re.fullmatch(r"scan-archive\.pdf: 200\.0 MB is over the 200 MB limit\.", str(result))
    assert seconds < 2 and peak < 1


def test_a_file_that_grows_after_the_size_check_is_still_refused(tmp_path, monkeypatch):
    import assistant.ingest.read

    path = tmp_path / "growing.txt"
    path.write_text("Carers need support. " * 100_000)  # 2.1 MB
    real_fstat = os.fstat

    def fstat(fd):  # the size as it was when the check ran, before the file grew
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid,
                               st.st_gid, 1000, st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(assistant.ingest.read.os, "fstat", fstat)
    with pytest.raises(IngestError, match=r"growing\.txt: .*over the 1 MB limit"):
        load_document(SourceFile(path), max_bytes=2**20)


@pytest.mark.parametrize("kind", ["fifo", "endless-device", "folder"])
def test_files_that_are_not_regular_files_are_refused_without_blocking(tmp_path, kind):
    path = tmp_path / f"{kind}.txt"
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    elif kind == "endless-device":
        path.symlink_to("/dev/zero")  # reading it would never end
    else:
        path.mkdir()
    outcome: list = []

    def run():
        try:
            load_document(SourceFile(path), max_bytes=2**20)
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert not worker.is_alive(), f"{kind}: reading it blocked"
    assert len(outcome) == 1 and isinstance(outcome[0], IngestError), outcome
    assert str(outcome[0]) == f"{kind}.txt: not a regular file."


def test_a_file_removed_after_it_was_read_does_not_break_the_ingest(built, embedder, tmp_path,
                                                                    monkeypatch):
    """The ingest records the corpus's files after reading them; one deleted in between
    must not turn a good ingest into a crash."""
    import assistant.search.index

    settings = copy_built(built, tmp_path)
    extra = settings.corpus_dir / "short-lived.txt"
    extra.write_text("A note about car parking charges for hospital visitors, deleted soon.\n")
    calls = []
    real = assistant.search.index.discover

    def discover(*args, **kwargs):
        found = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:  # the listing the manifest's corpus state is taken from
            extra.unlink()
        return found

    monkeypatch.setattr(assistant.search.index, "discover", discover)
    report = build_index(settings, embedder=embedder)
    assert "short-lived" in report.indexed
    assert load_index(settings).manifest["counts"]["documents"] == 7


# ------------------------------------------------------------------ decompression bombs


@pytest.mark.parametrize("name", list(BOMBS))
def test_decompression_bombs_are_refused_quickly_in_bounded_memory(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BOMBS[name]())
    assert path.stat().st_size < 500_000
    result, seconds, peak = measured(lambda: load_document(SourceFile(path)))
    assert isinstance(result, IngestError), result
    assert str(result).startswith(f"{name}: ") and "decompression bomb" in str(result)
    assert seconds < 15, f"{name} took {seconds:.1f} s"
    assert peak < 300, f"{name} used {peak:.0f} MB"


def test_a_long_compressed_pdf_is_not_mistaken_for_a_bomb(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "annual-report.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, pageCompression=1)
    for page in range(1, 121):
        c.setFont("Helvetica", 9)
        for line in range(60):
            c.drawString(40, 800 - 13 * line, f"{page}.{line} Trust board paper {page * line} "
                         "on waiting times, staffing, finance and patient safety this quarter.")
        c.showPage()
    c.save()
    doc = load_document(SourceFile(path))
    assert doc.n_pages == 120
    assert "120.30 Trust board paper" in doc.text  # (edge lines look like running footers)


# ------------------------------------------------------------------ SIGKILL mid-build

KILLER = r'''
"""Run `assistant ingest` and kill this process with SIGKILL at one chosen point."""
import os, shutil, signal, sys

import assistant.search.index as ix

point = sys.argv[1]


def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


if point == "reading":  # the third file is being read
    real_load, seen = ix.load_document, []

    def load_document(src, *args, **kwargs):
        seen.append(src)
        if len(seen) == 3:
            die()
        return real_load(src, *args, **kwargs)

    ix.load_document = load_document
elif point == "embedding":  # the model is embedding new text
    from assistant.search import embed as embedding

    real_embed = embedding.Embedder.embed_batch

    def embed_batch(self, texts, *args, **kwargs):
        real_embed(self, texts[:4])
        die()

    embedding.Embedder.embed_batch = embed_batch
elif point == "writing":  # passages and vectors written in the .partial folder, FAISS not
    ix.make_faiss = die
elif point == "renamed":  # the build is complete in builds/ but not yet CURRENT
    ix._switch = die
elif point == "pointer":  # the new CURRENT is written to a temporary file, not renamed
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if os.path.basename(dst) == "CURRENT":
            die()
        return real_replace(src, dst, *args, **kwargs)

    os.replace = replace
elif point == "cleanup":  # CURRENT switched, the old build not yet removed
    shutil.rmtree = die

from assistant.cli import main

sys.exit(main(["ingest", "--quiet"]))
'''
HOOKED = ["reading", "embedding", "writing", "renamed", "pointer", "cleanup"]
EXTERNAL = ["kill-when-partial-appears", "kill-after-1.5s"]
NEW_DOC = ("Hospital car parking\n\n1.1 Car parking for blue badge holders should be free at "
           "every hospital site in England.\n\n1.2 Staff on night shifts should not pay to park "
           "while they work.\n")


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
               ASSISTANT_INDEX_DIR=str(settings.index_dir),
               ASSISTANT_DATA_DIR=str(settings.data_dir),
               PYTHONPATH=str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


@pytest.fixture(scope="module")
def killed(built, tmp_path_factory):
    """Ingests killed with SIGKILL at eight points, each on its own copy of the session
    index, run side by side: {point: (settings, CURRENT before, return code, stderr)}."""
    root = tmp_path_factory.mktemp("killed")
    script = root / "killer.py"
    script.write_text(KILLER)
    runs, procs = {}, {}
    for point in HOOKED + EXTERNAL:
        settings = copy_built(built, root / point)
        if point == "embedding":  # new text, so that the model has work to do
            (settings.corpus_dir / "car-parking.txt").write_text(NEW_DOC)
        before = current_build(settings.index_dir).name
        log = open(root / f"{point}.log", "w+b")  # noqa: SIM115 - closed below
        if point in HOOKED:
            cmd = [sys.executable, str(script), point]
        else:
            cmd = [sys.executable, "-m", "assistant", "ingest"]  # with its progress bar
        procs[point] = (subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=_env(settings),
                                         stdout=log, stderr=log), log, time.monotonic())
        runs[point] = (settings, before)
    # the external kills, timed from outside the process
    proc, _, started = procs["kill-when-partial-appears"]
    builds = runs["kill-when-partial-appears"][0].index_dir / "builds"
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.endswith(".partial") for p in builds.iterdir()):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.001)
    proc, _, started = procs["kill-after-1.5s"]
    time.sleep(max(0.0, started + 1.5 - time.monotonic()))
    proc.send_signal(signal.SIGKILL)
    out = {}
    for point, (proc, log, _) in procs.items():
        try:
            proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.seek(0)
        out[point] = (*runs[point], proc.returncode, log.read().decode(errors="replace"))
        log.close()
    return out


@pytest.mark.parametrize("point", HOOKED + EXTERNAL)
def test_an_ingest_killed_mid_build_leaves_the_index_answering(killed, point, embedder):
    settings, before, code, log = killed[point]
    assert code == -signal.SIGKILL, f"the ingest was not killed at {point}: {log}"
    current = current_build(settings.index_dir)
    if point != "cleanup" and point in HOOKED:
        assert current.name == before  # nothing switched
    index = load_index(settings)  # checksums verified
    assert index.manifest["counts"]["passages"] == len(index.passages)
    answers_carers(settings, embedder, index)

    # the next ingest completes and clears what the killed one left behind
    report = build_index(settings, embedder=embedder)
    builds = sorted(p.name for p in (settings.index_dir / "builds").iterdir())
    assert builds == [current_build(settings.index_dir).name]
    if point == "embedding":
        assert "car-parking" in report.indexed and report.embedded > 0
    answers_carers(settings, embedder)


# ------------------------------------------------------------------ damaged index files


@pytest.fixture(scope="module")
def index_files(built) -> list[str]:
    build = current_build(built.index_dir)
    return sorted(str(p.relative_to(build)) for p in build.rglob("*")
                  if p.is_file() and p.name != "manifest.json")


@pytest.mark.parametrize("damage", ["half-written", "one-byte-changed", "missing"])
def test_every_damaged_index_file_is_detected_never_loaded(built, index_files, tmp_path,
                                                           damage):
    settings = copy_built(built, tmp_path)
    build = current_build(settings.index_dir)
    for rel in index_files:
        path = build / rel
        original = path.read_bytes()
        if damage == "half-written":
            path.write_bytes(original[: len(original) // 2])
        elif damage == "one-byte-changed":
            changed = bytearray(original)
            changed[len(changed) // 2] ^= 0x01
            path.write_bytes(bytes(changed))
        else:
            path.unlink()
        with pytest.raises(IndexMismatchError, match=re.escape(rel) + r".*assistant ingest"):
            load_index(settings)
        path.write_bytes(original)
    load_index(settings)


def test_a_manifest_without_checksums_is_not_trusted(built, tmp_path):
    settings = copy_built(built, tmp_path)
    manifest = current_build(settings.index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["checksums"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexMismatchError, match="assistant ingest"):
        load_index(settings)


def test_a_damaged_index_is_reported_by_ask_and_rebuilt_by_ingest(built, embedder, tmp_path,
                                                                  monkeypatch, capsys):
    """The error tells the user to run `assistant ingest`; that command must then work
    even though the vectors it would reuse are the damaged ones."""
    from assistant.cli import main

    settings = copy_built(built, tmp_path, corpus_files=["strategic-context-2012.txt"])
    build_index(settings, embedder=embedder)  # a small index: vectors reused, none embedded
    vectors = current_build(settings.index_dir) / "passage_vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:5000])
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))

    assert main(["ask", "What did the Health and Social Care Act 2012 do?"]) == 1
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(r"error: The index file passage_vectors\.npy is damaged or was changed; "
                        r"run `assistant ingest` to rebuild the index\.", err), err

    assert main(["ingest", "--quiet"]) == 0, capsys.readouterr().err
    index = load_index(settings)
    assert list(index.documents) == ["strategic-context-2012"]


def test_an_ingest_never_reuses_vectors_from_a_tampered_build(built, embedder, tmp_path):
    """Reused vectors come from the build in use; if its files fail their checksums they
    must be embedded afresh, not copied into the new index under the wrong texts."""
    settings = copy_built(built, tmp_path, corpus_files=["mandate-2017-19-summary.txt"])
    build_index(settings, embedder=embedder)
    keys_file = current_build(settings.index_dir) / "cache_keys.json"
    keys = json.loads(keys_file.read_text())
    keys[0], keys[1] = keys[1], keys[0]  # still valid JSON: two texts swap vectors
    keys_file.write_text(json.dumps(keys))

    build_index(settings, embedder=embedder)
    index = load_index(settings)
    texts = [embed_text(p, index.documents[p.doc_id]) for p in index.passages[:2]]
    fresh = np.stack([embedder.embed_batch([t])[0] for t in texts])
    similarity = index.passage_vectors[:2] @ fresh.T  # row: stored vector, column: text
    assert similarity[0, 0] > max(0.97, similarity[0, 1])
    assert similarity[1, 1] > max(0.97, similarity[1, 0])


# ------------------------------------------------------------------ uploads


@pytest.mark.parametrize("case", ["bomb", "password", "build-crashes"])
def test_a_failed_upload_leaves_corpus_and_index_as_they_were(built, embedder, tmp_path, case):
    from ui.uploads import ingest_upload

    settings = copy_built(built, tmp_path / "copy")
    corpus_before = sorted(p.name for p in settings.corpus_dir.iterdir())
    index_before = build_files(settings)
    if case == "bomb":
        name, data = "../../tricky report.pdf", many_page_bomb()
    elif case == "password":
        name = "minutes.pdf"
        data = encrypted_pdf(policy_pdf(tmp_path / "p.pdf"), tmp_path / "l.pdf", "pw").read_bytes()
    else:
        name, data = "fine.txt", b"A perfectly readable note about hospital food menus.\n" * 3

    def build():
        if case == "build-crashes":
            raise OSError(28, "No space left on device")
        return build_index(settings, embedder=embedder)

    with pytest.raises((AssistantError, OSError)):
        ingest_upload(settings, name, data, build)
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == corpus_before
    assert not list(tmp_path.rglob("tricky*"))  # nothing escaped the corpus folder
    assert build_files(settings) == index_before
    answers_carers(settings, embedder)


# ------------------------------------------------------------------ the server's defaults


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for row in f.read().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and int(local.split(":")[1], 16) == port:
                    found.append(local.split(":")[0])
    return found


def test_the_app_server_binds_to_localhost_with_xsrf_protection(built, tmp_path):
    """Started without --server.address (`streamlit run ui/app.py`): the app's own
    config.toml keeps it on 127.0.0.1 and refuses uploads without an XSRF token."""
    port = free_port()
    settings = copy_built(built, tmp_path / "copy")
    env = _env(settings)
    env["HOME"] = str(tmp_path)  # no personal ~/.streamlit/config.toml
    for key in [k for k in env if k.startswith("STREAMLIT_")]:
        del env[key]
    flags = ["--server.port", str(port), "--server.headless", "true"]
    with streamlit_server(flags, env, tmp_path / "server.log") as server:
        deadline = time.monotonic() + 90
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, (
                (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        assert _listening(port) == ["0100007F"]  # 127.0.0.1 only, no IPv6, not 0.0.0.0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=30) as r:
            assert r.read() == b"ok"
        upload = urllib.request.Request(
            f"http://127.0.0.1:{port}/_stcore/upload_file/session/file", method="PUT",
            data=b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
                 b"\r\nhello\r\n--x--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=x"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(upload, timeout=30)
        assert refused.value.code == 403
        assert b"XSRF" in refused.value.read()


def test_the_launch_script_and_config_default_to_localhost_and_xsrf():
    import tomllib

    config = tomllib.loads((PROJECT_ROOT / "ui" / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["maxUploadSize"] <= Settings().max_file_mb
    script = (PROJECT_ROOT / "scripts" / "run-app.sh").read_text()
    assert '--server.address "${ASSISTANT_HOST:-127.0.0.1}"' in script
    assert "enableXsrfProtection false" not in script.replace("=", " ")


# ------------------------------------------------------------------ the feedback log under kill -9

WRITER = r'''
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.conversations.store import record_feedback
from assistant.types import Answer

settings = Settings(data_dir=Path(sys.argv[1]))
answer = Answer(question="Which objective covers carers?", answer="Objective 15 [1]",
                refused=False)
n = 0
while True:
    record_feedback(settings, "up" if n % 2 else "down", answer, comment=f"{sys.argv[2]}-{n}")
    print(n, flush=True)  # acknowledged: record_feedback returned
    n += 1
'''


def test_no_acknowledged_feedback_is_lost_when_writers_are_killed(tmp_path):
    from assistant.conversations.store import read_feedback

    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    data = tmp_path / "data"
    env = _env(Settings(data_dir=data))
    writers = {name: subprocess.Popen([sys.executable, str(script), str(data), name],
                                      cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
               for name in ("server-a", "server-b")}
    acked: dict[str, list[str]] = {name: [] for name in writers}
    for name, proc in writers.items():  # both keep writing while the other is read
        while len(acked[name]) < 40:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            acked[name].append(f"{name}-{int(line)}")
    for proc in writers.values():
        proc.send_signal(signal.SIGKILL)
    for name, proc in writers.items():
        acked[name] += [f"{name}-{int(x)}" for x in proc.stdout.read().split()]
        proc.wait()
        assert proc.returncode == -signal.SIGKILL

    import sqlite3

    db = sqlite3.connect(data / "assistant.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"  # no torn record
    rows = db.execute("SELECT count(*) FROM turns").fetchone()[0]
    db.close()
    recorded = [e["comment"] for e in read_feedback(Settings(data_dir=data))]
    assert len(recorded) == len(set(recorded)) == rows
    for name in writers:
        assert set(acked[name]) <= set(recorded)
        mine = [int(c.rsplit("-", 1)[1]) for c in recorded if c.startswith(name)]
        assert mine == list(range(len(mine)))  # in order, no gap
