"""Build, save and load the index: a folder of plain files plus a manifest.

Layout of `index/`:
    CURRENT                 name of the build in use (replaced atomically)
    builds/<name>/          one complete build:
        manifest.json       model, dimension, settings, corpus files, counts, checksums
        documents.jsonl     clean text, page points and metadata of each document
        passages.jsonl      passages with offsets, sections, paragraphs, pages, sentences
        objectives.jsonl    the objective catalogue;  questions.jsonl: consultation questions
        passage_vectors.npy, sentence_vectors.npy
                            passage and sentence vectors (float16, unit length), memory-mapped
                            at load, so a large index costs page cache rather than heap
        vectors.npz         objective and heading vectors (float32), sentence offsets
        faiss.index         dense index (llama-index FaissVectorStore)
        bm25/               lexical index (llama-index BM25Retriever)

A build is written aside and only then made CURRENT, so a failed or killed build never
damages the index in use. Vectors of unchanged text are reused, never re-embedded.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.config import Settings, build_fingerprint
from assistant.errors import IndexMismatchError, IndexMissingError, IngestError
from assistant.files import fsync_dir
from assistant.files import write_atomic as _write_atomic
from assistant.ingest.clean import discover, load_document
from assistant.ingest.passages import catalogue, chunk
from assistant.ingest.structure import analyse
from assistant.search.provisions import catalogue_provisions
from assistant.search.stores import load_bm25, make_bm25, make_faiss
from assistant.types import ConsultationQuestion, Document, Objective, Passage, Provision

logger = logging.getLogger(__name__)

INDEX_VERSION = 3
# Passage and sentence vectors are stored at half precision: cosines move by ~1e-4 (below
# the evaluation's resolution), memory and disk by half (BENCHMARKS.md, "Scale").
STORED_VECTORS = np.float16
VECTOR_FILES = ("passage_vectors.npy", "sentence_vectors.npy")


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
class IndexData:
    manifest: dict
    documents: dict[str, Document]
    passages: list[Passage]
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sentence_offsets: np.ndarray  # passage i's sentences are rows [off[i], off[i+1])
    objectives: list[Objective]
    objective_vectors: np.ndarray  # objective text under its heading
    heading_vectors: np.ndarray  # the objective's own heading alone
    questions: list[ConsultationQuestion]
    vector_store: object  # llama_index FaissVectorStore
    bm25: object  # llama_index BM25Retriever
    path: Path
    by_id: dict[str, int] = field(default_factory=dict)
    provisions: list[Provision] = field(default_factory=list)  # every kind, document order
    # the Store searched (assistant.stores.Store); None: the FAISS + BM25 files above
    store: object | None = None

    def __post_init__(self) -> None:
        self.by_id = {p.id: i for i, p in enumerate(self.passages)}

    def passage(self, passage_id: str) -> Passage:
        return self.passages[self.by_id[passage_id]]


def settings_fingerprint(settings: Settings) -> dict:
    """Return the settings an index depends on; a difference means it must be rebuilt.

    The PyTorch and ONNX backends give the same vectors; the int8 model gives others, so
    an index built with it is never mixed with float32 vectors (nor its vectors reused).
    """
    return {"index_version": INDEX_VERSION, **build_fingerprint(settings)}


def embed_text(p: Passage, doc: Document) -> str:
    """The text a passage is embedded and BM25-indexed as: its section path, then its body."""
    body = doc.text[p.body_start : p.end]
    # a footnote is about its own subject, not the section it happened to fall in
    return f"{p.section}\n{body}" if p.section and p.kind != "footnote" else body


def objective_text(o: Objective) -> str:
    """The text an objective is embedded as: its heading, then its own words."""
    heading = o.section.split(" > ")[-1]
    return f"{heading}: {o.text}" if heading and heading not in o.text else o.text


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk_ in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk_)
    return h.hexdigest()


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
    handle = open(index_dir / ".ingest.lock", "a+")  # noqa: SIM115 (held until the end)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise IngestError(f"Another ingest is already running on {index_dir}; "
                          "try again when it has finished.") from exc
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


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
    docs: list[Document] = []
    seen_hashes: dict[str, str] = {}
    for n, src in enumerate(sources):
        notify(0.3 * n / len(sources), f"Reading {src.path.name}")
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
        doc.doc_id = _unique_id(doc.doc_id, {d.doc_id for d in docs})
        docs.append(doc)
    if not docs:
        raise IngestError("None of the files could be ingested; the existing index is unchanged.")

    passages: list[Passage] = []
    objectives: list[Objective] = []
    questions: list[ConsultationQuestion] = []
    provisions: list[Provision] = []
    for doc in docs:
        units = analyse(doc)
        ps = chunk(doc, units, settings.max_passage_words, settings.pack_words)
        objs, qs = catalogue(doc, units, ps)
        passages += ps
        objectives += objs
        questions += qs
        provisions += catalogue_provisions(doc, ps, objs, qs)
        report.indexed.append(doc.doc_id)
    by_doc = {d.doc_id: d for d in docs}

    passage_texts = [embed_text(p, by_doc[p.doc_id]) for p in passages]
    sentence_texts = [by_doc[p.doc_id].text[s:e] for p in passages for s, e in p.sentences]
    objective_texts = [objective_text(o) for o in objectives]
    heading_texts = [o.section.split(" > ")[-1] or o.title for o in objectives]
    all_texts = passage_texts + sentence_texts + objective_texts + heading_texts
    cache = _load_cache(settings.index_dir, settings_fingerprint(settings)["vectors"])
    keys = [_key(t) for t in all_texts]
    missing = sorted({k: t for k, t in zip(keys, all_texts, strict=True) if k not in cache}.items())
    report.reused = len(set(keys)) - len(missing)
    report.embedded = len(missing)
    if missing:
        if embedder is None:
            from assistant.search.embed import embedder_for

            embedder = embedder_for(settings)
        notify(0.3, f"Embedding {len(missing)} texts")
        vectors = embedder.embed_batch([t for _, t in missing], show_progress=show_progress,
                                       progress=_embedding_progress(notify))
        cache.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
    dim = next(iter(cache.values())).shape[0]
    matrix = np.stack([cache[k] for k in keys]).astype(np.float32)
    n_p, n_s, n_o = len(passage_texts), len(sentence_texts), len(objective_texts)
    offsets = np.cumsum([0] + [len(p.sentences) for p in passages]).astype(np.int64)

    notify(0.92, "Writing the index")
    build = _write_build(settings, docs, passages, objectives, questions, provisions,
                         matrix[:n_p], matrix[n_p : n_p + n_s], offsets,
                         matrix[n_p + n_s : n_p + n_s + n_o], matrix[n_p + n_s + n_o :],
                         passage_texts, keys, dim)
    _switch(settings.index_dir, build)
    report.passages = len(passages)
    report.seconds = time.perf_counter() - t0
    report.path = str(build)
    notify(1.0, "Done")
    return report


def _embedding_progress(notify):
    """A (done, total) callback that reports texts/s and the time left through `notify`."""
    start = time.perf_counter()

    def report(done: int, total: int) -> None:
        rate = done / max(time.perf_counter() - start, 1e-6)
        left = (total - done) / rate if rate else 0.0
        notify(0.3 + 0.6 * done / total,
               f"Embedding {done}/{total} texts, {rate:.0f} texts/s, about {left:.0f} s left")

    return report


def _unique_id(doc_id: str, taken: set[str]) -> str:
    n, candidate = 2, doc_id
    while candidate in taken:
        candidate, n = f"{doc_id}-{n}", n + 1
    return candidate


def _load_cache(index_dir: Path, vectors: str = "float32") -> dict[str, np.ndarray]:
    """Vectors of the index in use, keyed by a hash of their text (empty if unusable: a
    vector is only reused from files whose checksums match their manifest)."""
    build = current_build(index_dir)
    if build is None:
        return {}
    try:
        manifest = json.loads((build / "manifest.json").read_text())
        if manifest.get("vectors", "float32") != vectors:
            return {}
        checksums = manifest["checksums"]
        for name in ("cache_keys.json", "vectors.npz", *VECTOR_FILES):
            if _sha256(build / name) != checksums[name]:
                raise ValueError(f"{name} does not match its checksum")
        keys = json.loads((build / "cache_keys.json").read_text())
        with np.load(build / "vectors.npz") as z:
            matrix = np.concatenate([*(np.load(build / f).astype(np.float32)
                                       for f in VECTOR_FILES),
                                     z["objectives"], z["objective_headings"]])
        if len(keys) != len(matrix):
            return {}
        return dict(zip(keys, matrix, strict=True))
    except Exception as exc:  # any damage means: embed again, never reuse
        logger.info("previous vectors not reusable (%s); embedding everything", exc)
        return {}


def _write_build(settings: Settings, docs, passages, objectives, questions, provisions,
                 p_vecs, s_vecs,
                 offsets, o_vecs, h_vecs, passage_texts, keys, dim) -> Path:
    builds = settings.index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.time_ns() % 10**6}"
    tmp = builds / f".{name}.partial"
    tmp.mkdir()
    try:
        _jsonl(tmp / "documents.jsonl",
               [{**d.meta(), "text": d.text, "page_points": d.page_points} for d in docs])
        _jsonl(tmp / "passages.jsonl", [p.to_dict() for p in passages])
        _jsonl(tmp / "objectives.jsonl", [o.to_dict() for o in objectives])
        _jsonl(tmp / "questions.jsonl", [q.to_dict() for q in questions])
        _jsonl(tmp / "provisions.jsonl", [p.to_dict() for p in provisions])
        for file, vecs in zip(VECTOR_FILES, (p_vecs, s_vecs), strict=True):
            np.save(tmp / file, np.ascontiguousarray(vecs, dtype=STORED_VECTORS))
        np.savez(tmp / "vectors.npz", objectives=o_vecs, objective_headings=h_vecs,
                 sentence_offsets=offsets)
        (tmp / "cache_keys.json").write_text(json.dumps(keys))
        store = make_faiss(p_vecs, settings=settings)
        store.persist(persist_path=str(tmp / "faiss.index"))
        make_bm25([p.id for p in passages], passage_texts).persist(str(tmp / "bm25"),
                                                                  show_progress=False)
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {
            **settings_fingerprint(settings),
            "dimension": int(dim),
            "model_path": str(settings.resolved_model_path()),
            "faiss_index": type(store.client).__name__,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "corpus_hash": hashlib.sha256(
                "".join(sorted(d.sha256 for d in docs)).encode()).hexdigest(),
            "corpus_files": _corpus_state(settings.corpus_dir),
            "documents": [{"doc_id": d.doc_id, "file": Path(d.path).name, "sha256": d.sha256,
                           "title": d.title, "pages": d.n_pages,
                           "passages": sum(p.doc_id == d.doc_id for p in passages)}
                          for d in docs],
            "counts": {"documents": len(docs), "passages": len(passages),
                       "sentences": int(offsets[-1]), "objectives": len(objectives),
                       "questions": len(questions)},
            "checksums": {str(p.relative_to(tmp)): _sha256(p) for p in files},
        }
        _write_atomic(tmp / "manifest.json", json.dumps(manifest, indent=1))
        final = builds / name
        os.replace(tmp, final)
        fsync_dir(builds)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _switch(index_dir: Path, build: Path) -> None:
    """Make `build` the index in use, atomically, then remove older builds."""
    _write_atomic(index_dir / "CURRENT", build.name)
    for old in (index_dir / "builds").iterdir():
        if old.name != build.name:
            shutil.rmtree(old, ignore_errors=True)


def _jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _corpus_state(corpus_dir: Path) -> dict[str, dict]:
    state = {}
    for src in discover(corpus_dir) if corpus_dir.exists() else []:
        try:
            st = src.path.stat()
        except OSError:  # removed since it was listed
            continue
        state[src.path.name] = {"size": st.st_size, "mtime": st.st_mtime}
    return state


# ---------------------------------------------------------------------------- load


def corpus_changed(manifest: dict, corpus_dir: Path) -> list[str]:
    """Return the corpus files added, removed or changed since the index was built."""
    built = manifest.get("corpus_files", {})
    hashes = {d["file"]: d["sha256"] for d in manifest.get("documents", [])}
    now = _corpus_state(corpus_dir)
    changed = sorted(set(built) ^ set(now))
    for name in set(built) & set(now):
        a, b = built[name], now[name]
        if a["size"] != b["size"] or (a["mtime"] != b["mtime"] and name in hashes
                                      and _sha256(corpus_dir / name) != hashes[name]):
            changed.append(name)
    return changed


REQUIRED_FILES = ("documents.jsonl", "passages.jsonl", "objectives.jsonl", "questions.jsonl",
                  "vectors.npz", *VECTOR_FILES, "cache_keys.json", "faiss.index")


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
    from llama_index.vector_stores.faiss import FaissVectorStore

    try:
        manifest = json.loads((build / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(
            f"The index manifest in {build} is unreadable; run `assistant ingest` to rebuild."
        ) from exc
    expected = settings_fingerprint(settings)
    differs = [k for k, v in expected.items() if manifest.get(k) != v]
    if differs:
        raise IndexMismatchError(
            f"The index was built with different settings ({', '.join(differs)}); "
            "run `assistant ingest` to rebuild it."
        )
    checksums = manifest.get("checksums") or {}
    unlisted = [f for f in REQUIRED_FILES if f not in checksums]
    if unlisted or not any(k.startswith("bm25/") for k in checksums):
        raise IndexMismatchError(
            f"The index manifest in {build} does not vouch for {', '.join(unlisted) or 'bm25'}; "
            "run `assistant ingest` to rebuild the index."
        )
    if verify:
        for rel, digest in checksums.items():
            try:
                intact = _sha256(build / rel) == digest
            except OSError:  # missing, or removed by a switch while we read
                intact = False
            if not intact:
                raise IndexMismatchError(
                    f"The index file {rel} is damaged or was changed; "
                    "run `assistant ingest` to rebuild the index."
                )
    try:
        docs = {}
        for row in _read_jsonl(build / "documents.jsonl"):
            row["page_points"] = [tuple(x) for x in row["page_points"]]
            row.setdefault("blocks", [])
            docs[row["doc_id"]] = Document(**row)
        passages = [Passage.from_dict(r) for r in _read_jsonl(build / "passages.jsonl")]
        objectives = [Objective(**r) for r in _read_jsonl(build / "objectives.jsonl")]
        questions = [ConsultationQuestion(**r) for r in _read_jsonl(build / "questions.jsonl")]
        provisions = ([Provision.from_dict(r) for r in _read_jsonl(build / "provisions.jsonl")]
                      if (build / "provisions.jsonl").exists() else [])
        p_vecs, s_vecs = (np.load(build / f, mmap_mode="r") for f in VECTOR_FILES)
        with np.load(build / "vectors.npz") as z:
            o_vecs, offsets = z["objectives"], z["sentence_offsets"]
            h_vecs = z["objective_headings"]
        store = FaissVectorStore.from_persist_path(str(build / "faiss.index"))
        bm25 = load_bm25(build / "bm25")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexMismatchError(
            f"The index in {build} could not be read ({type(exc).__name__}); "
            "run `assistant ingest` to rebuild it."
        ) from exc
    if store.client.ntotal != len(passages) or len(p_vecs) != len(passages):
        raise IndexMismatchError("The index files disagree on the number of passages; "
                                 "run `assistant ingest` to rebuild it.")
    return IndexData(manifest=manifest, documents=docs, passages=passages,
                     passage_vectors=p_vecs, sentence_vectors=s_vecs, sentence_offsets=offsets,
                     objectives=objectives, objective_vectors=o_vecs,
                     heading_vectors=h_vecs, questions=questions,
                     vector_store=store, bm25=bm25, path=build, provisions=provisions)
