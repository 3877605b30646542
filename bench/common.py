"""Shared helpers of the benchmark suite: the machine, timing, the question set, workspaces."""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from assistant.config import PROJECT_ROOT, Settings

EVAL = PROJECT_ROOT / "eval"
# Prefixes and suffixes that turn a question into a differently-worded variant.
_PREFIXES = ["In the draft mandate, ", "According to the NHS documents, ",
             "Briefly, ", "For a consultation respondent: ", "Under the mandate, "]
_SUFFIXES = [" Please cite the paragraph.", " (short answer)", ""]


def machine() -> dict:
    """Return a description of this machine and the software the figures depend on."""
    import faiss
    import onnxruntime
    import torch

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) / 2**20
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "torch": torch.__version__,
            "onnxruntime": onnxruntime.__version__, "faiss": faiss.__version__,
            "numpy": np.__version__, "load_average_at_start": [round(x, 2) for x in load]}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summary_ms(values: list[float]) -> dict:
    """p50/p95/p99/mean of a list of milliseconds."""
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "p99": pct(values, 99), "mean": float(np.mean(values)) if values else float("nan")}


def _proc_status_mib(field: str) -> float | None:
    """A memory field of /proc/self/status (e.g. VmRSS), MiB; None where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mib() -> float:
    """Peak resident memory of this process since it started (VmHWM, which, unlike
    ru_maxrss, does not count the parent's pages before exec), MiB."""
    peak = _proc_status_mib("VmHWM")
    return peak if peak is not None else (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def rss_split_mib() -> dict[str, float | None]:
    """Resident memory by kind, MiB: the process's own ("anon": heap, arrays, objects) and
    pages of memory-mapped files ("file": vectors and BM25 arrays read from the index, which
    the kernel can drop and read again)."""
    return {"anon": _proc_status_mib("RssAnon"), "file": _proc_status_mib("RssFile")}


def rss_mib() -> float:
    """Current resident memory of this process, MiB."""
    rss = _proc_status_mib("VmRSS")
    return rss if rss is not None else float("nan")


def question_set(n_variants: int = 100, seed: int = 7) -> list[str]:
    """The benchmark's questions: every question of eval/questions.jsonl and
    eval/calibration.jsonl (on- and off-topic), then `n_variants` reworded copies of random
    ones (a prefix such as "In the draft mandate, " and/or a suffix), all distinct."""
    base: list[str] = []
    for name in ("questions.jsonl", "calibration.jsonl"):
        for line in (EVAL / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                base.append(json.loads(line)["question"])
    rng = random.Random(seed)
    seen, out = set(), []
    for q in base:
        if q not in seen:
            seen.add(q)
            out.append(q)
    tries = 0
    while len(out) < len(base) + n_variants and tries < 10_000:
        tries += 1
        q = rng.choice(base)
        prefix, suffix = rng.choice(_PREFIXES), rng.choice(_SUFFIXES)
        v = prefix + q[0].lower() + q[1:] + suffix if prefix else q + suffix
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def workspace(name: str) -> Path:
    """A fresh folder for one benchmark under $BENCH_TMP (default /tmp/assistant-bench)."""
    root = Path(os.environ.get("BENCH_TMP", "/tmp/assistant-bench"))
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def bench_settings(index_dir: Path, corpus_dir: Path | None = None, **changes) -> Settings:
    """Settings for a benchmark index in a temporary folder (never the project's index/)."""
    return Settings.from_env(index_dir=index_dir, corpus_dir=corpus_dir or PROJECT_ROOT / "corpus",
                             data_dir=index_dir.parent / "data", **changes)


def run_child(args: list[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run `python -m bench.<...>` in a fresh process; return the JSON it prints last."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1])


class Timer:
    """`with Timer() as t: ...` then `t.ms` / `t.s`."""

    def __enter__(self) -> Timer:
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.s = time.perf_counter() - self._t
        self.ms = self.s * 1000
