"""The benchmark suite: `python -m bench.run [--quick] [--scale 10000,100000,1000000]`.

Prints a table of the figures against the targets and writes BENCHMARKS.md (machine, command,
every figure and how it was measured). Everything it builds goes under $BENCH_TMP
(default /tmp/assistant-bench); it never touches the project's index/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from assistant.config import PROJECT_ROOT
from bench.report import render

OUT = PROJECT_ROOT / "BENCHMARKS.md"


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(args) -> dict:
    from assistant.config import Settings
    from assistant.evaluate.sets import registered_sets
    from assistant.pipeline import Assistant
    from assistant.search.embed import BACKENDS, embedder_for
    from assistant.search.index import build_index, settings_fingerprint
    from bench import embeddings, ingest, query
    from bench.common import Timer, bench_settings, machine, question_set, run_child, workspace

    DEFAULT_BACKEND = Settings.from_env().embedding_backend  # noqa: N806 (as the library names it)
    results: dict = {"machine": machine(), "quick": args.quick,
                     "command": "python -m bench.run " + " ".join(sys.argv[1:]),
                     "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                     "default_backend": DEFAULT_BACKEND}
    questions = question_set(n_variants=20 if args.quick else 100)
    results["questions"] = len(questions)
    items = [s for s in registered_sets(roles=("dev",)) if s.name == "dev"]

    _log("building the shipped-corpus index")
    settings = bench_settings(workspace("shipped") / "index")
    embedder = embedder_for(settings)
    with Timer() as t:
        build_index(settings, embedder=embedder)
    results["shipped_build_s"] = t.s
    assistant = Assistant(settings, embedder=embedder)

    _log(f"warm latency over {len(questions)} questions")
    results["warm"] = query.warm_latency(assistant, questions)
    _log("profiling ask")
    results["profile"] = query.profile_ask(assistant, questions[: 60 if args.quick else 200])
    _log("llama-index default pipeline, side by side")
    results["side_by_side"] = query.side_by_side(assistant, questions, items)
    _log("cold start")
    cold_backends = [DEFAULT_BACKEND] + ([] if args.quick else
                                        [b for b in BACKENDS if b != DEFAULT_BACKEND])
    cold_dirs = {}
    for backend in cold_backends:  # the int8 model needs an index of its own vectors
        own = bench_settings(settings.index_dir, embedding_backend=backend)
        if settings_fingerprint(own) != settings_fingerprint(settings):
            own = bench_settings(workspace(f"shipped-{backend}") / "index",
                                 embedding_backend=backend)
            build_index(own, embedder=embedder_for(own))
        cold_dirs[backend] = own.index_dir
    results["cold"] = query.cold_start(cold_dirs, runs=1 if args.quick else 3)
    results["serve_all"] = query.serve_all(settings.index_dir, questions)

    _log("embedding backends")
    model_path = settings.resolved_model_path()
    results["export"] = embeddings.export_time(model_path)
    results["embedding"] = embeddings.throughput(model_path, assistant.index, questions,
                                                 repeats=1 if args.quick else 2)
    results["scores"] = embeddings.scores(
        [b for b in BACKENDS if b != "torch"] if args.quick else list(BACKENDS))

    _log("ingestion")
    results["ingest"] = ingest.build_and_reingest(workspace("ingest"))
    _log("ingest of a 160-page PDF, beside the reference")
    results["pdf_ingest"] = ingest.pdf_ingest_vs_reference(
        workspace("pdf-ingest"), sample=400 if args.quick else 800)

    results["scale"] = {}
    for n in args.scale:
        kinds = ["exact", "ivf"] + (["hnsw"] if n <= args.hnsw_max else [])
        _log(f"scale: {n:,} synthetic passages ({', '.join(kinds)})")
        results["scale"][str(n)] = run_child(
            ["-m", "bench.scale", "--n", str(n), "--base-index", str(settings.index_dir),
             "--kinds", ",".join(kinds), "--questions", "60" if args.quick else "200",
             "--ask-questions", "60" if args.quick else "200"])
    for path in args.scale_result or []:  # sizes measured by their own bench.scale run
        extra = json.loads(Path(path).read_text())
        measured = extra.get("measured_at") or datetime.fromtimestamp(
            Path(path).stat().st_mtime).strftime("%Y-%m-%d %H:%M")
        results["scale"][str(extra["n_synthetic"])] = {**extra, "separate_run": str(path),
                                                       "measured_at": measured}
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="fewer questions and repeats, evaluation of the default backend only, "
                        "10k scale only")
    p.add_argument("--scale", default=None,
                   help="synthetic corpus sizes, comma-separated (default 10000,100000,1000000;"
                        " with --quick 10000); 0 for none")
    p.add_argument("--hnsw-max", type=int, default=100_000,
                   help="build HNSW for comparison up to this size (it takes minutes at 1M)")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--scale-result", action="append", type=Path,
                   help="the JSON a separate `python -m bench.scale` run printed (run alongside, "
                        "e.g. for 1M passages), reported as its own size")
    p.add_argument("--from-json", type=Path, default=None,
                   help="re-write the report from a previous run's last-run.json, running nothing")
    args = p.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
        text = render(results) + f"\nThe whole run took {results['seconds'] / 60:.1f} minutes.\n"
        args.out.write_text(text, encoding="utf-8")
        print(text.split("## Query")[0])
        return 0
    raw = args.scale or ("10000" if args.quick else "10000,100000,1000000")
    args.scale = [int(x) for x in raw.split(",") if x.strip() and int(x) > 0]
    t = time.perf_counter()
    results = run(args)
    results["seconds"] = time.perf_counter() - t
    raw_path = Path(os.environ.get("BENCH_TMP", "/tmp/assistant-bench")) / "last-run.json"
    raw_path.write_text(json.dumps(results, indent=1))
    text = render(results) + f"\nThe whole run took {results['seconds'] / 60:.1f} minutes.\n"
    args.out.write_text(text, encoding="utf-8")
    section = text.split("## Query")[0]
    print(section)
    _log(f"wrote {args.out} in {results['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
