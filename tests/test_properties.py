"""Property-based tests (hypothesis): hostile questions, files and names.

`ask` and `objectives` take any Python string (control characters, right-to-left text,
emoji, 100,000 characters, only punctuation) and return an answer, a refusal or one clear
AssistantError, never another exception; file reading turns any bytes into a Document or
one IngestError; upload names and rendered text stay harmless.
"""

from __future__ import annotations

import io
import json
import re
import string
import time
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pdfs import policy_pdf

from assistant.answer.form import split_answer
from assistant.answer.query import clean_question
from assistant.config import PROJECT_ROOT
from assistant.errors import AssistantError, IngestError, QuestionError
from assistant.ingest.clean import SourceFile, decode_text, load_document
from assistant.types import Answer

# model calls are slow on a busy laptop: modest example counts, no deadline, no database
MODEL = settings(max_examples=60, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow,
                                        HealthCheck.function_scoped_fixture])
FAST = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])

QUESTIONS = [json.loads(line)["question"]
             for line in (PROJECT_ROOT / "eval" / "questions.jsonl").read_text().splitlines()
             if line.strip()]
HOSTILE = ["\x00", "\x07", "\x1b[31m", "\r", "\t", "\u0085", "\u200b", "\u200d", "\u200e",
           "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\u2028", "\u2029", "\ufeff",
           "\ufffd", "\u0301", "\U0001f600", "\U0001f9d1\u200d\u2695\ufe0f", "\U000e0041",
           "\u05e9\u05dc\u05d5\u05dd", "\u0645\u0631\u062d\u0628\u0627", "<script>",
           "</p>", "[x](javascript:alert(1))", "**", "`", "$$", "\\", "%s", "{0}", "'; --"]



def _insert(question: str, noise: list[str], at: list[float]) -> str:
    for piece, where in zip(noise, at, strict=False):
        i = int(where * len(question))
        question = question[:i] + piece + question[i:]
    return question


noisy_question = st.builds(_insert, st.sampled_from(QUESTIONS),
                           st.lists(st.sampled_from(HOSTILE), max_size=4),
                           st.lists(st.floats(0, 1), min_size=4, max_size=4))
questions = st.one_of(
    st.text(max_size=300),  # any code point but lone surrogates: controls, RTL, emoji...
    st.lists(st.sampled_from(HOSTILE + ["carers", "objective", "NHS", "15", " "]),
             max_size=20).map("".join),
    st.text(alphabet=string.punctuation + "\u00ab\u00bb\u2014\u2026\u00bf\u00a1 ", max_size=50),
    noisy_question,
)


def check_outcome(assistant, question: str) -> None:
    """ask and objectives: an answer, a refusal, or one clear AssistantError."""
    try:
        answer = assistant.ask(question)
    except AssistantError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and len(message) < 300
        with pytest.raises(AssistantError):
            assistant.objectives(question)  # the same question is refused the same way
        return
    assert isinstance(answer, Answer) and answer.answer.strip()
    assert Answer.model_validate_json(answer.model_dump_json()) == answer
    index = assistant.index
    for c in answer.citations + answer.closest:
        assert index.documents[c.doc_id].text[c.start : c.end] == c.quote
    if answer.refused:
        assert not answer.citations
    else:
        assert answer.citations
        quotes = {c.marker: c.quote for c in answer.citations}
        for text, marker in split_answer(answer.answer):
            assert text and text in quotes[marker]
    matches = assistant.objectives(question)
    assert all(m.id in {o.id for o in index.objectives} for m in matches)


@MODEL
@given(question=questions)
@example(question="carers " * 14_286)  # 100,000 characters
@example(question="x" * 100_000)
@example(question="\u202eWhich objective covers carers?\u202c")  # right-to-left override
@example(question="\u0645\u0627 \u0647\u0648 \u0627\u0644\u0647\u062f\u0641 carers "
                  "\u05de\u05d4 \u05d4\u05de\u05d8\u05e8\u05d4")  # Arabic and Hebrew
@example(question="\U0001f9d1\u200d\u2695\ufe0f carers \U0001f499\U0001f3e5")  # emoji
@example(question="carers\x00support\x01\x1b[31m objective\x7f")  # NUL and controls
@example(question="?!.,;:\u2014\u00ab\u00bb\u2026")  # only punctuation
@example(question="\u200b\u200c\ufeff\u2060")  # only invisible characters
@example(question="")
@example(question=" \t\n\r ")
@example(question="<script>alert(1)</script> [carers](javascript:alert(1)) **objective**")
@example(question="Objective 99999999999999999999 of the 2099 mandate?")
@example(question="c" * 1000)
@example(question="c" * 1001)
def test_ask_and_objectives_never_raise_anything_but_assistant_error(assistant, question):
    check_outcome(assistant, question)


@pytest.mark.parametrize("question", [
    "Which objective covers carers? \ud800",  # a lone high surrogate
    "carers \udcff\udcfe",  # what undecodable bytes on stdin become (surrogateescape)
    "\ud83d objective",  # half of an emoji
])
def test_questions_with_lone_surrogates_are_answered_or_refused_clearly(assistant, question):
    check_outcome(assistant, question)


def test_ask_jsonl_reports_a_hostile_line_and_goes_on(built, monkeypatch, capsys):
    """`assistant ask --jsonl` reading bytes that are not UTF-8 (surrogates on stdin)."""
    from assistant.cli import main

    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(built.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built.index_dir))
    lines = ["Which objective covers carers?", "carers \udcff\udcfe support",
             "\x00\x01", "How will dementia care be improved?"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    code = main(["ask", "--jsonl"])
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(out) == 4, out
    assert "answer" in out[0] and "answer" in out[3]
    assert "error" in out[2]
    assert "answer" in out[1] or "error" in out[1]
    assert code == 1


# ------------------------------------------------------------------ the question clean-up


@FAST
@given(st.text(max_size=2000))
def test_clean_question_returns_plain_text_or_one_question_error(text):
    try:
        cleaned = clean_question(text, 1000)
    except QuestionError as exc:
        assert "\n" not in str(exc)
        return
    assert cleaned == cleaned.strip() and 0 < len(cleaned) <= 1000
    assert any(ch.isalnum() for ch in cleaned)
    assert not [ch for ch in cleaned if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}]
    assert "  " not in cleaned


# ------------------------------------------------------------------ any bytes as a file


@FAST
@given(st.binary(max_size=3000))
def test_decode_text_gives_text_or_one_ingest_error(data):
    try:
        text = decode_text("notes.txt", data)
    except IngestError as exc:
        assert str(exc).startswith("notes.txt: ") and "\n" not in str(exc)
        return
    assert isinstance(text, str)


def _check_document(path, kind: str) -> None:
    t0 = time.perf_counter()
    try:
        doc = load_document(SourceFile(path))
    except IngestError as exc:
        assert str(exc).startswith(f"{path.name}: ") and "\n" not in str(exc)
        return
    finally:
        assert time.perf_counter() - t0 < 20, f"reading a {kind} took too long"
    assert doc.text.strip() and "\ufeff" not in doc.text and "\r" not in doc.text
    for b in doc.blocks:
        assert doc.text[b.start : b.end] == b.text
    offsets = [o for o, _ in doc.page_points]
    assert offsets == sorted(offsets) and all(0 <= o <= len(doc.text) for o in offsets)


text_files = st.tuples(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=1500)
    | st.lists(st.sampled_from(["1.1 Carers need support.", "", "Objective 3: Improve care",
                                "\f", " 12", "Chapter 2", "\u2022 a bullet", "footnote 1 x",
                                "x.indd 11 28/06/2012", "[Home] | [News] | [About] | [Help]",
                                "Have your say", "\u00a0\u00ad\t", "#### Heading"]),
               max_size=60).map("\n".join),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    st.sampled_from([".txt", ".md"]))


@MODEL
@given(text_files)
def test_any_text_file_becomes_a_document_or_one_ingest_error(tmp_path, case):
    text, encoding, suffix = case
    path = tmp_path / f"notes{suffix}"
    path.write_bytes(text.encode(encoding, errors="replace"))
    _check_document(path, "text file")


@pytest.fixture(scope="module")
def pdf_bytes(tmp_path_factory) -> bytes:
    return policy_pdf(tmp_path_factory.mktemp("pdf") / "policy.pdf").read_bytes()


mutations = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert", "truncate", "copy"]),
                               st.floats(0, 1), st.binary(min_size=1, max_size=40)),
                     min_size=1, max_size=6)


@MODEL
@given(mutations)
def test_any_damaged_pdf_becomes_a_document_or_one_ingest_error(tmp_path, pdf_bytes, changes):
    data = bytearray(pdf_bytes)
    for op, where, blob in changes:
        at = int(where * (len(data) - 1)) if data else 0
        if op == "flip" and data:
            data[at] ^= blob[0] or 1
        elif op == "cut":
            del data[at : at + 10 * len(blob)]
        elif op == "insert":
            data[at:at] = blob
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + 200]
    path = tmp_path / "damaged.pdf"
    path.write_bytes(bytes(data))
    _check_document(path, "damaged PDF")


# ------------------------------------------------------------------ uploads and rendering


@FAST
@given(name=st.text(max_size=120) | st.builds(
    lambda parts, ext: "/".join(parts) + ext,
    st.lists(st.sampled_from(["..", ".", "", "~", "etc", "x", "..\\..", "\x00", "C:"]),
             max_size=6),
    st.sampled_from([".pdf", ".txt", ".md", ".PDF", "", ".pdf.exe"])),
    ext=st.sampled_from([".pdf", ".txt", ".md"]))
def test_upload_names_always_stay_inside_the_corpus_folder(tmp_path, name, ext):
    from ui.uploads import safe_filename, target_path

    filename = safe_filename(name, ext)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", filename[: -len(ext)]), filename
    assert filename.endswith(ext) and len(filename) <= 80 + len(ext)
    path = target_path(tmp_path, filename)
    assert path.parent == tmp_path.resolve()


_ESCAPED = re.compile(r"\\.", re.S)


@FAST
@given(st.text(max_size=300) | st.lists(st.sampled_from(HOSTILE + ["a", " ", "\n", "\n\n",
                                                                     "http://x.org"]),
                                        max_size=30).map("".join))
def test_rendered_text_has_no_live_markdown_or_html(text):
    from ui.render import highlight, md_escape

    bare = _ESCAPED.sub("", md_escape(text))
    assert not [ch for ch in bare if ch in string.punctuation], bare
    assert "http://" not in bare and "https://" not in bare
    rendered = highlight(text, len(text) // 3, 2 * len(text) // 3)
    opened = rendered.count(":yellow-background[")
    bare = _ESCAPED.sub("", rendered).replace(":yellow-background[", "")
    assert [ch for ch in bare if ch in string.punctuation] == ["]"] * opened, rendered
