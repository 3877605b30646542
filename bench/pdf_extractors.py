"""Compare PDF text extractors on a real PDF (the README's "Reading PDFs" table).

    .venv/bin/python -m bench.pdf_extractors [PDF]

pdfplumber is not a dependency; install it into the venv to include it.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from assistant.config import PROJECT_ROOT

PDF = PROJECT_ROOT / "corpus" / "nhs-constitution-2015.pdf"
# sentences of the Constitution that run over line and column breaks
ACROSS_BREAKS = [
    "services free of charge, apart from certain limited exceptions sanctioned by Parliament",
    "You have the right to privacy and confidentiality and to expect the NHS to keep your "
    "confidential information safe and secure",
    "where identifiable information has to be used, to give you the chance to object wherever "
    "possible",
    "You have the right to expect your NHS to assess the health requirements of your community",
]


def row(name: str, pages: list[str], seconds: float) -> str:
    text = re.sub(r"\s+", " ", " ".join(pages))
    headers = len(re.findall(r"\| ?\d{1,2}\b|\b\d{1,2} ?\|", text))
    splits = len(re.findall(r"\b(?:[b-hj-z]|[A-Z]) [a-z]+\b", text))
    broken = text.count("N HS") + len(re.findall(r"\bt he\b", text)) + text.count(" m ost")
    intact = sum(s in text for s in ACROSS_BREAKS)
    return (f"| {name} | {headers} | {splits} | {broken} | {intact}/{len(ACROSS_BREAKS)} "
            f"| {seconds:.2f} |")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(path: Path = PDF) -> None:
    import pypdfium2 as pdfium
    from pypdf import PdfReader

    from assistant.ingest.clean import SourceFile, load_document

    print("| extractor | header numbers | single-letter splits | N HS/t he/m ost "
          "| across breaks | seconds |\n|---|---|---|---|---|---|")
    reader = PdfReader(str(path))
    print(row("pypdf", *timed(lambda: [p.extract_text() for p in reader.pages])))
    print(row("pypdf layout mode", *timed(
        lambda: [p.extract_text(extraction_mode="layout") for p in reader.pages])))
    try:
        import pdfplumber

        def plumber() -> list[str]:
            with pdfplumber.open(path) as pdf:
                return [p.extract_text() or "" for p in pdf.pages]

        print(row("pdfplumber", *timed(plumber)))
    except ImportError:
        print("| pdfplumber | not installed | | | | |")
    doc = pdfium.PdfDocument(str(path))
    print(row("pypdfium2", *timed(
        lambda: [doc[i].get_textpage().get_text_range() for i in range(len(doc))])))
    print(row("pypdfium2 + layout pass", *timed(
        lambda: [load_document(SourceFile(path)).text])))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else PDF)
