"""End to end: the app served by `streamlit run`, driven in headless Debian Chromium.

The server runs on a free loopback port against the session's built index and is always
stopped afterwards. Playwright only drives /usr/bin/chromium; it never downloads a browser.
Every page is checked with axe-core (the npm package installed by scripts/test.sh from
package-lock.json, injected from node_modules) and for requests to any host but loopback.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import free_port, streamlit_server
from playwright.sync_api import expect, sync_playwright

from assistant.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
PAGES = ["Ask", "Objectives", "Consultation", "Plain English", "Documents", "Feedback"]
LOCAL = {"127.0.0.1", "localhost", "::1"}
# Screenshots go to the test's own folder; set ASSISTANT_SCREENSHOTS=docs to refresh the
# README's pictures (ASSISTANT_SCREENSHOTS=docs .venv/bin/python -m pytest -m browser).
SCREENSHOTS = os.environ.get("ASSISTANT_SCREENSHOTS")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian Chromium at /usr/bin/chromium "
                              "(apt-get install chromium)"),
    pytest.mark.skipif(not AXE.exists(),
                       reason="needs axe-core in node_modules (npm ci; scripts/test.sh does it)"),
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
def browser(monkeypatch):
    monkeypatch.setenv("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _watch(page, outside: list[str]) -> None:
    """Record every request to a host that is not loopback."""
    def check(request) -> None:
        url = urlparse(request.url)
        if url.scheme in {"http", "https", "ws", "wss"} and url.hostname not in LOCAL:
            outside.append(request.url)
    page.on("request", check)


def _settled(page) -> None:
    """Wait until the script run is over and no element is drawn as stale."""
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"]') && "
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(400)


def _axe(page) -> list[str]:
    """The serious and critical axe-core violations of the page as it is now."""
    _settled(page)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))", AXE_TAGS)
    return found


def _ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def _open(page, title: str) -> None:
    page.get_by_test_id("stTopNavLinkContainer").get_by_text(title, exact=True).first.click()
    page.wait_for_function("(t) => document.title.startsWith(t + ' ·')", arg=title,
                           timeout=30_000)
    _settled(page)


def test_every_page_is_accessible_and_nothing_leaves_the_machine(server, browser, tmp_path):
    shots = PROJECT_ROOT / SCREENSHOTS if SCREENSHOTS else tmp_path
    shots.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    outside: list[str] = []
    dialogs: list[str] = []
    _watch(page, outside)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server)
    # the first visit loads the model and the index
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=90_000)

    _ask(page, "Which objective covers carers?")
    answer = page.locator(".answer").first
    expect(answer).to_contain_text("Objective 15", timeout=60_000)
    expect(answer.get_by_role("heading", name="Sources", exact=True)).to_be_visible()
    marker = answer.locator("a.cite").first
    target = marker.get_attribute("href")
    assert target and answer.locator(target).count() == 1  # [1] leads to its source
    expect(page.locator("#answer-live")).to_contain_text("New answer: Objective 15")
    titles = {page.title()}
    assert _axe(page) == []
    page.set_viewport_size({"width": 1280, "height": 1860})  # the whole first answer
    page.wait_for_timeout(800)
    page.screenshot(path=str(shots / "screenshot-chat.png"))
    page.set_viewport_size({"width": 1280, "height": 1500})

    question = "<script>alert(1)</script> Which objective covers carers?"
    _ask(page, question)
    expect(page.locator("h2.question").nth(1)).to_have_text(question, timeout=60_000)
    expect(page.locator(".answer")).to_have_count(2, timeout=60_000)
    assert page.locator("script", has_text="alert(1)").count() == 0

    for title in PAGES[1:]:
        _open(page, title)
        assert page.locator("h1").count() == 1, title
        assert _axe(page) == [], title
        titles.add(page.title())
        if title == "Objectives":
            search = page.get_by_label("Search the objectives")
            search.fill("carers respite")
            search.press("Enter")
            page.get_by_text("The paragraphs that introduce it").first.wait_for(timeout=30_000)
            _settled(page)
            assert _axe(page) == []
            page.screenshot(path=str(shots / "screenshot-objectives.png"))
    assert len(titles) == len(PAGES), titles
    assert outside == [], outside
    assert dialogs == []


def _thumb(page, label: str):
    return page.locator(".answer").last.locator(
        "xpath=ancestor::*[@data-testid='stChatMessage']").get_by_role("radio", name=label)


def test_ratings_uploads_and_phone_width(server, browser, tmp_path):
    data = tmp_path / "data"
    mine = browser.new_context(viewport={"width": 1280, "height": 1200})
    page = mine.new_page()
    outside: list[str] = []
    _watch(page, outside)
    page.goto(server)
    page.get_by_test_id("stChatInputTextArea").wait_for(timeout=90_000)
    _ask(page, "Which objective covers carers?")
    expect(page.locator(".answer").first).to_contain_text("Objective 15", timeout=60_000)
    _settled(page)
    _thumb(page, "Thumbs up").click()
    _settled(page)
    _thumb(page, "Thumbs down").click()
    _settled(page)
    with sqlite3.connect(data / "assistant.db") as db:
        rows = db.execute("SELECT question, rating FROM turns").fetchall()
    assert rows == [("Which objective covers carers?", "down")]  # replaced, not added

    page.reload()  # the conversation comes back
    expect(page.locator("h2.question").first).to_have_text("Which objective covers carers?",
                                                           timeout=60_000)

    _open(page, "Documents")
    page.locator("input[type=file]").first.set_input_files(files=[{
        "name": "hedgehog policy.txt", "mimeType": "text/plain",
        "buffer": b"Hedgehog welfare policy\n\n1.1 Every NHS trust should appoint a hedgehog "
                  b"welfare lead to look after hedgehogs found in hospital gardens.\n"}])
    page.get_by_role("button", name="Add to my documents").click()
    expect(page.get_by_text("Added hedgehog-policy.txt to your documents")).to_be_visible(
        timeout=120_000)
    expect(page.get_by_text("uploaded by you, not an official document").first).to_be_visible()

    other = browser.new_context(viewport={"width": 1280, "height": 1200}).new_page()
    _watch(other, outside)
    other.goto(server)
    other.get_by_test_id("stChatInputTextArea").wait_for(timeout=90_000)
    _ask(other, "Who looks after hedgehogs found in hospital gardens?")
    expect(other.locator(".answer").first).to_be_visible(timeout=60_000)
    assert "Hedgehog welfare policy" not in other.locator(".answer").first.inner_text()
    _open(other, "Documents")
    assert other.get_by_text("Hedgehog welfare policy").count() == 0

    # phone width: a labelled menu, and rating buttons not hidden behind the input
    _open(page, "Ask")
    page.set_viewport_size({"width": 390, "height": 844})
    _settled(page)
    menu = page.get_by_test_id("stExpandSidebarButton")
    expect(menu).to_have_attribute("aria-label", re.compile(".+"))
    thumb = _thumb(page, "Thumbs up")
    thumb.scroll_into_view_if_needed()
    box = thumb.bounding_box()
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)"
                        "?.closest('[data-testid=stFeedbackButton]') !== null",
                        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert hit, "the rating button is covered"
    assert _axe(page) == []
    menu.click()
    expect(page.get_by_test_id("stSidebarNav").get_by_text("Feedback")).to_be_visible()
    assert outside == [], outside
