"""Shared fixtures: the real model and the real corpus, indexed once per test session into a
temporary folder. Tests never touch the user's index/ or data/ folders."""

from __future__ import annotations

import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """Point every ASSISTANT_* folder at tmp_path so no test writes into the project."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "corpus-unset"))


@pytest.fixture(scope="session")
def embedder():
    from assistant.search.embed import get_embedder

    return get_embedder(Settings().resolved_model_path())


@pytest.fixture(scope="session")
def built(tmp_path_factory, embedder) -> Settings:
    """Settings of an index built once from a copy of the real corpus."""
    from assistant.search.index import build_index

    root = tmp_path_factory.mktemp("session")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data")
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def index(built):
    from assistant.search.index import load_index

    return load_index(built)


@pytest.fixture(scope="session")
def assistant(built, index, embedder):
    from assistant.pipeline import Assistant

    return Assistant(built, index=index, embedder=embedder)


@pytest.fixture
def env(built, monkeypatch, tmp_path):
    """Point the app at the session's index; feedback goes to this test's own folder."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built.index_dir))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(built.corpus_dir))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def copy_corpus(dest: Path) -> Path:
    """Copy the real corpus into `dest` (a test's own folder) and return it."""
    shutil.copytree(CORPUS, dest)
    return dest


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(flags: list[str], env: dict, log_path: Path):
    """Run `streamlit run ui/app.py FLAGS` from the project root; always stop it after."""
    log = open(log_path, "w+b")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "ui/app.py", *flags],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        stop_process(proc, log)


def stop_process(proc: subprocess.Popen, log) -> None:
    """Stop a server the test started (terminate, then kill after 20 s) and close its log."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
