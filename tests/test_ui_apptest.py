"""The Streamlit app driven headless with AppTest, on the real model and a real index.

Every test points the app at the session's built index (tests/conftest.py `built`); the
model and index load once per process (st.cache_resource) and are shared by the tests.
"""

from __future__ import annotations

import html
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
from uihelp import APP, DRAFT, SUMMARY, TIMEOUT, answers, ask, htmls, plain, sources, start  # noqa: E402

from ui.render import highlight, md_escape  # noqa: E402


def test_carers_question_shows_objective_15_and_located_sources(env):
    at = ask(start(), "Which objective covers carers?")
    body = answers(at)[0]
    assert "<summary><strong>Objective 15</strong>" in body
    assert "<h3>Sources</h3>" in body  # a heading, not bold text
    assert re.search(r'<p class="where">[^<]*(page|paragraph) ', body)
    assert sources(at) and sources(at)[0].startswith("[1] ")
    # each [n] marker links to its source, which carries that anchor
    link = re.search(r'<a class="cite" href="#(src-[0-9a-f]+-1)"', body)
    assert link and f'id="{link.group(1)}"' in body
    assert "<mark>" in body  # quote highlighted inside its paragraph
    assert not at.error


def test_off_topic_question_is_refused_with_closest_passages(env):
    at = start()
    at.toggle(key="show_scores").set_value(True).run()
    ask(at, "How do I bake banana bread?")
    body = answers(at)[0]
    assert 'class="refusal"' in body and "do not cover" in body
    assert "<h3>Closest passages</h3>" in body
    assert sources(at)
    assert "score 0" in body


def test_example_question_is_asked(env):
    at = start()
    at.button_group(key="example").set_value("Which objective covers carers?").run()
    assert not at.exception, at.exception
    assert '<h2 class="question">Which objective covers carers?</h2>' in htmls(at)
    assert "<strong>Objective 15</strong>" in answers(at)[0]


def test_document_filter_narrows_sources(env, assistant):
    at = start()
    at.multiselect(key="docs").set_value([SUMMARY]).run()
    ask(at, "How will the NHS improve out-of-hospital care and GP access?")
    heads = sources(at)
    assert heads
    wanted = assistant.index.documents[SUMMARY].title
    assert all(wanted in h for h in heads), heads
    assert "Searched only" in answers(at)[0]


def test_everyday_wording_is_shown_with_the_terms_it_was_read_as(env):
    at = start()
    ask(at, "Is anything being done about bedsores?")
    wording = "read as the documents' terms: patient safety, avoidable harm"
    assert wording in html.unescape(answers(at)[0])
    ask(at, "What is the NHS Constitution?")
    assert sum("read as the documents" in b for b in answers(at)) == 1


def test_question_with_script_is_shown_as_text(env):
    question = "<script>alert(1)</script> **Which** objective covers [carers](x)?"
    at = ask(start(), question)
    shown = [b for b in htmls(at) if b.startswith('<h2 class="question">')]
    assert shown == [f'<h2 class="question">{html.escape(question)}</h2>']
    for b in answers(at) + shown:
        assert "<script>" not in b
    for m in at.markdown:
        assert not m.proto.allow_html


def test_bad_questions_give_one_clear_message(env):
    at = ask(start(), "x" * 1500)
    assert "limit is 1,000" in plain(at.error[0].value)
    ask(at, "?!")
    assert "no words" in at.error[-1].value
    assert not at.exception


def _stored(env) -> list[dict]:
    from assistant.config import Settings
    from assistant.conversations.store import open_store

    return open_store(Settings(data_dir=env)).turns()


def test_one_rating_per_answer_replaced_cleared_and_commented(env):
    at = ask(start(), "Which objective covers carers?")
    turns = _stored(env)  # every question is logged, rated or not
    assert len(turns) == 1 and turns[0]["rating"] is None
    assert turns[0]["question"] == "Which objective covers carers?"
    assert "[1]" in turns[0]["answer"] and turns[0]["citations"][0]["quote"]
    at.feedback[0].set_value(1).run()
    at.feedback[0].set_value(0).run()  # changed its mind: replaced, not added
    turns = _stored(env)
    assert len(turns) == 1 and turns[0]["rating"] == "down"
    at.text_area(key=f"cm-{turns[0]['id']}").input("It missed the respite breaks.").run()
    assert _stored(env)[0]["comment"] == "It missed the respite breaks."
    at.feedback[0].set_value(None).run()  # cleared
    assert [t["rating"] for t in _stored(env)] == [None]


def test_earlier_turns_are_drawn_once_without_widgets(env):
    at = ask(start(), "Which objective covers carers?")
    at.feedback[0].set_value(1).run()
    for question in ("What does the mandate say about mental health?",
                     "What support is there for the armed forces?"):
        ask(at, question)
    earlier = [b for b in htmls(at) if b.startswith('<div class="earlier">')]
    assert len(earlier) == 1  # the oldest turn, as one block
    assert '<h2 class="question">Which objective covers carers?</h2>' in earlier[0]
    assert "You rated this answer helpful." in earlier[0]
    assert re.search(r'href="#(src-[0-9a-f]+-1)"', earlier[0])
    assert len(at.feedback) == 2  # the two latest answers keep their controls


def test_question_logging_can_be_turned_off(env, monkeypatch):
    monkeypatch.setenv("ASSISTANT_LOG_QUESTIONS", "false")
    at = ask(start(), "Which objective covers carers?")
    assert _stored(env) == []
    at.feedback[0].set_value(1).run()  # a rated answer is kept all the same
    assert [t["rating"] for t in _stored(env)] == ["up"]


def test_conversation_survives_a_reload(env):
    at = ask(start(), "Which objective covers carers?")
    at.feedback[0].set_value(1).run()
    sid = at.query_params["s"][0] if isinstance(at.query_params["s"], list) else \
        at.query_params["s"]
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["s"] = sid
    again.run()
    assert not again.exception, again.exception
    assert '<h2 class="question">Which objective covers carers?</h2>' in htmls(again)
    assert "<strong>Objective 15</strong>" in answers(again)[0]
    assert again.feedback[0].value == 1
    ask(again, "and for children?")  # the restored conversation is what it is read with
    assert "Which objective covers children?" in html.unescape(answers(again)[-1])
    other = start()  # a new visitor starts empty
    assert not answers(other)


def test_feedback_page_filters_and_exports(env):
    import csv
    import io

    from ui.exports import to_csv, to_jsonl

    at = start()
    at.switch_page("views/feedback.py").run()
    assert not at.exception, at.exception
    assert any("Nothing matches" in i.value for i in at.info)
    at.switch_page("views/chat.py").run()
    ask(at, "Which objective covers carers?")
    at.feedback[0].set_value(0).run()  # thumbs down
    ask(at, "What does the mandate say about mental health?")  # not rated
    at.switch_page("views/feedback.py").run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric] == ["2", "1", "0", "1"]
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "Which objective covers carers?" in text and "mental health" in text
    # local time, not raw ISO
    assert not any(re.search(r"\d{4}-\d\d-\d\dT", c.value) for c in at.caption)
    at.selectbox(key="fb-filter").set_value("Not rated").run()
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "mental health" in text and "Which objective covers carers?" not in text
    at.selectbox(key="fb-filter").set_value("All").run()
    at.selectbox(key="fb-doc").set_value("mandate-2017-19-summary").run()
    assert [m.value for m in at.metric][0] in {"0", "1", "2"}
    turns = _stored(env)
    rows = list(csv.DictReader(io.StringIO(to_csv(turns))))
    assert {r["rating"] for r in rows} == {"down", ""}
    assert all(json.loads(line)["question"] for line in to_jsonl(turns).splitlines())


def test_conversation_clears_and_downloads_as_markdown(env):
    from ui.render import conversation_markdown

    at = ask(start(), "Which objective covers carers?")
    assert not at.button(key="clear").disabled
    md = conversation_markdown(at.session_state["messages"], {})
    assert "## Q: Which objective covers carers?" in md
    assert "> " in md and "[1] Our NHS care objectives" in md
    at.button(key="clear").click().run()
    assert at.session_state["messages"] == []
    sid = at.query_params["s"]
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["s"] = sid[0] if isinstance(sid, list) else sid
    again.run()
    assert not answers(again)  # a cleared conversation does not come back
    assert len(_stored(env)) == 1  # but stays in the store for the trainers


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


def test_objective_search_is_ranked_and_matches_whole_words(env):
    at = start()
    at.switch_page("views/objectives.py").run()
    at.text_input(key="objective-query").set_value("carers").run()
    labels = [e.label for e in at.expander if e.label.startswith("**Objective ")]
    assert len(labels) > 1 and labels[0].startswith("**Objective 15**"), labels
    at.text_input(key="objective-query").set_value("mum").run()
    assert not any("contain every word" in c.value and not c.value.startswith("0 ")
                   for c in at.caption), [c.value for c in at.caption]
def test_plain_english_page_lists_the_glossary_and_filters_it(env):
    from assistant.answer.glossary import default_glossary

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
    assert "Objective 15" in htmls(at)[-2] or any("Objective 15" in b for b in htmls(at))
    assert "<strong>Objective 15</strong>" in answers(at)[0]


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
    assert sources(at) or answers(at)


def test_missing_index_that_cannot_be_built_shows_one_message(monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.error) == 1 and "No .pdf, .txt or .md files" in plain(at.error[0].value)


# ------------------------------------------------------------------ pure helpers of the UI


def test_highlight_escapes_document_text():
    text = "Intro *not bold* <b>x</b>.\n\nThe [quoted] part_here # and more."
    start = text.index("The")
    out = highlight(text, start, start + len("The [quoted] part_here"))
    assert ":yellow-background[The \\[quoted\\] part\\_here]" in out
    assert "\\*not bold\\*" in out and "\\<b\\>" in out
    assert "http\\:\u2060" in md_escape("see http://example.org")


def test_feedback_log_is_safe_for_concurrent_writers(built, tmp_path):
    from assistant.conversations.store import read_feedback, record_feedback
    from assistant.errors import AssistantError
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
    with pytest.raises(AssistantError, match="could not be opened"):
        record_feedback(blocked, "up", answer)


def _summaries(at) -> list[str]:
    """The headlines of the objective and provision cards in the answers, as text."""
    return [html.unescape(re.sub(r"<[^>]+>", "", x)) for b in answers(at)
            for x in re.findall(r"<summary>(.*?)</summary>", b)]


def _answer_text(body: str) -> str:
    """An answer's own text (before its cards and sources), as a user reads it."""
    return html.unescape(re.sub(r"<[^>]+>", " ", body.split("<h3>")[0])).strip()


def test_answer_cards_say_what_a_provision_is(env):
    at = start()
    ask(at, "Can I choose my GP practice?")
    assert not at.exception, at.exception
    body = answers(at)[0]
    assert "<h3>Rights, pledges and other provisions it falls under</h3>" in body
    labels = re.findall(r"<summary>(.*?)</summary>", body)
    assert any(x.startswith("<strong>Right</strong>") and "choose your GP practice" in x
               for x in labels), labels
    from ui.render import conversation_markdown

    md = conversation_markdown(at.session_state["messages"], {})
    assert "**Rights, pledges and other provisions:**" in md and "\n- Right (" in md


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
    bodies = [html.unescape(b) for b in answers(at)]
    assert "Read with the previous question as: \u201cWhich objective covers children?\u201d" \
        in bodies[-1], bodies[-1]
    assert "Read with the previous question" not in bodies[0]
    from ui.render import conversation_markdown

    md = conversation_markdown(at.session_state["messages"], {})
    assert "Read with the previous question as: \u201cWhich objective covers children?" in md
    headings = [h for b in bodies for h in re.findall(r"<h3>(.*?)</h3>", b)]
    assert "Objectives this question falls under" in headings  # carers: Objective 15
    assert "Related objectives" in headings
    labels = _summaries(at)
    assert labels and not any(x.rstrip().endswith(":") for x in labels), labels  # no "by:"
    assert not at.error


def test_asking_about_a_consultation_question_finds_its_chapter(env):
    at = start()
    at.switch_page("views/consultation.py").run()
    at.button(key=f"ask-q-{DRAFT}-9").click().run()
    assert not at.exception, at.exception
    answer = _answer_text(answers(at)[0])
    assert "Is this the right way for the mandate to support" not in answer
    assert answer.startswith("The documents say:")


def test_provision_search_is_ranked_and_matches_whole_words(env):
    at = start()
    at.switch_page("views/objectives.py").run()
    at.text_input(key="objective-query").set_value("choose GP practice").run()
    assert not at.exception, at.exception
    assert "Rights, pledges and other provisions" in [h.value for h in at.header]
    rights = [e for e in at.expander if e.label.startswith("**Rights**")]
    assert rights, [e.label for e in at.expander]
    first = plain(rights[0].markdown[0].value)
    assert "choose your GP practice" in first, first  # the best match first
    at.text_input(key="objective-query").set_value("pled").run()  # not a whole word
    assert not [e for e in at.expander if e.label.startswith("**Pledges**")]


def test_a_source_notes_what_its_quote_prints_as_the_document_printed_it(env):
    at = ask(start(), "What is the ambition for patient safety in the draft mandate?")
    body = answers(at)[0]
    note = re.search(r'<p class="as-printed">(.*?)</p>', body)
    assert note and "\u201cengland\u201d" in note.group(1) and "\u201cX%\u201d" in note.group(1)
    assert not at.error


def test_provision_cards_fall_under_only_when_quoted_or_confident(env):
    """A right the answer quotes falls under the question; a Constitution duty that merely
    scores near a question about the consultation is not shown as falling under it, nor as
    related when the answer quotes nothing of the Constitution."""
    at = ask(start(), "When does the consultation close?")
    body = answers(at)[0]
    assert "provisions it falls under</h3>" not in body
    assert "Related rights, pledges" not in body
    answer = at.session_state["messages"][-1]["answer"]
    assert answer.provisions and not any(p.falls_under for p in answer.provisions)
    at = ask(start(), "Can I choose my GP practice?")
    answer = at.session_state["messages"][-1]["answer"]
    right = next(p for p in answer.provisions if "choose your GP practice" in p.title)
    assert right.falls_under
    assert "provisions it falls under</h3>" in answers(at)[-1]
    assert not at.error
