"""Scale: the shipped corpus plus N synthetic passages, through the real code.

Run once per size in its own process (so memory figures are its own):
    python -m bench.scale --n 100000 --base-index DIR

What is synthetic, and how:
- vectors: each synthetic passage vector is a random mix of two real passage/sentence vectors
  of the shipped corpus plus Gaussian noise (sigma 0.03 a dimension), normalised; so they
  sit where real embeddings sit, not uniformly on the sphere;
- texts (for BM25): two random real sentences of the corpus plus a unique record number;
  a synthetic passage has one sentence, whose vector is the passage's own;
- questions: the benchmark's real questions, embedded by the real model.

Measured: for exact FAISS, IVF (8-bit codes) and HNSW (`make_faiss(kind=...)`): build time,
index bytes, resident memory added, single-question search latency for the 50 candidates the
retriever asks for, and recall@10 against exact search. Then the index `make_faiss` picks
for this size and `make_bm25` are written to disk with float16 vectors, as an ingest writes
them, and a fresh query process loads them as `load_index` does (vectors and BM25 memory-
mapped) into an `IndexData` of real + synthetic passages, under the real `Retriever.search`
and `Assistant.ask`: warm latency and that process's memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
from pathlib import Path

import numpy as np

from bench.common import Timer, peak_rss_mib, rss_mib, rss_split_mib, summary_ms

DIM_NOISE = 0.03


def synthetic_vectors(base: np.ndarray, out: np.ndarray, seed: int = 0) -> None:
    """Fill `out` (n, dim) with normalised mixes of two rows of `base` plus noise."""
    rng = np.random.default_rng(seed)
    step = 100_000
    for lo in range(0, len(out), step):
        hi = min(len(out), lo + step)
        i = rng.integers(0, len(base), hi - lo)
        j = rng.integers(0, len(base), hi - lo)
        w = rng.uniform(0.3, 0.7, (hi - lo, 1)).astype(np.float32)
        v = w * base[i] + (1 - w) * base[j]
        v += rng.normal(0, DIM_NOISE, v.shape).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        out[lo:hi] = v


def _search_ms(index, queries: np.ndarray, k: int = 50) -> list[float]:
    times = []
    for q in queries:
        with Timer() as t:
            index.search(q[None, :], k)
        times.append(t.ms)
    return times


def faiss_table(vectors: np.ndarray, queries: np.ndarray, kinds: list[str],
                exact_queries: int) -> tuple[dict, dict]:
    """Figures per FAISS index kind, and the built stores (exact dropped after use)."""
    import faiss

    from assistant.search.stores import make_faiss

    table, stores, truth = {}, {}, None
    for kind in kinds:
        gc.collect()
        before = rss_mib()
        with Timer() as build:
            store = make_faiss(vectors, kind=kind)
        index = store.client
        added = rss_mib() - before
        qs = queries[:exact_queries] if kind == "exact" else queries
        lat = _search_ms(index, qs)
        _, found = index.search(queries, 10)
        if kind == "exact":
            truth = found
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found,
                                                                              strict=True)]))
        table[kind] = {"type": type(index).__name__, "build_s": build.s,
                       "bytes": int(faiss.serialize_index(index).nbytes),
                       "rss_added_mib": added, "search_ms": summary_ms(lat),
                       "recall@10": recall}
        stores[kind] = store
    return table, stores


def synthetic_passages(real, n: int, seed: int = 1):
    """n synthetic Passages in documents of 1,000, with their texts; (passages, docs, texts)."""
    from assistant.types import Document, Passage

    sentences = [real.documents[p.doc_id].text[s:e] for p in real.passages
                 for s, e in p.sentences]
    rng = random.Random(seed)
    passages, documents, texts = [], {}, []
    per_doc = 1000
    for d in range(0, n, per_doc):
        doc_id = f"synthetic-{d // per_doc:05d}"
        parts, pos, doc_passages = [], 0, []
        for i in range(d, min(n, d + per_doc)):
            text = f"{rng.choice(sentences)} {rng.choice(sentences)} (Record {i}.)"
            start, end = pos, pos + len(text)
            doc_passages.append(Passage(id=f"syn{i:07d}", doc_id=doc_id, kind="paragraph",
                                        section="", paragraph=None, page=None, start=start,
                                        end=end, text=text, body_start=start,
                                        sentences=[(start, end)]))
            parts.append(text)
            texts.append(text)
            pos = end + 2
        documents[doc_id] = Document(doc_id=doc_id, title=f"Synthetic {doc_id}",
                                     text="\n\n".join(parts), short_title=doc_id)
        passages += doc_passages
    return passages, documents, texts


def build(n: int, base_index: Path, questions: list[str], kinds: list[str], work: Path) -> dict:
    """Make the synthetic corpus's search files in `work` as an ingest would write them
    (float16 vectors, FAISS index, BM25 index), measuring FAISS kinds on the way."""
    from assistant.search.embed import embedder_for
    from assistant.search.index import STORED_VECTORS, embed_text, load_index
    from assistant.search.stores import EXACT_SEARCH_MAX, make_bm25, make_faiss
    from assistant.text import lexicon, write_lexicon
    from bench.common import bench_settings

    settings = bench_settings(base_index)
    real = load_index(settings)
    queries = embedder_for(settings).embed_batch(questions)
    n_real = len(real.passages)
    with Timer() as gen:
        vectors = np.empty((n_real + n, real.passage_vectors.shape[1]), dtype=np.float32)
        vectors[:n_real] = real.passage_vectors
        base = np.concatenate([real.passage_vectors, real.sentence_vectors]).astype(np.float32)
        synthetic_vectors(base, vectors[n_real:])
    exact_queries = len(queries) if n <= 100_000 else min(len(queries), 50)
    table, stores = faiss_table(vectors, queries, kinds, exact_queries)
    chosen = "exact" if n_real + n <= EXACT_SEARCH_MAX else "ivf"
    store = stores.pop(chosen, None) or make_faiss(vectors)
    stores.clear()
    work.mkdir(parents=True, exist_ok=True)
    store.persist(persist_path=str(work / "faiss.index"))
    np.save(work / "passage_vectors.npy", vectors.astype(STORED_VECTORS))
    np.save(work / "sentence_vectors.npy", np.concatenate(
        [real.sentence_vectors, vectors[n_real:]]).astype(STORED_VECTORS))
    del vectors, store
    gc.collect()
    with Timer() as texts_t:
        syn_passages, syn_docs, syn_texts = synthetic_passages(real, n)
    with Timer() as lexicon_t:  # as an ingest writes it (assistant.text.lexicon)
        write_lexicon(work / "lexicon.json",
                      lexicon([*real.documents.values(), *syn_docs.values()]))
    real_texts = [embed_text(p, real.documents[p.doc_id]) for p in real.passages]
    with Timer() as bm25_t:
        bm25 = make_bm25([p.id for p in real.passages] + [p.id for p in syn_passages],
                         real_texts + syn_texts)
    scores = getattr(bm25.bm25, "scores", {}) or {}
    bm25_arrays = sum(getattr(v, "nbytes", 0) for v in scores.values()) / 2**20
    bm25.persist(str(work / "bm25"), show_progress=False)
    return {"n_synthetic": n, "n_passages": n_real + n, "generate_s": gen.s, "faiss": table,
            "chosen_index": chosen, "passages_build_s": texts_t.s, "lexicon_s": lexicon_t.s,
            "bm25": {"build_s": bm25_t.s, "bm25s_arrays_mib": bm25_arrays},
            "build_peak_rss_mib": peak_rss_mib()}


def query(n: int, base_index: Path, questions: list[str], ask_questions: int,
          work: Path) -> dict:
    """A fresh query process over the files `build` wrote, loaded as `load_index` loads an
    index (vectors and BM25 memory-mapped): its memory, and warm retrieval/ask latency."""
    from assistant.pipeline import Assistant
    from assistant.search.embed import embedder_for
    from assistant.search.index import IndexData, load_index
    from assistant.search.persist import mapped_vectors
    from assistant.search.stores import load_bm25
    from assistant.text import read_lexicon
    from bench.common import bench_settings

    settings = bench_settings(base_index)
    real = load_index(settings)
    embedder = embedder_for(settings)
    embedder.embed_batch(questions[:4])
    gc.collect()
    start_rss = rss_mib()
    with Timer() as load:
        from llama_index.vector_stores.faiss import FaissVectorStore

        store = FaissVectorStore.from_persist_path(str(work / "faiss.index"))
        faiss_mib = rss_mib() - start_rss
        vectors = mapped_vectors(work / "passage_vectors.npy")
        sentence_vectors = mapped_vectors(work / "sentence_vectors.npy")
        before = rss_mib()
        bm25 = load_bm25(work / "bm25")
        bm25_mib = rss_mib() - before
        before = rss_mib()
        syn_passages, syn_docs, _ = synthetic_passages(real, n)
        passages_mib = rss_mib() - before
        lex = read_lexicon(work / "lexicon.json")
    last = int(real.sentence_offsets[-1])
    offsets = np.concatenate([real.sentence_offsets,
                              last + np.arange(1, n + 1, dtype=np.int64)])
    index = IndexData(manifest={**real.manifest, "faiss_index": type(store.client).__name__},
                      documents={**real.documents, **syn_docs},
                      passages=real.passages + syn_passages, passage_vectors=vectors,
                      sentence_vectors=sentence_vectors, sentence_offsets=offsets,
                      objectives=real.objectives, objective_vectors=real.objective_vectors,
                      heading_vectors=real.heading_vectors, questions=real.questions,
                      vector_store=store, bm25=bm25, path=real.path, lexicon=lex)
    with Timer() as init:
        assistant = Assistant(settings, index=index, embedder=embedder)
    gc.collect()
    loaded_rss, loaded_split = rss_mib(), rss_split_mib()
    timings = _latencies(assistant, embedder, questions[:ask_questions], settings.k)
    return {
        "chosen_type": type(store.client).__name__, "load_s": load.s,
        "assistant_init_s": init.s, **timings,
        "memory": {"process_rss_mib": loaded_rss, "after_questions_rss_mib": rss_mib(),
                   "split_after_load_mib": loaded_split,
                   "split_after_questions_mib": rss_split_mib(),
                   "before_corpus_rss_mib": start_rss, "peak_rss_mib": peak_rss_mib(),
                   "passage_vectors_mib": vectors.nbytes / 2**20,
                   "sentence_vectors_mib": sentence_vectors.nbytes / 2**20,
                   "faiss_mib": faiss_mib, "bm25_mib": bm25_mib,
                   "passages_mib": passages_mib},
    }


def _latencies(assistant, embedder, asked: list[str], k: int) -> dict:
    from bench.query import _fresh

    for q in asked[:5]:
        assistant.ask(q)
    retrieval, ask, steps = [], [], {}
    for q in asked:
        _fresh(embedder)
        with Timer() as t:
            assistant.retriever.search(assistant.query(q), k)
        retrieval.append(t.ms)
        _fresh(embedder)
        with Timer() as t:
            answer = assistant.ask(q)
        ask.append(t.ms)
        for key, value in answer.timings_ms.items():
            steps.setdefault(key, []).append(value)
    return {"retrieval_ms": summary_ms(retrieval), "ask_ms": summary_ms(ask),
            "ask_steps_mean_ms": {k: float(np.mean(v)) for k, v in steps.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, required=True, help="synthetic passages to add")
    p.add_argument("--base-index", type=Path, required=True)
    p.add_argument("--kinds", default="exact,ivf,hnsw")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--ask-questions", type=int, default=200)
    p.add_argument("--work", type=Path, default=None,
                   help="folder for the synthetic index files (default: a fresh temporary one)")
    p.add_argument("--query-only", action="store_true",
                   help="measure the query process over files an earlier run left in --work")
    args = p.parse_args(argv)
    from bench.common import question_set, run_child, workspace

    questions = question_set()[: args.questions]
    work = args.work or workspace(f"scale-{args.n}")
    if args.query_only:
        print(json.dumps(query(args.n, args.base_index, questions, args.ask_questions, work)))
        return 0
    result = build(args.n, args.base_index, questions, args.kinds.split(","), work)
    # the query process is a fresh one, as after an ingest: the build's memory is not in it
    result.update(run_child(["-m", "bench.scale", "--n", str(args.n), "--base-index",
                             str(args.base_index), "--questions", str(args.questions),
                             "--ask-questions", str(args.ask_questions), "--work", str(work),
                             "--query-only"], timeout=7200))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
