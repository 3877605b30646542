"""Profile one whole ingest of the bench's ~160-page PDF (never seen: a fresh index) in this
process with pyinstrument, and print where the seconds go by project function. Reading runs
in its own thread, which pyinstrument does not sample: the time the ingest waits for it
shows as `read_ahead` (Queue.get) under `_build`.

    python -m bench.profile_ingest [--pages 160] [--html out.html]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import bench_settings, workspace
from bench.ingest import large_pdf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=160)
    parser.add_argument("--html", type=Path)
    args = parser.parse_args(argv)
    from pyinstrument import Profiler

    root = workspace("profile-ingest")
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    pages = large_pdf(corpus / "handbook.pdf", args.pages)
    settings = bench_settings(root / "index", corpus_dir=corpus)
    profiler = Profiler(interval=0.005)
    t0 = time.perf_counter()
    profiler.start()
    from assistant.search.index import build_index

    report = build_index(settings)
    profiler.stop()
    seconds = time.perf_counter() - t0
    print(f"{pages} pages, {report.embedded} texts embedded in {seconds:.1f} s "
          f"({report.embedded / seconds:.1f} texts/s, imports included)")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
