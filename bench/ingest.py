"""Ingestion benchmarks: PDF pages parsed per second, a full index build of a corpus of many
documents (text and PDF), and the re-ingest after one of them changed."""

from __future__ import annotations

import json
import random
import shutil
import textwrap
from pathlib import Path

from assistant.config import PROJECT_ROOT
from bench.common import Timer, bench_settings

CORPUS = PROJECT_ROOT / "corpus"


def _paragraphs() -> list[str]:
    """Numbered body paragraphs of the shipped corpus (the raw material of synthetic docs)."""
    out = []
    for path in sorted(CORPUS.glob("*.txt")):
        for para in path.read_text(encoding="utf-8").split("\n\n"):
            para = " ".join(para.split())
            if len(para.split()) >= 25:
                out.append(para)
    return out


def synthetic_corpus(dest: Path, n_txt: int = 12, n_pdf: int = 6, seed: int = 3) -> dict:
    """Copy the shipped corpus into `dest` and add synthetic policy documents: `n_txt` text
    files and `n_pdf` PDFs, each of ~40 numbered paragraphs drawn from the real documents,
    every paragraph made unique (so each is embedded), under chapter headings."""
    shutil.copytree(CORPUS, dest)
    paras, rng = _paragraphs(), random.Random(seed)
    made = []
    for i in range(n_txt + n_pdf):
        lines = [f"Synthetic Local Policy {i + 1}", ""]
        for chapter in range(1, 5):
            lines += [f"{chapter}. Chapter {chapter} of local policy {i + 1}", ""]
            for j in range(1, 11):
                text = rng.choice(paras)
                lines += [f"{chapter}.{j} {text} (Local note {i + 1}.{chapter}.{j}.)", ""]
        body = "\n".join(lines)
        if i < n_txt:
            path = dest / f"synthetic-{i + 1:02d}.txt"
            path.write_text(body, encoding="utf-8")
        else:
            path = dest / f"synthetic-{i + 1:02d}.pdf"
            write_pdf(path, body)
        made.append(path.name)
    return {"documents": len(list(dest.glob("*.txt"))) + len(list(dest.glob("*.pdf"))),
            "synthetic": made}


def write_pdf(path: Path, text: str, lines_per_page: int = 48) -> int:
    """Typeset `text` into a PDF with reportlab, page numbers at the foot; return pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    wrapped: list[str] = []
    for para in text.split("\n"):
        wrapped += textwrap.wrap(para, 95) or [""]
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pages = 0
    for start in range(0, len(wrapped), lines_per_page):
        pages += 1
        y = 800
        for line in wrapped[start : start + lines_per_page]:
            pdf.setFont("Helvetica", 9)
            pdf.drawString(40, y, line)
            y -= 15
        pdf.drawString(290, 30, str(pages))
        pdf.showPage()
    pdf.save()
    return pages


def pdf_pages_per_second(folder: Path) -> dict:
    """Parse (and clean) every PDF of the folder as ingest does; pages per second."""
    from assistant.ingest.clean import discover, load_document

    sources = [s for s in discover(folder) if s.path.suffix.lower() == ".pdf"]
    pages = 0
    with Timer() as t:
        for src in sources:
            pages += load_document(src).n_pages
    return {"pdfs": len(sources), "pages": pages, "seconds": t.s, "pages_per_s": pages / t.s}


def build_and_reingest(root: Path) -> dict:
    """Full build of the synthetic corpus from nothing, then re-ingest after one document
    changed (one paragraph appended), then re-ingest with nothing changed."""
    from assistant.search.embed import embedder_for
    from assistant.search.index import build_index

    corpus = root / "corpus"
    info = synthetic_corpus(corpus)
    settings = bench_settings(root / "index", corpus_dir=corpus)
    pdf = pdf_pages_per_second(corpus)
    embedder = embedder_for(settings)
    embedder.embed_batch(["warm up"])
    with Timer() as full:
        first = build_index(settings, embedder=embedder)
    changed = corpus / "synthetic-01.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n4.11 A new paragraph on "
                       "community pharmacy opening hours was added in this revision.\n",
                       encoding="utf-8")
    with Timer() as again:
        second = build_index(settings, embedder=embedder)
    with Timer() as same:
        third = build_index(settings, embedder=embedder)
    manifest = json.loads((Path(third.path) / "manifest.json").read_text())
    return {
        "corpus": {"documents": len(first.indexed), "passages": first.passages,
                   "sentences": manifest["counts"]["sentences"],
                   "synthetic_files": len(info["synthetic"])},
        "pdf": pdf,
        "full_build": {"seconds": full.s, "embedded": first.embedded,
                       "texts_per_s": first.embedded / full.s},
        "reingest_one_changed": {"seconds": again.s, "embedded": second.embedded,
                                 "reused": second.reused},
        "reingest_unchanged": {"seconds": same.s, "embedded": third.embedded},
        "faiss_index": manifest.get("faiss_index"),
    }


def large_pdf(path: Path, pages: int = 160, seed: int = 11) -> int:
    """Typeset a policy of about `pages` pages the project has never seen: chapters of
    numbered paragraphs drawn from the shipped corpus, each made unique. Return its pages."""
    paras, rng = _paragraphs(), random.Random(seed)
    lines = ["Synthetic Handbook of Local Services", ""]
    printed, chapter = 0, 0
    while printed < (pages - 1) * 48:
        chapter += 1
        lines += [f"{chapter}. Chapter {chapter} of the handbook", ""]
        for j in range(1, 13):
            lines += [f"{chapter}.{j} {rng.choice(paras)} (Handbook note {chapter}.{j}.)", ""]
        printed = sum(len(textwrap.wrap(line, 95)) or 1 for line in lines)
    return write_pdf(path, "\n".join(lines))


def pdf_ingest_vs_reference(root: Path, pages: int = 160, sample: int = 800) -> dict:
    """Ingest one ~160-page PDF, alone and from nothing, in a fresh process (start to exit:
    imports, reading, embedding, writing), then embed texts of that ingest with the raw
    model in this process: plain sentence-transformers (the reference) and the project's
    backend, on the same evenly spaced sample of at most `sample` of them."""
    import subprocess
    import sys

    from assistant.search.embed import embedder_for
    from assistant.search.index import load_index
    from bench.common import peak_rss_mib
    from bench.embeddings import corpus_texts, reference_rate

    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    n_pages = large_pdf(corpus / "handbook.pdf", pages)
    settings = bench_settings(root / "index", corpus_dir=corpus)
    code = ("import json, time, resource; t = time.perf_counter(); from pathlib import Path; "
            "from assistant.search.index import build_index; "
            "from bench.common import bench_settings; "
            f"r = build_index(bench_settings(Path({str(settings.index_dir)!r}), "
            f"corpus_dir=Path({str(corpus)!r}))); "
            "print(json.dumps({'embedded': r.embedded, 'in_process_s': time.perf_counter() - t,"
            " 'peak_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))")
    import os
    import resource

    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Timer() as whole:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=str(Path(__file__).resolve().parent.parent), check=True)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (cpu_after.ru_utime - cpu_before.ru_utime
                 + cpu_after.ru_stime - cpu_before.ru_stime)
    child = json.loads(out.stdout.strip().splitlines()[-1])
    _, every = corpus_texts(load_index(settings))
    texts = every[:: max(1, len(every) // sample)][:sample]
    embedder = embedder_for(settings)
    own = backend_rates(settings, embedder, texts)
    ref = reference_rate(settings.resolved_model_path(), texts)
    ingest_rate = child["embedded"] / whole.s
    return {"pages": n_pages, "texts": len(texts), "embedded": child["embedded"],
            "ingest_texts": len(every), "backend": embedder.backend,
            "whole_process_s": whole.s, "ingest_texts_per_s": ingest_rate,
            "child_cpu_s": child_cpu, "ingest_texts_per_cpu_s": child["embedded"] / child_cpu,
            "load_average_before": load_before, "load_average_after": os.getloadavg()[0],
            "child_peak_mib": child["peak_mib"], "backend_texts_per_s": own[embedder.backend],
            "backends_texts_per_s": own,
            "reference_texts_per_s": ref, "ratio_ingest_to_reference": ingest_rate / ref,
            "ratio_backend_to_reference": own[embedder.backend] / ref,
            "parent_peak_mib": peak_rss_mib()}


def backend_rates(settings, embedder, texts: list[str]) -> dict[str, float]:
    """Texts/s of the default backend (`embedder`) and of both ONNX backends on `texts`."""
    from assistant.search.embed import Embedder

    out = {}
    for backend in dict.fromkeys([embedder.backend, "onnx", "onnx-int8"]):
        emb = embedder if backend == embedder.backend else Embedder(
            settings.resolved_model_path(), settings.batch_size, backend, settings.model_cache_dir)
        emb.embed_batch(texts[:32])
        with Timer() as t:
            emb.embed_batch(texts)
        out[backend] = len(texts) / t.s
    return out
