"""Embedding backends compared: PyTorch (sentence-transformers), ONNX float32 and ONNX int8,
in throughput on the corpus's own passages, per-question latency, agreement with PyTorch,
and the evaluation's scores with an index built and queried by each backend."""

from __future__ import annotations

import time

import numpy as np

from assistant.search.embed import BACKENDS, Embedder, onnx_model
from bench.common import Timer, bench_settings, summary_ms, workspace

GATED = ["grounding", "objective_top1", "objective_top3", "recall@5", "refusal_recall",
         "false_refusal_rate"]
SHOWN = GATED + ["recall@1", "hit@5", "mrr@10", "ndcg@10", "phrase_present"]


def corpus_texts(index) -> tuple[list[str], list[str]]:
    """(passage texts as ingest embeds them, every text ingest embeds) of a loaded index."""
    from assistant.search.index import embed_text, objective_text

    docs = index.documents
    passages = [embed_text(p, docs[p.doc_id]) for p in index.passages]
    sentences = [docs[p.doc_id].text[s:e] for p in index.passages for s, e in p.sentences]
    objectives = [objective_text(o) for o in index.objectives]
    headings = [o.section.heading or o.title for o in index.objectives]
    return passages, passages + sentences + objectives + headings


def export_time(model_path) -> dict:
    """Seconds to export the bundled model to ONNX and quantise it, into an empty cache."""
    cache = workspace("export-cache")
    with Timer() as fp32:
        onnx_model(model_path, cache, quantized=False)
    with Timer() as int8:
        onnx_model(model_path, cache, quantized=True)
    return {"export_fp32_s": fp32.s, "quantize_int8_s": int8.s}


def throughput(model_path, index, questions: list[str], repeats: int = 2) -> dict:
    """Per backend: load seconds, passages/s and texts/s (best of `repeats`; wall clock and
    per CPU-second), single-question latency, and cosine agreement with PyTorch."""
    passages, everything = corpus_texts(index)
    out, reference = {}, None
    for backend in ["torch", *[b for b in BACKENDS if b != "torch"]]:
        with Timer() as load:
            emb = Embedder(model_path, backend=backend)
        emb.embed_batch(passages[:32])
        best_p = best_a = best_cpu = 0.0
        for _ in range(repeats):
            with Timer() as t:
                c0 = time.process_time()
                vectors = emb.embed_batch(passages)
                cpu = time.process_time() - c0
            best_p, best_cpu = max(best_p, len(passages) / t.s), max(best_cpu, len(passages) / cpu)
            with Timer() as t:
                emb.embed_batch(everything)
            best_a = max(best_a, len(everything) / t.s)
        lat = []
        for q in questions[:100]:
            with Timer() as t:
                emb.embed_batch([q])
            lat.append(t.ms)
        if reference is None:
            reference = vectors
        cos = (vectors * reference).sum(axis=1)
        out[backend] = {"load_s": load.s, "passages_per_s": best_p,
                        "passages_per_cpu_s": best_cpu, "texts_per_s": best_a,
                        "query_ms": summary_ms(lat), "cos_to_torch_min": float(cos.min()),
                        "cos_to_torch_mean": float(cos.mean())}
        del emb
    return {"passages": len(passages), "texts": len(everything),
            "mean_passage_chars": float(np.mean([len(t) for t in passages])), "backends": out}


def scores(backends: list[str]) -> dict:
    """Evaluation summary with an index built and queried by each backend (eval/questions)."""
    from assistant.evaluate.run import evaluate
    from assistant.evaluate.sets import registered_sets
    from assistant.pipeline import Assistant
    from assistant.search.embed import embedder_for
    from assistant.search.index import build_index

    items = [s for s in registered_sets(roles=("dev",)) if s.name == "dev"]
    out = {}
    for backend in backends:
        settings = bench_settings(workspace(f"eval-{backend}") / "index",
                                  embedding_backend=backend)
        embedder = embedder_for(settings)
        with Timer() as build:
            build_index(settings, embedder=embedder)
        [dev] = evaluate(Assistant(settings, embedder=embedder), items, baselines=False)["sets"]
        out[backend] = {**{k: dev["summary"][k]["value"] for k in SHOWN if k in dev["summary"]},
                        "build_s": build.s}
    return out


def reference_rate(model_path, texts: list[str], batch_size: int = 32) -> float:
    """Texts/s of plain sentence-transformers (PyTorch, its defaults but the batch size) on
    `texts`: the reference every other throughput is divided by, measured in the same run."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    model.encode(texts[:32], batch_size=batch_size)
    with Timer() as t:
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                     show_progress_bar=False)
    return len(texts) / t.s
