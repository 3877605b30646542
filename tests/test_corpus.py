"""Reading files into Documents: clean-up of the real corpus, decoding, bad files, PDF pages."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from conftest import CORPUS
from pdfs import (
    PAGE3_LABEL,
    PAGE3_PHRASE,
    PAGE_TEXTS,
    POLICY_TITLE,
    SPLIT_LABEL,
    SPLIT_TAIL,
    encrypted_pdf,
    pdf_bytes_text,
    policy_pdf,
    scanned_pdf,
    truncated_pdf,
)

from assistant.config import Settings
from assistant.errors import IngestError
from assistant.ingest.clean import SourceFile, discover, load_document
from assistant.ingest.passages import chunk

DRAFT = "draft-mandate-2012"
TITLE_1_11_TAIL = "which forms part of a transparent system of accountability"
FOOTNOTE_1 = "The NHS Commissioning Board will be established on 1 October 2012"


@pytest.fixture(scope="module")
def docs():
    """Every document of the real corpus, read and cleaned (no model needed)."""
    return {src.doc_id: load_document(src) for src in discover(CORPUS)}


def raw(doc_id: str) -> str:
    return (CORPUS / f"{doc_id}.txt").read_text(encoding="utf-8")


def block_starting(doc, label: str):
    found = [b for b in doc.blocks if b.kind == "body" and b.text.startswith(label + " ")]
    assert len(found) == 1, f"expected one block for {label}, found {len(found)}"
    return found[0]


# ---------------------------------------------------------------- the draft mandate


def test_all_six_corpus_documents_are_read(docs):
    assert set(docs) == {DRAFT, "strategic-context-2012", "news-final-mandate-2012",
                         "hsj-first-mandate-2012", "mandate-2017-19-summary",
                         "nhs-constitution-2015"}
    for doc in docs.values():
        assert doc.text.strip() and doc.sha256 and doc.title


def test_draft_mandate_has_no_non_breaking_spaces(docs):
    assert "\u00a0" in raw(DRAFT)  # the extracted source is full of them
    assert "\u00a0" not in docs[DRAFT].text


def test_draft_mandate_print_marks_are_removed(docs):
    assert ".indd" in raw(DRAFT)
    text = docs[DRAFT].text
    assert ".indd" not in text
    assert "9092-TSO" not in text


def test_draft_mandate_running_header_is_removed(docs):
    doc = docs[DRAFT]
    header_lines = [line for line in raw(DRAFT).split("\n")
                    if " ".join(line.split()) == doc.title]
    assert header_lines, "the source should repeat the title as a running header"
    assert [line for line in doc.text.split("\n") if line.strip() == doc.title] == []
    assert [b for b in doc.blocks if b.text.strip() == doc.title] == []


def test_draft_mandate_has_no_bare_page_number_lines(docs):
    bare = re.compile(r"^\s*\d{1,4}\s*$")
    assert any(bare.match(line) for line in raw(DRAFT).split("\n"))
    assert [line for line in docs[DRAFT].text.split("\n") if bare.match(line)] == []


def test_draft_mandate_hyphenated_line_ends_are_joined(docs):
    source = raw(DRAFT)
    assert re.search(r"cross-\s*\n\s*cutting", source)
    text = docs[DRAFT].text
    assert "cross-cutting duties" in text
    assert "cross- cutting" not in text
    assert "long-term" in text and "long- term" not in text


def test_footnote_1_is_its_own_block_not_inside_paragraph_1_11(docs):
    doc = docs[DRAFT]
    notes = [b for b in doc.blocks if b.kind == "footnote" and b.footnote == 1]
    assert len(notes) == 1
    assert FOOTNOTE_1 in notes[0].text
    para = block_starting(doc, "1.11")
    assert FOOTNOTE_1 not in para.text
    assert "established on 1 October" not in para.text
    assert FOOTNOTE_1 not in doc.text[para.start : para.end]
    # the footnote text is still in the document, once
    assert doc.text.count(FOOTNOTE_1) == 1


def test_paragraph_1_11_reads_across_the_page_break(docs):
    doc = docs[DRAFT]
    para = block_starting(doc, "1.11")
    assert TITLE_1_11_TAIL in para.text
    assert para.text.rstrip().endswith("in relation to public health and social care.")
    # the paragraph starts on one page and its tail is on the next, where the footnote is not
    first = doc.page_at(para.start)
    tail = doc.page_at(doc.text.index("a transparent system of accountability"))
    assert tail == first + 1
    note = next(b for b in doc.blocks if b.kind == "footnote" and b.footnote == 1)
    assert doc.page_at(note.start) == first


def test_text_is_the_blocks_joined(docs):
    for doc in docs.values():
        for b in doc.blocks:
            assert doc.text[b.start : b.end] == b.text


# ---------------------------------------------------------------- web pages


def test_strategic_context_web_navigation_is_dropped(docs):
    source = raw("strategic-context-2012").replace("\u00a0", " ")
    text = docs["strategic-context-2012"].text
    for furniture in ("[Home]", "[Skip navigation]", "Event Overview | Registration",
                      "Design by Molomo", "[Privacy Policy]"):
        assert furniture in source
        assert furniture not in text
    # the article itself stays
    assert "reaffirms the principles of the NHS as a comprehensive health service" in text
    assert "The NHS Commissioning Board will need to play a role in encouraging innovation" in text


def test_hsj_reader_comments_are_dropped(docs):
    source = raw("hsj-first-mandate-2012").replace("\u00a0", " ")
    text = docs["hsj-first-mandate-2012"].text
    for comment in ("Unsuitable or offensive", "Stephen Dalton", "Readers' comments",
                    "Meaningless twaddle", "You must sign in"):
        assert comment in source
        assert comment not in text
    # the last analysis point of the article, just before the comments, stays
    assert "could be expected to meet new waiting time standards" in text
    assert "The government has published its first mandate for the NHS" in text


def test_hsj_headline_is_not_glued_to_the_first_sentence(docs):
    """The web page has no blank lines; its headline must still not run into the article."""
    doc = docs["hsj-first-mandate-2012"]
    headline = "Government reveals \u2018historic\u2019 first mandate"
    assert raw("hsj-first-mandate-2012").split("\n")[0].strip() == headline
    assert headline + " The government" not in doc.text
    assert all(not b.text.startswith(headline + " ") for b in doc.blocks)


# ---------------------------------------------------------------- decoding

SAMPLE = ("The Board\u2019s caf\u00e9 r\u00e9sum\u00e9 \u2014 na\u00efve co\u00f6peration "
          "costs \u00a32bn.\nCarers need support from the NHS and from local councils.")


@pytest.mark.parametrize("name,data", [
    ("utf8-bom.txt", b"\xef\xbb\xbf" + SAMPLE.encode("utf-8")),
    ("utf8.txt", SAMPLE.encode("utf-8")),
    ("cp1252.txt", SAMPLE.encode("cp1252")),
    ("utf16-le-bom.txt", SAMPLE.encode("utf-16")),  # Python writes a BOM
    ("utf16-be-bom.txt", b"\xfe\xff" + SAMPLE.encode("utf-16-be")),
])
def test_text_encodings_are_decoded(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    doc = load_document(SourceFile(path))
    assert doc.text.startswith("The Board\u2019s caf\u00e9 r\u00e9sum\u00e9 \u2014 na\u00efve")
    assert "\u00a32bn" in doc.text
    assert "\ufeff" not in doc.text and "\ufffd" not in doc.text
    assert "Carers need support from the NHS" in doc.text


def test_latin1_text_is_decoded(tmp_path):
    text = "Caf\u00e9 staff said the r\u00e9gime costs \u00a35 a week.\nNa\u00efve plans fail."
    path = tmp_path / "latin1.md"
    path.write_bytes(text.encode("latin-1"))
    doc = load_document(SourceFile(path))
    assert "Caf\u00e9 staff said the r\u00e9gime costs \u00a35 a week." in doc.text
    assert "Na\u00efve plans fail." in doc.text


# ---------------------------------------------------------------- bad files


def _garbage(n: int, nul: bool) -> bytes:
    rng = random.Random(7)
    return bytes(rng.randrange(0 if nul else 1, 256) for _ in range(n))


@pytest.fixture
def good_pdf(tmp_path) -> Path:
    return policy_pdf(tmp_path / "policy.pdf")


@pytest.mark.parametrize("name,make,reason", [
    ("blank.txt", lambda d: b"  \n\n\t \n", "empty"),
    ("zero.txt", lambda d: b"", "empty"),
    ("garbage.txt", lambda d: _garbage(5000, nul=True), "binary"),
    ("garbage-no-nul.txt", lambda d: _garbage(5000, nul=False), "not readable text"),
    ("random.pdf", lambda d: _garbage(3000, nul=True), "not a readable PDF"),
    ("notes.docx", lambda d: b"Carers need support from the NHS.", "unsupported file type"),
])
def test_bad_files_raise_ingest_error_naming_the_file(tmp_path, name, make, reason):
    path = tmp_path / name
    path.write_bytes(make(tmp_path))
    with pytest.raises(IngestError, match=re.escape(name)) as info:
        load_document(SourceFile(path))
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_pdf_raises(tmp_path, good_pdf):
    bad = truncated_pdf(good_pdf, tmp_path / "half.pdf")
    with pytest.raises(IngestError, match=r"half\.pdf: not a readable PDF"):
        load_document(SourceFile(bad))


def test_pdf_with_a_user_password_raises(tmp_path, good_pdf):
    locked = encrypted_pdf(good_pdf, tmp_path / "locked.pdf", user_password="s3cret")
    with pytest.raises(IngestError, match=r"locked\.pdf: .*encrypted with a password"):
        load_document(SourceFile(locked))


def test_scanned_pdf_without_text_raises(tmp_path):
    scan = scanned_pdf(tmp_path / "scan.pdf")
    with pytest.raises(IngestError, match=r"scan\.pdf: .*no text layer.*OCR"):
        load_document(SourceFile(scan))


def test_missing_file_raises(tmp_path):
    with pytest.raises(IngestError, match=r"gone\.txt"):
        load_document(SourceFile(tmp_path / "gone.txt"))


def test_file_over_the_size_limit_raises(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("Carers need support. " * 60_000)
    with pytest.raises(IngestError, match=r"big\.txt: .*over the 1 MB limit"):
        load_document(SourceFile(path), max_bytes=2**20)


# ---------------------------------------------------------------- PDF pages


def test_made_pdf_has_a_text_layer(good_pdf):
    pages = pdf_bytes_text(good_pdf)
    assert len(pages) == len(PAGE_TEXTS)
    assert PAGE3_PHRASE in pages[2]


def test_pdf_pages_are_kept_and_furniture_removed(good_pdf):
    doc = load_document(SourceFile(good_pdf))
    assert doc.n_pages == len(PAGE_TEXTS)
    for number, lines in enumerate(PAGE_TEXTS, start=1):
        for line in lines:
            at = doc.text.find(line)
            assert at >= 0, line
            assert doc.page_at(at) == number, line
    # the title drawn at the top of every page and the page-number footers are gone
    assert POLICY_TITLE not in doc.text
    assert [line for line in doc.text.split("\n") if re.fullmatch(r"\s*\d+\s*", line)] == []


def test_pdf_passages_report_their_pages(good_pdf):
    doc = load_document(SourceFile(good_pdf))
    passages = {p.paragraph: p for p in chunk(doc)}
    p3 = passages[PAGE3_LABEL]
    assert PAGE3_PHRASE in p3.text
    assert p3.page == 3 and p3.page_end == 3
    split = passages[SPLIT_LABEL]
    assert SPLIT_TAIL in split.text  # one paragraph across the page break
    assert (split.page, split.page_end) == (5, 6)
    assert doc.page_at(split.text.index(SPLIT_TAIL) + split.start) == 6


def test_pdf_with_an_empty_user_password_is_readable(tmp_path, good_pdf):
    plain = load_document(SourceFile(good_pdf))
    opened = encrypted_pdf(good_pdf, tmp_path / "open.pdf", user_password="")
    assert opened.read_bytes() != good_pdf.read_bytes()
    doc = load_document(SourceFile(opened))
    assert doc.text == plain.text
    assert doc.page_points == plain.page_points
    p3 = next(p for p in chunk(doc) if p.paragraph == PAGE3_LABEL)
    assert p3.page == 3


def test_ingested_pdf_answers_with_page_3(tmp_path, good_pdf, embedder):
    """Through the whole pipeline: build an index of the PDF and ask about page 3."""
    from assistant.pipeline import Assistant
    from assistant.search.index import build_index

    settings = Settings(corpus_dir=tmp_path / "empty-corpus", index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data")
    report = build_index(settings, extra=[good_pdf], embedder=embedder)
    assert report.indexed == ["policy"] and report.skipped == []
    bot = Assistant(settings, embedder=embedder)
    doc = bot.index.documents["policy"]
    stored = next(p for p in bot.index.passages if p.paragraph == PAGE3_LABEL)
    assert stored.page == 3
    answer = bot.ask("Who can get a free medicines review from a pharmacist?")
    assert not answer.refused
    first = answer.citations[0]
    assert PAGE3_PHRASE in first.quote
    assert first.page == 3 and first.paragraph == PAGE3_LABEL
    assert doc.text[first.start : first.end] == first.quote
