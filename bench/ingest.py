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
    from assistant.corpus import discover, load_document

    sources = [s for s in discover(folder) if s.path.suffix.lower() == ".pdf"]
    pages = 0
    with Timer() as t:
        for src in sources:
            pages += load_document(src).n_pages
    return {"pdfs": len(sources), "pages": pages, "seconds": t.s, "pages_per_s": pages / t.s}


def build_and_reingest(root: Path) -> dict:
    """Full build of the synthetic corpus from nothing, then re-ingest after one document
    changed (one paragraph appended), then re-ingest with nothing changed."""
    from assistant.embedding import get_embedder
    from assistant.index import build_index

    corpus = root / "corpus"
    info = synthetic_corpus(corpus)
    settings = bench_settings(root / "index", corpus_dir=corpus)
    pdf = pdf_pages_per_second(corpus)
    embedder = get_embedder(settings.resolved_model_path(), settings.batch_size)
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
