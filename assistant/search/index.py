"""Build, save and load the index: a folder of plain files plus a manifest.

Layout of `index/`:
    CURRENT                 name of the build in use (replaced atomically)
    builds/<name>/          one complete build:
        manifest.json       model, dimension, settings, corpus files, counts, checksums
        documents.jsonl     clean text, page points and metadata of each document
        passages.jsonl      passages with offsets, sections, paragraphs, pages, sentences
        objectives.jsonl    the objective catalogue;  questions.jsonl: consultation questions
        passage_vectors.npy, sentence_vectors.npy: float16, unit length, memory-mapped
        vectors.npz         objective and heading vectors (float32), sentence offsets
        faiss.index         dense index (llama-index FaissVectorStore)
        bm25/               lexical index (llama-index BM25Retriever); lexicon.json: words

A build is written aside and only then made CURRENT, so a failed or killed build never
damages the index in use; unchanged text is never re-embedded (files: search/persist.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np

from assistant.config import Settings, build_fingerprint
from assistant.errors import IndexMismatchError, IndexMissingError, IngestError
from assistant.files import LockBusyError, file_lock, file_size, fsync_dir
from assistant.files import write_atomic as _write_atomic
from assistant.ingest.clean import discover, load_document
from assistant.ingest.passages import catalogue, chunk
from assistant.ingest.structure import analyse
from assistant.search.persist import (  # noqa: F401 (IndexData and the file names: the index's API)
    REQUIRED_FILES,
    STORED_VECTORS,
    VECTOR_FILES,
    IndexData,
    Vectors,
    checked_manifest,
    checksums,
    read_build,
    reusable_vectors,
    sha256_file,
    write_records,
)
from assistant.search.provisions import catalogue_provisions
from assistant.search.stores import make_bm25, make_faiss
from assistant.search.vectors import Embedding, TextsToCome, read_ahead, text_key
from assistant.types import (
    ConsultationQuestion,
    Document,
    Objective,
    Passage,
    PassageKind,
    Provision,
)

logger = logging.getLogger(__name__)

INDEX_VERSION = 3


@dataclass
class BuildReport:
    """What an ingest did: documents indexed, files skipped and why, and counts."""

    indexed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    passages: int = 0
    embedded: int = 0
    reused: int = 0
    seconds: float = 0.0
    path: str = ""


@dataclass
class _Records:
    """What analysis of the documents gives, before any embedding."""

    docs: list[Document] = field(default_factory=list)
    by_id: dict[str, Document] = field(default_factory=dict)
    passages: list[Passage] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    questions: list[ConsultationQuestion] = field(default_factory=list)
    provisions: list[Provision] = field(default_factory=list)


def settings_fingerprint(settings: Settings) -> dict:
    """Return the settings an index depends on; a difference means it must be rebuilt.

    Which vectors it holds (float32, or int8 embedded text by text) is part of it, so an
    index is never mixed with vectors of another backend (see config.build_fingerprint).
    """
    return {"index_version": INDEX_VERSION, **build_fingerprint(settings)}


def embed_text(p: Passage, doc: Document) -> str:
    """The text a passage is embedded and BM25-indexed as: its section path, then its body."""
    body = doc.text[p.body_start : p.end]
    # a footnote is about its own subject, not the section it happened to fall in
    return f"{p.section}\n{body}" if p.section and p.kind is not PassageKind.FOOTNOTE else body


def objective_text(o: Objective) -> str:
    """The text an objective is embedded as: its heading, then its own words."""
    heading = o.section.heading
    return f"{heading}: {o.text}" if heading and heading not in o.text else o.text


def current_build(index_dir: Path) -> Path | None:
    """Return the folder of the build in use, or None if there is none."""
    pointer = index_dir / "CURRENT"
    if not pointer.exists():
        return None
    build = index_dir / "builds" / pointer.read_text().strip()
    return build if build.is_dir() else None


# ---------------------------------------------------------------------------- build


@contextmanager
def ingest_lock(index_dir: Path):
    """Hold the index folder's ingest lock, or raise IngestError if another ingest has it
    (the command line and an upload in the app, or two app servers, at the same time)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as held:
        try:
            held.enter_context(file_lock(index_dir / ".ingest.lock", wait=False))
        except LockBusyError as exc:
            raise IngestError(f"Another ingest is already running on {index_dir}; "
                              "try again when it has finished.") from exc
        yield


def build_index(settings: Settings, extra: list[Path] | None = None, embedder=None,
                show_progress: bool = False, progress=None) -> BuildReport:
    """(Re)build the index from the corpus folder and any extra files; return a report.

    Unreadable files are skipped with their reason; if nothing at all can be indexed the
    previous index is left untouched and IngestError is raised. `progress(fraction, text)`,
    if given, is called as work advances (the UI's progress bar). Only one ingest runs on
    an index folder at a time; a second one raises IngestError at once.
    """
    with ingest_lock(settings.index_dir):
        builds = settings.index_dir / "builds"
        for leftover in builds.glob(".*.partial") if builds.exists() else []:
            shutil.rmtree(leftover, ignore_errors=True)  # from a build that was killed
        return _build(settings, extra, embedder, show_progress, progress)


def _build(settings: Settings, extra: list[Path] | None, embedder, show_progress: bool,
           progress) -> BuildReport:
    t0 = time.perf_counter()
    report = BuildReport()
    notify = progress or (lambda fraction, text: None)
    # files the manifest describes win over unlisted copies of the same content
    sources = sorted(discover(settings.corpus_dir, extra), key=lambda src: not src.meta)
    if not sources:
        raise IngestError(f"No .pdf, .txt or .md files found in {settings.corpus_dir}.")
    cache = reusable_vectors(current_build(settings.index_dir),
                             settings_fingerprint(settings)["vectors"])
    embedding = Embedding(settings, embedder, cache, notify, show_progress)
    records = _Records()
    to_come = TextsToCome([src.path for src in sources], [file_size(src.path) for src in sources])
    notify(0.0, f"Reading {sources[0].path.name}")
    try:
        # the next document is read and analysed while this one is embedded (ONNX Runtime
        # releases the GIL, so the two share the cores)
        for n, doc, units in read_ahead(lambda: _documents(settings, sources, report)):
            first = len(records.passages), len(records.objectives)
            _add_document(records, doc, units, settings)
            report.indexed.append(doc.doc_id)
            embedding.add(_texts(records, *first).all, partial(to_come.after, n))
            if n + 1 < len(sources):
                notify(embedding.fraction, f"Read {n + 1} of {len(sources)} files")
    finally:
        embedding.close()
    if not records.docs:
        raise IngestError("None of the files could be ingested; the existing index is unchanged.")
    texts = _texts(records)
    keys = [text_key(t) for t in texts.all]
    report.embedded = embedding.embedded
    report.reused = len(set(keys)) - embedding.embedded
    notify(0.92, "Writing the index")
    build = _write_build(settings, records, _vectors(records, texts, keys, cache),
                         texts.passages, keys)
    _switch(settings.index_dir, build)
    report.passages = len(records.passages)
    report.seconds = time.perf_counter() - t0
    report.path = str(build)
    notify(1.0, "Done")
    return report


def _documents(settings: Settings, sources: list, report: BuildReport,
               ) -> Iterator[tuple[int, Document, list]]:
    """Read, clean and analyse each source in turn; yield (its position in `sources`, the
    document, its structural units). Unreadable files and second copies of a document are
    recorded in `report` as skipped. (Runs in the reading thread: it never calls back.)"""
    seen_hashes: dict[str, str] = {}
    taken: set[str] = set()
    for n, src in enumerate(sources):
        try:
            doc = load_document(src, max_bytes=settings.max_file_mb * 2**20)
        except IngestError as exc:
            report.skipped.append((src.path.name, str(exc)))
            logger.warning("%s", exc)
            continue
        if doc.sha256 in seen_hashes:
            reason = f"{src.path.name}: same content as {seen_hashes[doc.sha256]}; skipped."
            report.skipped.append((src.path.name, reason))
            continue
        seen_hashes[doc.sha256] = src.path.name
        doc.doc_id = _unique_id(doc.doc_id, taken)
        taken.add(doc.doc_id)
        yield n, doc, analyse(doc)
    # idle while the last file is embedded: import what writing the index needs (~2 s)
    import faiss  # noqa: F401
    import llama_index.retrievers.bm25  # noqa: F401
    import llama_index.vector_stores.faiss  # noqa: F401


def _add_document(records: _Records, doc: Document, units: list, settings: Settings) -> None:
    """Cut a read document into passages and catalogue its objectives, questions and
    provisions, appending them to `records`."""
    ps = chunk(doc, units, settings.max_passage_words, settings.pack_words)
    objs, qs = catalogue(doc, units, ps)
    records.docs.append(doc)
    records.by_id[doc.doc_id] = doc
    records.passages += ps
    records.objectives += objs
    records.questions += qs
    records.provisions += catalogue_provisions(doc, ps, objs, qs)


@dataclass
class _Texts:
    passages: list[str]
    sentences: list[str]
    objectives: list[str]
    headings: list[str]

    @property
    def all(self) -> list[str]:
        return self.passages + self.sentences + self.objectives + self.headings


def _texts(records: _Records, first_passage: int = 0, first_objective: int = 0) -> _Texts:
    """The texts an ingest embeds, in the order their vectors are stored, for the passages
    and objectives from the given positions on."""
    by_id = records.by_id
    passages = records.passages[first_passage:]
    objectives = records.objectives[first_objective:]
    return _Texts(
        passages=[embed_text(p, by_id[p.doc_id]) for p in passages],
        sentences=[by_id[p.doc_id].text[s:e] for p in passages for s, e in p.sentences],
        objectives=[objective_text(o) for o in objectives],
        headings=[o.section.heading or o.title for o in objectives])


def _vectors(records: _Records, texts: _Texts, keys: list[str],
             cache: dict[str, np.ndarray]) -> Vectors:
    matrix = np.stack([cache[k] for k in keys]).astype(np.float32)
    n_p, n_s, n_o = len(texts.passages), len(texts.sentences), len(texts.objectives)
    offsets = np.cumsum([0] + [len(p.sentences) for p in records.passages]).astype(np.int64)
    return Vectors(passages=matrix[:n_p], sentences=matrix[n_p : n_p + n_s],
                   sentence_offsets=offsets, objectives=matrix[n_p + n_s : n_p + n_s + n_o],
                   headings=matrix[n_p + n_s + n_o :])


def _unique_id(doc_id: str, taken: set[str]) -> str:
    n, candidate = 2, doc_id
    while candidate in taken:
        candidate, n = f"{doc_id}-{n}", n + 1
    return candidate


def _write_build(settings: Settings, records: _Records, vectors: Vectors,
                 passage_texts: list[str], keys: list[str]) -> Path:
    """Write a complete build beside the one in use (a `.partial` folder, renamed when whole)."""
    builds = settings.index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.time_ns() % 10**6}"
    tmp = builds / f".{name}.partial"
    tmp.mkdir()
    try:
        write_records(tmp, records.docs, records.passages, records.objectives,
                      records.questions, records.provisions, vectors, keys)
        store = make_faiss(vectors.passages, settings=settings)
        store.persist(persist_path=str(tmp / "faiss.index"))
        make_bm25([p.id for p in records.passages], passage_texts).persist(
            str(tmp / "bm25"), show_progress=False)
        manifest = {**_manifest(settings, records, vectors),
                    "faiss_index": type(store.client).__name__, "checksums": checksums(tmp)}
        _write_atomic(tmp / "manifest.json", json.dumps(manifest, indent=1))
        final = builds / name
        os.replace(tmp, final)
        fsync_dir(builds)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _manifest(settings: Settings, records: _Records, vectors: Vectors) -> dict:
    docs, passages = records.docs, records.passages
    per_doc: dict[str, int] = {}
    for p in passages:
        per_doc[p.doc_id] = per_doc.get(p.doc_id, 0) + 1
    return {
        **settings_fingerprint(settings),
        "dimension": int(vectors.passages.shape[1]),
        "model_path": str(settings.resolved_model_path()),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus_hash": hashlib.sha256(
            "".join(sorted(d.sha256 for d in docs)).encode()).hexdigest(),
        "corpus_files": _corpus_state(settings.corpus_dir),
        "documents": [{"doc_id": d.doc_id, "file": Path(d.path).name, "sha256": d.sha256,
                       "title": d.title, "pages": d.n_pages,
                       "passages": per_doc.get(d.doc_id, 0)} for d in docs],
        "counts": {"documents": len(docs), "passages": len(passages),
                   "sentences": int(vectors.sentence_offsets[-1]),
                   "objectives": len(records.objectives), "questions": len(records.questions)},
    }


def _switch(index_dir: Path, build: Path) -> None:
    """Make `build` the index in use, atomically, then remove older builds."""
    _write_atomic(index_dir / "CURRENT", build.name)
    for old in (index_dir / "builds").iterdir():
        if old.name != build.name:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------------------- changes


def _corpus_state(corpus_dir: Path) -> dict[str, dict]:
    state = {}
    for src in discover(corpus_dir) if corpus_dir.exists() else []:
        try:
            st = src.path.stat()
        except OSError:  # removed since it was listed
            continue
        state[src.path.name] = {"size": st.st_size, "mtime": st.st_mtime}
    return state


def corpus_changed(manifest: dict, corpus_dir: Path) -> list[str]:
    """Return the corpus files added, removed or changed since the index was built."""
    built = manifest.get("corpus_files", {})
    hashes = {d["file"]: d["sha256"] for d in manifest.get("documents", [])}
    now = _corpus_state(corpus_dir)
    changed = sorted(set(built) ^ set(now))
    for name in set(built) & set(now):
        a, b = built[name], now[name]
        if a["size"] != b["size"] or (a["mtime"] != b["mtime"] and name in hashes
                                      and sha256_file(corpus_dir / name) != hashes[name]):
            changed.append(name)
    return changed


# ---------------------------------------------------------------------------- load


def load_index(settings: Settings, verify: bool = True) -> IndexData:
    """Load the index in use. Raises IndexMissingError or IndexMismatchError, never guesses.

    If an ingest switches the index while it is being read (and removes the old build), the
    load starts again on the new one rather than reporting a sound index as damaged.
    """
    for _attempt in range(3):
        build = current_build(settings.index_dir)
        if build is None:
            raise IndexMissingError(
                f"No index found in {settings.index_dir}; run `assistant ingest` to build it."
            )
        try:
            return _load_build(settings, build, verify)
        except IndexMismatchError:
            if current_build(settings.index_dir) == build:
                raise
            logger.info("the index was switched while loading; loading the new one")
    return _load_build(settings, current_build(settings.index_dir) or build, verify)


def _load_build(settings: Settings, build: Path, verify: bool) -> IndexData:
    manifest = checked_manifest(build, settings_fingerprint(settings), verify)
    return read_build(build, manifest)
