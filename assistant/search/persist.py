"""The files of one index build: writing them, checking them against the manifest, reading
them back, and reusing the vectors of the build in use (see assistant/search/index.py for the
folder layout and for when a build is written and switched to)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.errors import IndexMismatchError
from assistant.text import lexicon, read_lexicon, write_lexicon
from assistant.types import ConsultationQuestion, Document, Objective, Passage, Provision

logger = logging.getLogger(__name__)

# Passage and sentence vectors are stored at half precision: cosines move by ~1e-4 (below
# the evaluation's resolution), memory and disk by half (BENCHMARKS.md, "Scale").
STORED_VECTORS = np.float16
VECTOR_FILES = ("passage_vectors.npy", "sentence_vectors.npy")
REQUIRED_FILES = ("documents.jsonl", "passages.jsonl", "objectives.jsonl", "questions.jsonl",
                  "vectors.npz", *VECTOR_FILES, "cache_keys.json", "faiss.index")


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
    # the documents' words and words of capitals (assistant.text.lexicon); None: not stored
    lexicon: dict | None = None

    def __post_init__(self) -> None:
        self.by_id = {p.id: i for i, p in enumerate(self.passages)}

    def passage(self, passage_id: str) -> Passage:
        return self.passages[self.by_id[passage_id]]


@dataclass
class Vectors:
    """The vectors of one build, row-aligned with its passages, sentences and objectives."""

    passages: np.ndarray
    sentences: np.ndarray
    sentence_offsets: np.ndarray
    objectives: np.ndarray
    headings: np.ndarray


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_records(folder: Path, docs: list[Document], passages: list[Passage],
                  objectives: list[Objective], questions: list[ConsultationQuestion],
                  provisions: list[Provision], vectors: Vectors, keys: list[str]) -> None:
    """Write every file of a build but the FAISS and BM25 indexes and the manifest."""
    write_jsonl(folder / "documents.jsonl",
                [{**d.meta(), "text": d.text, "page_points": d.page_points} for d in docs])
    write_jsonl(folder / "passages.jsonl", [p.to_dict() for p in passages])
    write_jsonl(folder / "objectives.jsonl", [o.to_dict() for o in objectives])
    write_jsonl(folder / "questions.jsonl", [q.to_dict() for q in questions])
    write_jsonl(folder / "provisions.jsonl", [p.to_dict() for p in provisions])
    for file, vecs in zip(VECTOR_FILES, (vectors.passages, vectors.sentences), strict=True):
        np.save(folder / file, np.ascontiguousarray(vecs, dtype=STORED_VECTORS))
    np.savez(folder / "vectors.npz", objectives=vectors.objectives,
             objective_headings=vectors.headings, sentence_offsets=vectors.sentence_offsets)
    (folder / "cache_keys.json").write_text(json.dumps(keys))
    write_lexicon(folder / "lexicon.json", lexicon(docs))


def checksums(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder`, by path relative to it."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): sha256_file(p) for p in files}


def mapped_vectors(path: Path) -> np.ndarray:
    """A .npy vector file memory-mapped for random reads. Questions score scattered rows;
    with the kernel's read-ahead each row read would page in (and count against the
    process) the ~100 rows around it: at a million sentences, 2,000 sampled rows took
    450 MiB."""
    vectors = np.load(path, mmap_mode="r")
    with contextlib.suppress(AttributeError, OSError, ValueError):  # no madvise here
        vectors._mmap.madvise(mmap.MADV_RANDOM)
    return vectors


def reusable_vectors(build: Path | None, vectors: str = "float32") -> dict[str, np.ndarray]:
    """Vectors of a build, keyed by a hash of their text (empty if unusable: a vector is
    only reused from files whose checksums match their manifest, made by the same model)."""
    if build is None:
        return {}
    try:
        manifest = json.loads((build / "manifest.json").read_text())
        if manifest.get("vectors", "float32") != vectors:
            return {}
        sums = manifest["checksums"]
        for name in ("cache_keys.json", "vectors.npz", *VECTOR_FILES):
            if sha256_file(build / name) != sums[name]:
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


def checked_manifest(build: Path, expected: dict, verify: bool) -> dict:
    """The build's manifest, once it is known to match `expected` settings and to vouch for
    every file (and, if `verify`, every file's checksum matches); else IndexMismatchError."""
    try:
        manifest = json.loads((build / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(
            f"The index manifest in {build} is unreadable; run `assistant ingest` to rebuild."
        ) from exc
    differs = [k for k, v in expected.items() if manifest.get(k) != v]
    if differs:
        raise IndexMismatchError(
            f"The index was built with different settings ({', '.join(differs)}); "
            "run `assistant ingest` to rebuild it."
        )
    sums = manifest.get("checksums") or {}
    unlisted = [f for f in REQUIRED_FILES if f not in sums]
    if unlisted or not any(k.startswith("bm25/") for k in sums):
        raise IndexMismatchError(
            f"The index manifest in {build} does not vouch for {', '.join(unlisted) or 'bm25'}; "
            "run `assistant ingest` to rebuild the index."
        )
    for rel, digest in sums.items() if verify else ():
        try:
            intact = sha256_file(build / rel) == digest
        except OSError:  # missing, or removed by a switch while we read
            intact = False
        if not intact:
            raise IndexMismatchError(
                f"The index file {rel} is damaged or was changed; "
                "run `assistant ingest` to rebuild the index."
            )
    return manifest


def read_build(build: Path, manifest: dict) -> IndexData:
    """Read a build whose manifest was checked: records as objects, the passage and
    sentence vectors memory-mapped, FAISS and BM25 loaded."""
    from llama_index.vector_stores.faiss import FaissVectorStore

    from assistant.search.stores import load_bm25

    try:
        docs = {}
        for row in read_jsonl(build / "documents.jsonl"):
            row["page_points"] = [tuple(x) for x in row["page_points"]]
            row.setdefault("blocks", [])
            docs[row["doc_id"]] = Document(**row)
        passages = [Passage.from_dict(r) for r in read_jsonl(build / "passages.jsonl")]
        objectives = [Objective(**r) for r in read_jsonl(build / "objectives.jsonl")]
        questions = [ConsultationQuestion(**r) for r in read_jsonl(build / "questions.jsonl")]
        provisions = ([Provision.from_dict(r) for r in read_jsonl(build / "provisions.jsonl")]
                      if (build / "provisions.jsonl").exists() else [])
        lex = (read_lexicon(build / "lexicon.json")
               if (build / "lexicon.json").exists() else None)  # older builds: made at load
        p_vecs, s_vecs = (mapped_vectors(build / f) for f in VECTOR_FILES)
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
                     vector_store=store, bm25=bm25, path=build, provisions=provisions,
                     lexicon=lex)
