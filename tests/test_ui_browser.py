"""End to end: the app served by `streamlit run`, driven in headless Debian Chromium.

The server runs on a free loopback port against the session's built index and is always
stopped afterwards. Playwright only drives /usr/bin/chromium; it never downloads a browser.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port, streamlit_server
from playwright.sync_api import expect, sync_playwright

from assistant.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
# Screenshots go to the test's own folder; set ASSISTANT_SCREENSHOTS=docs to refresh the
# README's pictures (ASSISTANT_SCREENSHOTS=docs .venv/bin/python -m pytest -m browser).
SCREENSHOTS = os.environ.get("ASSISTANT_SCREENSHOTS")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian Chromium at /usr/bin/chromium "
                              "(apt-get install chromium)"),
]


def _wait_for_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@pytest.fixture
def server(built, tmp_path):
    """The app on a free loopback port, pointed at the built index; stopped afterwards."""
    port = free_port()
    env = {**os.environ,
           "ASSISTANT_INDEX_DIR": str(built.index_dir),
           "ASSISTANT_CORPUS_DIR": str(built.corpus_dir),
           "ASSISTANT_DATA_DIR": str(tmp_path / "data")}
    flags = ["--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    log = tmp_path / "streamlit.log"
    try:
        with streamlit_server(flags, env, log) as proc:
            _wait_for_http(f"http://127.0.0.1:{port}/_stcore/health", proc, timeout=60)
            yield f"http://127.0.0.1:{port}"
    finally:
        print(log.read_text(errors="replace")[-2000:])


@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1500})
        finally:
            browser.close()


def _ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def test_chat_in_a_real_browser(server, page, tmp_path):
    shots = PROJECT_ROOT / SCREENSHOTS if SCREENSHOTS else tmp_path
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server)
    # the first visit loads the model and the index
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=90_000)

    _ask(page, "Which objective covers carers?")
    page.get_by_text("Objective 15", exact=False).first.wait_for(timeout=60_000)
    page.get_by_text("Sources", exact=True).wait_for()
    # tall enough for the whole first answer: the chat scrolls inside its own container
    page.set_viewport_size({"width": 1280, "height": 1860})
    page.wait_for_timeout(800)  # let the layout settle before the screenshot
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "screenshot-chat.png"))
    page.set_viewport_size({"width": 1280, "height": 1500})

    question = "<script>alert(1)</script> Which objective covers carers?"
    _ask(page, question)
    messages = page.get_by_test_id("stChatMessage")
    expect(messages).to_have_count(4, timeout=60_000)
    expect(messages.nth(2).locator("p")).to_have_text(question)  # text, not HTML
    expect(messages.nth(3)).to_contain_text(re.compile("Sources|Closest passages"),
                                            timeout=60_000)
    assert page.locator("script", has_text="alert(1)").count() == 0
    assert dialogs == []

    page.get_by_test_id("stSidebarNav").get_by_text("Objectives").click()
    page.get_by_text("Objective 22", exact=False).first.wait_for(timeout=30_000)
    search = page.get_by_label("Search the objectives")
    search.fill("carers respite")
    search.press("Enter")
    page.get_by_text("The paragraphs that introduce it").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "screenshot-objectives.png"))
    assert dialogs == []
