"""Query-path benchmarks: warm latency of retrieval, objective mapping and `ask`; the same
questions through llama-index's default pipeline; a profile of `ask`; cold start and the
memory of a real `assistant ask` process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.common import Timer, summary_ms


def _fresh(embedder) -> None:
    """Forget memoised question vectors, so every timed question pays for its embedding."""
    embedder.clear_cache()


def warm_latency(assistant, questions: list[str]) -> dict:
    """p50/p95/p99 ms of retrieval only, objective mapping and the full ask, per question,
    with the model and index loaded (each question embedded afresh), plus ask's own
    per-step timings (mean ms)."""
    for q in questions[:10]:  # warm-up: first calls allocate
        assistant.ask(q)
    modes = {
        "retrieval": lambda q: assistant.retriever.search(assistant.query(q),
                                                          assistant.settings.k),
        "objectives": lambda q: assistant.objectives(q, k=5),
        "ask": lambda q: assistant.ask(q),
    }
    out: dict = {}
    steps: dict[str, list[float]] = defaultdict(list)
    for name, fn in modes.items():
        times = []
        for q in questions:
            _fresh(assistant.embedder)
            with Timer() as t:
                result = fn(q)
            times.append(t.ms)
            if name == "ask":
                for key, value in result.timings_ms.items():
                    steps[key].append(value)
        out[name] = summary_ms(times)
    out["ask_steps_mean_ms"] = {k: sum(v) / len(v) for k, v in steps.items()}
    return out


def side_by_side(assistant, questions: list[str], items) -> dict:
    """The same questions through llama-index's default pipeline (SentenceSplitter chunks,
    VectorStoreIndex, plain retriever, same model) and the project's retrieval: latency of
    each, with the model run by the project's backend and, as llama-index runs it out of the
    box (sentence-transformers on PyTorch), by the torch backend; and the evaluation's
    retrieval metrics for both pipelines."""
    from assistant.evaluate import baselines as B
    from assistant.evaluate.run import evaluate
    from assistant.search.embed import embedder_for

    torch_embedder = embedder_for(assistant.settings.with_(embedding_backend="torch"))
    with Timer() as build:
        llama_search, n_chunks = B.llama_index_default(assistant.index, assistant.embedder)
    llama_torch, _ = B.llama_index_default(assistant.index, torch_embedder)
    k = 10
    systems = {"project": (lambda q: assistant.retriever.search(assistant.query(q), k),
                           assistant.embedder),
               "llama-index": (lambda q: llama_search(q, k), assistant.embedder),
               "llama-index, torch": (lambda q: llama_torch(q, k), torch_embedder)}
    timings: dict[str, list[float]] = {name: [] for name in systems}
    for fn, _ in systems.values():
        for q in questions[:10]:
            fn(q)
    for q in questions:
        for name, (fn, emb) in systems.items():
            _fresh(emb)
            with Timer() as t:
                fn(q)
            timings[name].append(t.ms)
    [dev] = evaluate(assistant, items, baselines=True)["sets"]
    metrics = {}
    for name, row in dev["retrieval"].items():
        if name.startswith("pipeline") or name.startswith("llama-index"):
            metrics["project" if name.startswith("pipeline") else "llama-index"] = {
                key: row[key]["value"]
                for key in ("recall@1", "recall@5", "hit@5", "mrr@10", "ndcg@10")}
    lat = {name: summary_ms(v) for name, v in timings.items()}
    return {"chunks": n_chunks, "build_s": build.s, "latency": lat, "metrics": metrics,
            "summary": {k: v["value"] for k, v in dev["summary"].items()},
            "ratio_p50": lat["llama-index"]["p50"] / lat["project"]["p50"],
            "ratio_p95": lat["llama-index"]["p95"] / lat["project"]["p95"],
            "ratio_torch_p50": lat["llama-index, torch"]["p50"] / lat["project"]["p50"],
            "ratio_torch_p95": lat["llama-index, torch"]["p95"] / lat["project"]["p95"]}


def profile_ask(assistant, questions: list[str], top: int = 12) -> dict:
    """Profile `ask` over the questions with pyinstrument. Return shares of the total time by
    the project function it was spent under (including the library calls that function
    makes, excluding other project functions it calls) and by library."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for q in questions:
        _fresh(assistant.embedder)
        assistant.ask(q)
    profiler.stop()
    root = profiler.last_session.root_frame()
    total = root.time if root is not None else 0.0
    by_function: dict[str, float] = defaultdict(float)
    by_library: dict[str, float] = defaultdict(float)

    def walk(frame, owner: str, library: str) -> None:
        path = (frame.file_path or "").replace("\\", "/")
        if "/assistant/" in path and "site-packages" not in path:
            owner = f"{Path(path).stem}.{frame.function}"
        # built-ins and pyinstrument's "[self]" entries belong to the caller's library
        library = _library(path) or library
        own = frame.time - sum(child.time for child in frame.children)
        by_function[owner] += own
        by_library[library] += own
        for child in frame.children:
            walk(child, owner, library)

    if root is not None:
        walk(root, "(outside the assistant package)", "python")

    def ranked(d: dict[str, float]) -> list[dict]:
        rows = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return [{"name": n, "share": s / total if total else 0.0, "s": s} for n, s in rows]

    return {"total_s": total, "questions": len(questions), "by_function": ranked(by_function),
            "by_library": ranked(by_library)}


def _library(path: str) -> str | None:
    """Which library a profiled frame's file belongs to (None: a built-in, or not known)."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/assistant/" in path:
        return "assistant (own code)"
    if path.startswith("/") and "python3" in path:
        return "python"
    return None


# `python -m assistant ...` as is, but reporting its own peak memory (VmHWM) on stderr at exit
_WRAP = """
import atexit, runpy, sys
def _hwm():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            sys.stderr.write('BENCH_VMHWM_KB ' + line.split()[1] + chr(10))
atexit.register(_hwm)
sys.argv = ['assistant', *sys.argv[1:]]
runpy.run_module('assistant', run_name='__main__', alter_sys=True)
"""


def _run_cli(args: list[str], env: dict, stdin: str | None = None) -> tuple[float, float, str]:
    """Run `python -m assistant ARGS`; return (wall seconds, its peak RSS MiB, its stdout)."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAP, *args], env=env, input=stdin,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"assistant {' '.join(args)} failed: {proc.stderr[-2000:]}")
    peak = [ln for ln in proc.stderr.splitlines() if ln.startswith("BENCH_VMHWM_KB ")]
    return wall, int(peak[-1].split()[1]) / 1024 if peak else float("nan"), proc.stdout


def cold_start(index_dirs: dict[str, Path], runs: int = 3,
               question: str = "Which objective covers carers?") -> dict:
    """Wall time from process start to the first answer printed by `python -m assistant ask`,
    and that process's peak memory: median of `runs`, per embedding backend, each with an
    index of its own vectors (ONNX export already cached; the one-off export is timed in
    the embedding section)."""
    out = {}
    for backend, index_dir in index_dirs.items():
        env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir),
               "ASSISTANT_EMBEDDING_BACKEND": backend}
        walls, rss = [], []
        for _ in range(runs):
            wall, peak, _ = _run_cli(["ask", question, "--json"], env)
            walls.append(wall)
            rss.append(peak)
        walls.sort()
        out[backend] = {"median_s": walls[len(walls) // 2], "min_s": walls[0],
                        "max_s": walls[-1], "peak_rss_mib": max(rss)}
    return out


def serve_all(index_dir: Path, questions: list[str]) -> dict:
    """All questions through one `assistant ask --jsonl` process: wall time and peak RSS."""
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir)}
    wall, peak, out = _run_cli(["ask", "--jsonl"], env, stdin="\n".join(questions) + "\n")
    return {"questions": len(questions), "wall_s": wall, "peak_rss_mib": peak,
            "answers": sum(1 for line in out.splitlines() if line.startswith("{"))}
