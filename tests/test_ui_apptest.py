"""The Streamlit app driven headless with AppTest, on the real model and a real index.

Every test points the app at the session's built index (tests/conftest.py `built`); the
model and index load once per process (st.cache_resource) and are shared by the tests.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import threading
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from ui.render import highlight, md_escape  # noqa: E402
from ui.uploads import UploadError, check_upload, safe_filename, save_upload  # noqa: E402

APP = str(PROJECT_ROOT / "ui" / "app.py")
TIMEOUT = 60  # the first run in a process loads the model and the index
DRAFT = "draft-mandate-2012"
SUMMARY = "mandate-2017-19-summary"


@pytest.fixture
def env(built, monkeypatch, tmp_path):
    """Point the app at the session's index; feedback goes to this test's own folder."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built.index_dir))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(built.corpus_dir))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    """Markdown the app escaped, read back as the text a user sees."""
    return markdown.replace("\\", "")


def sources(at: AppTest) -> list[str]:
    """The header lines of the cited (or closest) passages on the page."""
    return [m.value for m in at.markdown if m.value.startswith("**\\[")]


def test_carers_question_shows_objective_15_and_located_sources(env):
    at = ask(start(), "Which objective covers carers?")
    labels = [e.label for e in at.expander]
    assert any(label.startswith("**Objective 15**") for label in labels), labels
    captions = [c.value for c in at.caption]
    assert any("page " in c or "paragraph " in c for c in captions), captions
    assert sources(at)
    answer = at.chat_message[1].markdown[0].value
    assert "**\\[1\\]**" in answer
    assert any(":yellow-background[" in m.value for m in at.markdown)  # quote highlighted
    assert not at.error


def test_off_topic_question_is_refused_with_closest_passages(env):
    at = start()
    at.sidebar.toggle(key="show_scores").set_value(True).run()
    ask(at, "How do I bake banana bread?")
    assert any("do not cover" in w.value for w in at.warning)
    assert any(m.value == "**Closest passages**" for m in at.markdown)
    assert sources(at)
    assert any("score 0" in plain(c.value) for c in at.caption)


def test_example_question_is_asked(env):
    at = start()
    at.button_group(key="example").set_value("Which objective covers carers?").run()
    assert not at.exception, at.exception
    assert plain(at.chat_message[0].markdown[0].value) == "Which objective covers carers?"
    assert any(e.label.startswith("**Objective 15**") for e in at.expander)


def test_document_filter_narrows_sources(env, assistant):
    at = start()
    at.sidebar.multiselect[0].set_value([SUMMARY]).run()
    ask(at, "How will the NHS improve out-of-hospital care and GP access?")
    heads = sources(at)
    assert heads
    wanted = md_escape(assistant.index.documents[SUMMARY].title)
    assert all(wanted in h for h in heads), heads
    assert any("Searched only" in c.value for c in at.caption)


def test_everyday_wording_is_shown_with_the_terms_it_was_read_as(env):
    at = start()
    ask(at, "Is anything being done about bedsores?")
    assert any("read as the documents' terms: patient safety, avoidable harm"
               in plain(c.value) for c in at.caption), [c.value for c in at.caption]
    ask(at, "What is the NHS Constitution?")
    assert sum("read as the documents' terms" in plain(c.value) for c in at.caption) == 1


def test_question_with_script_is_shown_as_text(env):
    question = "<script>alert(1)</script> **Which** objective covers [carers](x)?"
    at = ask(start(), question)
    shown = at.chat_message[0].markdown[0].value
    assert shown == md_escape(question)
    assert "\\<script\\>" in shown
    for m in at.markdown:
        assert not m.proto.allow_html
        assert "<script>" not in m.value


def test_bad_questions_give_one_clear_message(env):
    at = ask(start(), "x" * 1500)
    assert "limit is 1,000" in plain(at.error[0].value)
    ask(at, "?!")
    assert "no words" in at.error[-1].value
    assert not at.exception


def test_feedback_thumbs_append_a_json_line(env):
    at = ask(start(), "Which objective covers carers?")
    at.feedback[0].set_value(0).run()
    at.feedback[0].set_value(1).run()
    lines = (env / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["rating"], second["rating"]) == ("down", "up")
    assert second["question"] == "Which objective covers carers?"
    assert "[1]" in second["answer"] and second["citations"][0]["quote"]
    assert second["timestamp"]


def test_feedback_page_shows_rated_answers_for_review(env):
    at = start()
    at.switch_page("views/feedback.py").run()
    assert not at.exception, at.exception
    assert any("No feedback yet" in i.value for i in at.info)
    at.switch_page("views/chat.py").run()
    ask(at, "Which objective covers carers?")
    at.feedback[0].set_value(0).run()  # thumbs down
    at.switch_page("views/feedback.py").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric] == ["1", "0", "1"]
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "Which objective covers carers?" in text and "Objective 15" in text
    at.radio(key="fb-filter").set_value("Helpful").run()
    assert "Which objective covers carers?" not in " ".join(plain(m.value) for m in at.markdown)


def test_conversation_downloads_as_markdown_with_citations(env):
    from ui.render import conversation_markdown

    at = ask(start(), "Which objective covers carers?")
    assert not at.sidebar.button(key="clear").disabled
    md = conversation_markdown(at.session_state["messages"], {})
    assert "## Q: Which objective covers carers?" in md
    assert "> " in md and "[1] Our NHS care objectives" in md
    at.sidebar.button(key="clear").click().run()
    assert at.session_state["messages"] == []


def test_objectives_page_lists_every_objective_by_document(env):
    at = start()
    at.switch_page("views/objectives.py").run()
    assert not at.exception, at.exception
    numbers = [e.label.split("**")[1].split()[1] for e in at.expander
               if e.label.startswith("**Objective ")]
    assert numbers == [str(n) for n in range(1, 23)] + [str(n) for n in range(1, 8)]
    at.text_input(key="objective-query").set_value("carers respite").run()
    labels = [e.label for e in at.expander]
    assert labels and labels[0].startswith("**Objective 15**")


def test_plain_english_page_lists_the_glossary_and_filters_it(env):
    from assistant.glossary import default_glossary

    at = start()
    at.switch_page("views/glossary.py").run()
    assert not at.exception, at.exception
    terms = [plain(m.value) for m in at.markdown if m.value.startswith("**")]
    assert terms == [f"**{e.term}**" for e in default_glossary().entries]
    at.text_input(key="glossary-query").set_value("respite").run()
    terms = [plain(m.value) for m in at.markdown if m.value.startswith("**")]
    assert terms == ["**carers**"]
    assert any("Closest objective: Objective 15" in plain(c.value) for c in at.caption)


def test_ask_about_an_objective_opens_the_chat(env):
    at = start()
    at.switch_page("views/objectives.py").run()
    at.button(key=f"ask-{DRAFT}/15").click().run()
    assert not at.exception, at.exception
    assert "Objective 15" in at.chat_message[0].markdown[0].value
    assert any(e.label.startswith("**Objective 15**") for e in at.expander)


def test_consultation_page_lists_the_12_questions(env):
    at = start()
    at.switch_page("views/consultation.py").run()
    assert not at.exception, at.exception
    questions = [m.value for m in at.markdown if m.value.startswith("**Question ")]
    assert len(questions) == 12
    related = [plain(m.value) for m in at.markdown
               if m.value.startswith("Relates to")]
    assert sum("whole mandate" in r for r in related) == 5
    assert any("12, 13, 14, 15" in r for r in related)  # question 9: putting patients first


def test_documents_page_shows_the_manifest(env):
    at = start()
    at.switch_page("views/documents.py").run()
    assert not at.exception, at.exception
    facts = [plain(c.value) for c in at.caption if "passages" in c.value]
    assert len(facts) == 6
    assert any(re.fullmatch(r"constitution · final · 2015-07-27 · 16 pages · \d+ passages · "
                            r"nhs-constitution-2015\.pdf", f) for f in facts), facts
    pattern = (r"draft mandate \+ consultation questions · draft · 2012-07 · 32 pages · "
               r"\d+ passages · draft-mandate-2012\.txt")
    assert any(re.fullmatch(pattern, f) for f in facts), facts


def test_uploads_bad_files_refused_good_file_searchable(built, monkeypatch, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(built.corpus_dir, corpus)
    shutil.copytree(built.index_dir, index)  # its vectors are reused: only new text is embedded
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    before = sorted(p.name for p in corpus.iterdir())

    at = start()
    at.switch_page("views/documents.py").run()
    for name, data, message in [
        ("notes.pdf", b"Plain text pretending to be a PDF.\n" * 20, "is not a PDF"),
        ("broken.pdf", b"%PDF-1.4\n" + b"\x00garbage" * 500, "not a readable PDF"),
    ]:
        at.file_uploader[0].upload(name, data, "application/pdf").run()
        at.button(key="ingest").click().run()
        assert not at.exception, at.exception
        assert message in plain(at.error[0].value), at.error
        assert sorted(p.name for p in corpus.iterdir()) == before
        at.file_uploader[0].clear().run()

    text = ("Hedgehog welfare policy\n\n1.1 Every NHS trust should appoint a hedgehog "
            "welfare lead to look after hedgehogs found in hospital gardens.\n")
    at.file_uploader[0].upload("../../hedgehog policy.txt", text.encode(), "text/plain").run()
    at.button(key="ingest").click().run()
    assert not at.exception, at.exception
    assert "searchable now" in plain(at.success[0].value), (at.success, at.error)
    assert (corpus / "hedgehog-policy.txt").is_file()
    assert not (tmp_path / "hedgehog policy.txt").exists()

    at.switch_page("views/chat.py").run()
    ask(at, "Who looks after hedgehogs found in hospital gardens?")
    assert any("Hedgehog welfare policy" in h for h in sources(at))
    ask(at, "Which objective covers carers?")
    assert any(e.label.startswith("**Objective 15**") for e in at.expander)


def test_missing_index_is_built_on_first_start(monkeypatch, tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(PROJECT_ROOT / "corpus" / "strategic-context-2012.txt", corpus)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    at = start()
    assert not at.error
    assert (tmp_path / "index" / "CURRENT").exists()
    ask(at, "What did the Health and Social Care Act 2012 do?")
    assert sources(at) or at.warning


def test_missing_index_that_cannot_be_built_shows_one_message(monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.error) == 1 and "No .pdf, .txt or .md files" in plain(at.error[0].value)


# ------------------------------------------------------------------ pure helpers of the UI


def test_upload_names_stay_inside_the_corpus(tmp_path, built):
    assert safe_filename("../../x.pdf", ".pdf") == "x.pdf"
    assert safe_filename("..\\..\\evil.txt", ".txt") == "evil.txt"
    assert safe_filename(".hidden.md", ".md") == "hidden.md"
    assert safe_filename("../..", ".txt") == "upload.txt"
    settings = built.with_(corpus_dir=tmp_path / "corpus")
    path = save_upload(settings, "../../x.txt", b"Some plain text about the NHS.")
    assert path.parent == (tmp_path / "corpus").resolve() and path.name == "x.txt"
    again = save_upload(settings, "x.txt", b"Different text about the NHS mandate.")
    assert again.name == "x-2.txt"
    with pytest.raises(UploadError, match="already in the corpus"):
        save_upload(settings, "copy.txt", b"Some plain text about the NHS.")


def test_upload_type_and_size_are_checked_by_content():
    with pytest.raises(UploadError, match="is not a PDF"):
        check_upload("a.pdf", b"hello", 1000)
    with pytest.raises(UploadError, match="a PNG image"):
        check_upload("a.txt", b"\x89PNG\r\n\x1a\n....", 1000)
    with pytest.raises(UploadError, match="is a PDF, not text"):
        check_upload("a.md", b"%PDF-1.7 ...", 1000)
    with pytest.raises(UploadError, match="over the"):
        check_upload("a.txt", b"x" * 2001, 1000 * 2)
    with pytest.raises(UploadError, match="only PDF"):
        check_upload("a.docx", b"text", 1000)
    assert check_upload("a.PDF", b"%PDF-1.4 ...", 1000) == ".pdf"


def test_highlight_escapes_document_text():
    text = "Intro *not bold* <b>x</b>.\n\nThe [quoted] part_here # and more."
    start = text.index("The")
    out = highlight(text, start, start + len("The [quoted] part_here"))
    assert ":yellow-background[The \\[quoted\\] part\\_here]" in out
    assert "\\*not bold\\*" in out and "\\<b\\>" in out
    assert "http\\:\u2060" in md_escape("see http://example.org")


def test_feedback_log_is_safe_for_concurrent_writers(built, tmp_path):
    from assistant.errors import AssistantError
    from assistant.feedback import read_feedback, record_feedback
    from assistant.types import Answer

    settings = built.with_(data_dir=tmp_path / "fb")
    answer = Answer(question="q", answer="a [1]", refused=False)

    def write(n: int) -> None:
        for _ in range(25):
            record_feedback(settings, "up" if n % 2 else "down", answer)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = read_feedback(settings)
    assert len(entries) == 100 and {e["rating"] for e in entries} == {"up", "down"}
    with pytest.raises(AssistantError, match="not one of"):
        record_feedback(settings, "sideways", answer)
    blocked = built.with_(data_dir=Path("/proc/no-such-dir"))
    with pytest.raises(AssistantError, match="could not be saved"):
        record_feedback(blocked, "up", answer)


def test_answer_cards_say_what_a_provision_is(env):
    at = start()
    ask(at, "Can I choose my GP practice?")
    assert not at.exception, at.exception
    labels = [e.label for e in at.expander]
    assert any(x.startswith("**Right**") and "choose your GP practice" in x for x in labels)


def test_objectives_page_lists_provisions_by_kind(env):
    at = start()
    at.switch_page("views/objectives.py").run()
    assert not at.exception, at.exception
    kinds = [e.label for e in at.expander if not e.label.startswith("**Objective ")]
    assert "**Principles** (7)" in kinds and "**Values** (6)" in kinds
    assert any(x.startswith("**Rights** (") for x in kinds)
    assert any(x.startswith("**Pledges** (") for x in kinds)


def test_a_follow_up_is_read_with_the_question_before_it(env):
    at = ask(ask(start(), "Which objective covers carers?"), "and for children?")
    captions = [plain(c.value) for c in at.caption]
    assert any("Read with the previous question as: “Which objective covers children?”" in c
               for c in captions), captions
    headings = [m.value for m in at.markdown]
    assert "**Objectives this question falls under**" in headings  # carers: Objective 15
    assert "**Related objectives**" in headings
    labels = [e.label for e in at.expander]
    assert not any(label.rstrip().endswith(":") for label in labels), labels  # no "by:"
    assert not at.error


def test_asking_about_a_consultation_question_finds_its_chapter(env):
    at = start()
    at.switch_page("views/consultation.py").run()
    at.button(key=f"ask-q-{DRAFT}-9").click().run()
    assert not at.exception, at.exception
    answer = plain(at.chat_message[1].markdown[0].value)
    assert "Is this the right way for the mandate to support" not in answer
    assert answer.startswith("The documents say:")
