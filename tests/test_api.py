"""The HTTP API, tested against a real `assistant serve` process on a free loopback port,
with the real model and the real index; the server is always stopped afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import free_port, stop_process

from assistant.config import PROJECT_ROOT


@contextmanager
def api_server(env: dict, log_path: Path, args: tuple[str, ...] = (), ready: bool = True):
    """Run `assistant serve` on a free port; yield its base URL; always stop it after."""
    port = free_port()
    log = open(log_path, "w+b")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port),
                             *args], cwd=PROJECT_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + ("/readyz" if ready else "/healthz"), proc, log_path, timeout=120)
        yield url
    finally:
        stop_process(proc, log)


def _wait(url: str, proc: subprocess.Popen | None, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"server not ready in {timeout}s: {log_path.read_text()[-2000:]}")


def server_env(settings, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_DATABASE_URL"}
    return {**env, "ASSISTANT_INDEX_DIR": str(settings.index_dir),
            "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
            "ASSISTANT_DATA_DIR": str(settings.data_dir), **extra}


@pytest.fixture(scope="module")
def api(built, tmp_path_factory):
    log = tmp_path_factory.mktemp("api") / "server.log"
    with api_server(server_env(built, ASSISTANT_API_REQUESTS_PER_MINUTE="40"), log) as url:
        yield url, log


def test_carers_question_answers_with_objective_15_and_citations(api, assistant):
    url, _ = api
    r = httpx.post(f"{url}/ask", json={"question": "Which objective covers carers?"},
                   timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["refused"]
    assert body["objectives"][0]["number"] == "15"
    assert body["citations"] and all(c["quote"] for c in body["citations"])
    for c in body["citations"]:  # quotes are verbatim from the ingested text
        assert c["quote"] in assistant.index.documents[c["doc_id"]].text
    # the same JSON as the library gives (bar the timings)
    direct = json.loads(assistant.ask("Which objective covers carers?").model_dump_json())
    body.pop("timings_ms"), direct.pop("timings_ms")
    assert body == direct


def test_bad_input_is_400_unknown_document_404_as_json(api):
    url, _ = api
    cases = [({"question": "   "}, 400), ({"question": "x" * 5000}, 400), ({}, 400),
             ({"question": "carers", "k": 0}, 400), ({"question": "carers", "k": "five"}, 400),
             ({"question": "carers", "docs": ["no-such-doc"]}, 404)]
    for payload, status in cases:
        r = httpx.post(f"{url}/ask", json=payload, timeout=30)
        assert r.status_code == status, (payload, r.text)
        assert r.headers["content-type"].startswith("application/json")
        assert isinstance(r.json()["error"], str) and r.json()["error"]
    r = httpx.post(f"{url}/ask", content=b"{not json", timeout=30,
                   headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert httpx.get(f"{url}/documents/no-such-doc", timeout=30).status_code == 404


def test_body_size_limit_is_413(api):
    url, _ = api
    r = httpx.post(f"{url}/ask", json={"question": "carers " * 5000}, timeout=30)
    assert r.status_code == 413 and "bytes" in r.json()["error"]


def test_documents_provisions_health_and_openapi(api, index):
    url, _ = api
    docs = httpx.get(f"{url}/documents", timeout=30).json()["documents"]
    assert {d["doc_id"] for d in docs} == set(index.documents)
    one = docs[0]["doc_id"]
    assert httpx.get(f"{url}/documents/{one}", timeout=30).json()["doc_id"] == one
    prov = httpx.get(f"{url}/provisions", params={"q": "support for carers", "k": 3},
                     timeout=30).json()
    assert len(prov["provisions"]) == 3 and prov["provisions"][0]["number"] == "15"
    assert httpx.get(f"{url}/provisions", timeout=30).status_code == 400
    assert httpx.get(f"{url}/healthz", timeout=30).json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz", timeout=30).json()
    assert ready["status"] == "ready" and ready["passages"] == len(index.passages)
    paths = httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]
    assert {"/ask", "/provisions", "/documents", "/healthz", "/readyz"} <= set(paths)


def test_rate_limit_then_access_log(api):
    """Runs last on this server: it uses up the per-client allowance (40 a minute)."""
    url, log = api
    asked = httpx.post(f"{url}/ask", json={"question": "Which objective covers carers?"},
                       timeout=60)
    assert asked.status_code == 200
    statuses = [httpx.get(f"{url}/documents", timeout=30).status_code for _ in range(45)]
    assert 429 in statuses and statuses[0] == 200
    limited = httpx.get(f"{url}/documents", timeout=30)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200  # probes not limited
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    assert {"request_id", "client", "method", "path", "status", "ms"} <= set(lines[-1])
    assert any(x["path"] == "/ask" and x["status"] == 200 for x in lines)


def test_no_index_is_503_until_one_is_built(tmp_path, embedder):
    """A server started before any index exists answers 503 (as JSON), then serves the
    index as soon as an ingest has built it, without a restart."""
    from conftest import copy_corpus

    from assistant.config import Settings
    from assistant.search.index import build_index

    settings = Settings(corpus_dir=copy_corpus(tmp_path / "corpus"),
                        index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    with api_server(server_env(settings), tmp_path / "log", ready=False) as url:
        r = httpx.post(f"{url}/ask", json={"question": "carers"}, timeout=30)
        assert r.status_code == 503 and "ingest" in r.json()["error"]
        assert httpx.get(f"{url}/readyz", timeout=30).status_code == 503
        build_index(settings, embedder=embedder)
        _wait(f"{url}/readyz", None, tmp_path / "log", timeout=60)
        r = httpx.post(f"{url}/ask", json={"question": "Which objective covers carers?"},
                       timeout=60)
        assert r.status_code == 200 and r.json()["objectives"][0]["number"] == "15"


def test_serve_rejects_a_bad_port_in_one_line(capsys):
    from assistant.cli import main

    assert main(["serve", "--port", "70000"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --port 70000 is not a port number (1-65535)."]
