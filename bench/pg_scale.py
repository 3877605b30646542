"""Dense search, files against PostgreSQL, on synthetic corpora:
`python -m bench.pg_scale [--sizes 10000,100000] [--queries 200]`.

For each size: random unit vectors (384 dims, clustered like text embeddings), put in
the files store's FAISS index (exact inner product up to 50k passages, IVF above, as
`assistant.search.stores.make_faiss` chooses) and in PostgreSQL through llama-index's
PGVectorStore with pgvector's HNSW index. Reports build time, p50/p95 query latency
(k=10) and recall@10 against exact search. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from assistant.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "tests"))

DIM = 384


def _corpus(n: int, rng) -> np.ndarray:
    centres = rng.normal(size=(max(8, n // 200), DIM)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, DIM))
    x = x.astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _pg(url: str, vectors: np.ndarray, queries: np.ndarray, name: str) -> dict:
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.types import VectorStoreQuery

    from assistant.search.pgstore import vector_store

    build_id = abs(hash(name)) % 10**6
    t0 = time.perf_counter()
    store = vector_store(url, build_id, DIM, setup=True)
    for i in range(0, len(vectors), 5000):
        store.add([TextNode(id_=str(j), text="x", embedding=vectors[j].tolist(),
                            metadata={"doc_id": "d"}) for j in range(i, min(i + 5000,
                                                                             len(vectors)))])
    build = time.perf_counter() - t0
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        r = store.query(VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=10),
                        hnsw_ef_search=100)
        times.append((time.perf_counter() - t) * 1000)
        found.append([int(i) for i in r.ids])
    return {"build_s": round(build, 1), "times": times, "found": found}


def main(argv: list[str] | None = None) -> None:
    from pgrunner import postgres

    from assistant.search.stores import make_faiss

    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="10000,100000")
    p.add_argument("--queries", type=int, default=200)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    out = []
    with postgres() as pg:
        for n in (int(s) for s in args.sizes.split(",")):
            vectors = _corpus(n, rng)
            queries = vectors[rng.choice(n, args.queries, replace=False)] + 0.3 * rng.normal(
                size=(args.queries, DIM)).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
            t0 = time.perf_counter()
            faiss_store = make_faiss(vectors)
            files_build = time.perf_counter() - t0
            times, found = [], []
            for q in queries:
                t = time.perf_counter()
                _, ids = faiss_store.client.search(q[None, :], 10)
                times.append((time.perf_counter() - t) * 1000)
                found.append(ids[0].tolist())
            pg_res = _pg(pg.url, vectors, queries, f"bench{n}")
            row = {"passages": n}
            for label, (t, f, b) in {"files": (times, found, files_build),
                                     "postgres": (pg_res["times"], pg_res["found"],
                                                  pg_res["build_s"])}.items():
                recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(f, exact,
                                                                            strict=True)])
                row[label] = {"build_s": round(b, 1), "p50_ms": round(np.percentile(t, 50), 2),
                              "p95_ms": round(np.percentile(t, 95), 2),
                              "recall@10": round(float(recall), 3)}
            out.append(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
