"""PostgreSQL + pgvector as the store, against a real server started by the tests on a
temporary folder and a loopback port (tests/pgrunner.py) and stopped after."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from pgrunner import postgres
from test_api import api_server, server_env

from assistant.config import Settings
from assistant.search.stores import doc_filter

pytestmark = pytest.mark.postgres

QUESTIONS = ["Which objective covers carers?", "How will the NHS support carers?",
             "What does the mandate say about dementia?"]


@pytest.fixture(scope="module")
def pg():
    with postgres() as server:
        yield server


@pytest.fixture(scope="module")
def pg_settings(pg, built, index) -> Settings:
    """The session's index, published to the database."""
    from assistant.search.pgpublish import publish

    settings = built.with_(database_url=pg.url)
    publish(settings, index)
    return settings


@pytest.fixture(scope="module")
def pg_assistant(pg_settings, embedder):
    from assistant.pipeline import Assistant

    return Assistant(pg_settings, embedder=embedder)


@pytest.fixture(params=["files", "postgres"])
def any_assistant(request, assistant):
    return assistant if request.param == "files" else request.getfixturevalue("pg_assistant")


def test_migrations_are_versioned_and_idempotent(pg_settings):
    from sqlalchemy import text

    from assistant.search.pgstore import MIGRATIONS, engine, migrate

    assert migrate(pg_settings.database_url) == len(MIGRATIONS)
    assert migrate(pg_settings.database_url) == len(MIGRATIONS)  # a second run is a no-op
    with engine(pg_settings.database_url).connect() as conn:
        versions = [r[0] for r in conn.execute(text(
            "SELECT version FROM assistant_schema_migrations ORDER BY version"))]
        indexes = " ".join(r[0] for r in conn.execute(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'data_passages_%'")))
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert "USING hnsw (embedding vector_cosine_ops)" in indexes
    assert "USING gin (text_search_tsv)" in indexes


def test_loaded_from_the_database_equals_the_files(pg_assistant, index):
    pg_index = pg_assistant.index
    assert [p.id for p in pg_index.passages] == [p.id for p in index.passages]
    assert pg_index.passages == index.passages
    assert {d: x.text for d, x in pg_index.documents.items()} == {
        d: x.text for d, x in index.documents.items()}
    assert pg_index.objectives == index.objectives and pg_index.questions == index.questions
    assert (pg_index.sentence_vectors == index.sentence_vectors).all()


def test_store_filters_inside_and_finds_what_exact_search_finds(pg_assistant, assistant):
    pg_store, file_store = pg_assistant.retriever.store, assistant.retriever.store
    doc = "strategic-context-2012"
    n_doc = sum(p.doc_id == doc for p in assistant.index.passages)
    for question in QUESTIONS:
        vector = assistant.embedder.embed(question)
        exact = [i for i, _ in file_store.search(vector=vector, k=10)]
        found = [i for i, _ in pg_store.search(vector=vector, k=10)]
        assert len(set(found) & set(exact)) >= 9, question  # HNSW recall@10 vs exact
        filtered = pg_store.search(vector=vector, k=min(10, n_doc),
                                   filters=doc_filter([doc]))
        assert len(filtered) == min(10, n_doc)  # the filter never starves the result
        by_id = assistant.index.by_id
        assert {assistant.index.passages[by_id[i]].doc_id for i, _ in filtered} == {doc}
        words = pg_store.search(terms=question, k=5, filters=doc_filter([doc]))
        assert all(assistant.index.passages[by_id[i]].doc_id == doc for i, _ in words)
    assert pg_store.search(terms="zzzqqq xxyyzz", k=5) == []


@pytest.mark.parametrize("question", ["Which objective covers carers?",
                                      "What support will carers get from the NHS?"])
def test_answers_on_both_stores(any_assistant, question):
    answer = any_assistant.ask(question)
    assert not answer.refused
    assert answer.objectives[0].number == "15"
    assert answer.citations
    for c in answer.citations:
        assert c.quote in any_assistant.index.documents[c.doc_id].text


def test_off_topic_refused_and_filters_on_both_stores(any_assistant):
    assert any_assistant.ask("What is the best recipe for lemon drizzle cake?").refused
    answer = any_assistant.ask("How will the NHS support carers?", k=3,
                               doc_ids=["draft-mandate-2012"])
    assert {c.doc_id for c in answer.citations + answer.closest} == {"draft-mandate-2012"}


def test_both_stores_rank_the_evaluation_questions_alike(pg_assistant, assistant):
    """The lexical side scores BM25 over the same tokens as the files store, and the
    dense side finds what exact search finds, so the hybrid rankings agree."""
    from assistant.config import PROJECT_ROOT

    rows = (PROJECT_ROOT / "eval" / "questions.jsonl").read_text().splitlines()
    questions = [json.loads(r)["question"] for r in rows if r.strip()]
    same_lexical = same_top5 = 0
    for q in questions:
        lex = [[i for i, _ in a.retriever.store.search(terms=q, k=10)]
               for a in (assistant, pg_assistant)]
        same_lexical += lex[0] == lex[1]
        query = assistant.query(q)
        top = [[h.passage.id for h in a.retriever.search(query, 5)]
               for a in (assistant, pg_assistant)]
        same_top5 += top[0] == top[1]
    assert same_lexical / len(questions) >= 0.95
    assert same_top5 / len(questions) >= 0.95


def test_publish_switches_atomically_while_readers_load(pg_settings, index, embedder):
    """Readers loading in a loop while two builds are published see whole builds only,
    and the version they see changes; builds older than the previous one are dropped.
    (Runs after the tests that use `pg_assistant`, whose build it drops.)"""
    from sqlalchemy import text

    from assistant.search.pgpublish import publish
    from assistant.search.pgstore import current_version, engine, load_pg_index

    before = current_version(pg_settings)
    seen, errors, stop = set(), [], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                data = load_pg_index(pg_settings)
                assert len(data.passages) == len(index.passages)
                assert len(data.passage_vectors) == len(index.passages)
                seen.add(data.manifest["name"])
            except Exception as exc:  # noqa: BLE001 (collected and asserted on)
                errors.append(repr(exc))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    names = [publish(pg_settings, index) for _ in range(2)]
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert current_version(pg_settings) == names[-1] != before
    with engine(pg_settings.database_url).connect() as conn:
        live = {r[0] for r in conn.execute(text("SELECT name FROM assistant_builds"))}
        tables = conn.execute(text("SELECT count(*) FROM pg_tables "
                                   "WHERE tablename LIKE 'data_passages_%'")).scalar()
    assert live == set(names) and tables == 2


def test_api_on_postgres_503_while_the_database_is_down_then_recovers(pg_settings, pg,
                                                                       tmp_path):
    env = server_env(pg_settings, ASSISTANT_DATABASE_URL=pg.url)
    with api_server(env, tmp_path / "server.log") as url:
        ask = {"question": "Which objective covers carers?"}
        r = httpx.post(f"{url}/ask", json=ask, timeout=60)
        assert r.status_code == 200 and r.json()["objectives"][0]["number"] == "15"
        pg.stop("fast")
        try:
            r = httpx.post(f"{url}/ask", json=ask, timeout=60)
            assert r.status_code == 503, r.text
            assert json.loads(r.text)["error"] and r.headers["retry-after"]
        finally:
            pg.start()
        for _ in range(20):  # the pool reconnects by itself; no restart of the API
            r = httpx.post(f"{url}/ask", json=ask, timeout=60)
            if r.status_code == 200:
                break
        assert r.status_code == 200 and r.json()["objectives"][0]["number"] == "15"


def test_a_second_publisher_is_refused_while_one_publishes(pg_settings, index):
    from sqlalchemy import text

    from assistant.errors import IngestError
    from assistant.search.pgpublish import _INGEST_LOCK, publish
    from assistant.search.pgstore import engine

    with engine(pg_settings.database_url).connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _INGEST_LOCK})
        try:
            with pytest.raises(IngestError, match="Another ingest is publishing"):
                publish(pg_settings, index)
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _INGEST_LOCK})
            other.commit()
