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
for this size, with `make_bm25`, in an `IndexData` holding real + synthetic passages, under
the real `Retriever.search` and `Assistant.ask`: warm latency and the process's memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
from pathlib import Path

import numpy as np

from bench.common import Timer, peak_rss_mib, rss_mib, summary_ms

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

    from assistant.stores import make_faiss

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


def run(n: int, base_index: Path, questions: list[str], kinds: list[str],
        ask_questions: int) -> dict:
    from assistant.answer import Assistant
    from assistant.embedding import get_embedder
    from assistant.index import IndexData, embed_text, load_index
    from assistant.stores import EXACT_SEARCH_MAX, make_bm25
    from bench.common import bench_settings

    settings = bench_settings(base_index)
    real = load_index(settings)
    embedder = get_embedder(settings.resolved_model_path(), settings.batch_size)
    queries = embedder.embed_batch(questions)
    n_real = len(real.passages)
    start_rss = rss_mib()

    with Timer() as gen:
        vectors = np.empty((n_real + n, real.passage_vectors.shape[1]), dtype=np.float32)
        vectors[:n_real] = real.passage_vectors
        base = np.concatenate([real.passage_vectors, real.sentence_vectors])
        synthetic_vectors(base, vectors[n_real:])
    exact_queries = len(queries) if n <= 100_000 else min(len(queries), 50)
    table, stores = faiss_table(vectors, queries, kinds, exact_queries)
    chosen = "exact" if n_real + n <= EXACT_SEARCH_MAX else "ivf"
    store = stores.get(chosen)
    for kind in list(stores):
        if kind != chosen:
            del stores[kind]
    gc.collect()
    if store is None:
        from assistant.stores import make_faiss

        store = make_faiss(vectors)

    with Timer() as texts_t:
        syn_passages, syn_docs, syn_texts = synthetic_passages(real, n)
    real_texts = [embed_text(p, real.documents[p.doc_id]) for p in real.passages]
    before = rss_mib()
    with Timer() as bm25_t:
        bm25 = make_bm25([p.id for p in real.passages] + [p.id for p in syn_passages],
                         real_texts + syn_texts)
    bm25_mib = rss_mib() - before
    scores = getattr(bm25.bm25, "scores", {}) or {}
    bm25_arrays = sum(getattr(v, "nbytes", 0) for v in scores.values()) / 2**20
    del syn_texts
    sentence_vectors = np.concatenate([real.sentence_vectors, vectors[n_real:]])
    last = int(real.sentence_offsets[-1])
    offsets = np.concatenate([real.sentence_offsets,
                              last + np.arange(1, n + 1, dtype=np.int64)])
    index = IndexData(manifest={**real.manifest, "faiss_index": type(store.client).__name__},
                      documents={**real.documents, **syn_docs},
                      passages=real.passages + syn_passages, passage_vectors=vectors,
                      sentence_vectors=sentence_vectors, sentence_offsets=offsets,
                      objectives=real.objectives, objective_vectors=real.objective_vectors,
                      heading_vectors=real.heading_vectors, questions=real.questions,
                      vector_store=store, bm25=bm25, path=real.path)
    with Timer() as init:
        assistant = Assistant(settings, index=index, embedder=embedder)
    gc.collect()
    loaded_rss = rss_mib()

    from bench.query import _fresh

    asked = questions[:ask_questions]
    for q in asked[:5]:
        assistant.ask(q)
    retrieval, ask, steps = [], [], {}
    for q in asked:
        _fresh(embedder)
        with Timer() as t:
            assistant.retriever.search(q, settings.k)
        retrieval.append(t.ms)
        _fresh(embedder)
        with Timer() as t:
            answer = assistant.ask(q)
        ask.append(t.ms)
        for key, value in answer.timings_ms.items():
            steps.setdefault(key, []).append(value)
    return {
        "n_synthetic": n, "n_passages": n_real + n, "generate_s": gen.s,
        "faiss": table, "chosen_index": chosen,
        "chosen_type": type(store.client).__name__,
        "bm25": {"build_s": bm25_t.s, "rss_added_mib": bm25_mib,
                 "bm25s_arrays_mib": bm25_arrays},
        "passages_build_s": texts_t.s, "assistant_init_s": init.s,
        "memory": {"process_rss_mib": loaded_rss, "before_corpus_rss_mib": start_rss,
                   "peak_rss_mib": peak_rss_mib(),
                   "passage_vectors_mib": vectors.nbytes / 2**20,
                   "sentence_vectors_mib": sentence_vectors.nbytes / 2**20,
                   "faiss_mib": table.get(chosen, {}).get("bytes", 0) / 2**20,
                   "bm25_mib": bm25_mib, "bm25s_arrays_mib": bm25_arrays},
        "retrieval_ms": summary_ms(retrieval), "ask_ms": summary_ms(ask),
        "ask_steps_mean_ms": {k: float(np.mean(v)) for k, v in steps.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, required=True, help="synthetic passages to add")
    p.add_argument("--base-index", type=Path, required=True)
    p.add_argument("--kinds", default="exact,ivf,hnsw")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--ask-questions", type=int, default=200)
    args = p.parse_args(argv)
    from bench.common import question_set

    questions = question_set()[: args.questions]
    result = run(args.n, args.base_index, questions, args.kinds.split(","), args.ask_questions)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
