"""Helpers shared by the AppTest tests of the Streamlit app."""

from __future__ import annotations

import html
import re
import sys

from assistant.config import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

APP = str(PROJECT_ROOT / "ui" / "app.py")
TIMEOUT = 60  # the first run in a process loads the model and the index
DRAFT = "draft-mandate-2012"
SUMMARY = "mandate-2017-19-summary"


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


def htmls(at: AppTest) -> list[str]:
    """The bodies of the st.html blocks on the page (answers, questions)."""
    return [h.proto.body for h in at.get("html")]


def answers(at: AppTest) -> list[str]:
    return [b for b in htmls(at) if b.startswith('<div class="answer">')]


def sources(at: AppTest) -> list[str]:
    """The headings of the cited (or closest) passages on the page, as text."""
    return [html.unescape(h) for b in answers(at) for h in re.findall(r"<h4>(.*?)</h4>", b)]
