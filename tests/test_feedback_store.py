"""The conversation and feedback store, on SQLite and on a real PostgreSQL server (started
by the tests, tests/pgrunner.py): one rating per answer, filters, history, concurrent
writers. The same tests run on both stores."""

from __future__ import annotations

import threading

import pytest

from assistant.config import Settings
from assistant.conversations.store import make_turn, open_store
from assistant.errors import AssistantError
from assistant.types import Answer, Citation


def _answer(question: str, doc_id: str = "draft-mandate-2012") -> Answer:
    cite = Citation(marker=1, doc_id=doc_id, title="Draft mandate", section="3. Carers",
                    paragraph="3.21", page=22, quote="Carers need support.", score=0.8)
    return Answer(question=question, answer="Carers need support. [1]", refused=False,
                  citations=[cite])


@pytest.fixture(scope="module")
def pg():
    from pgrunner import postgres

    with postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "sqlite":
        return open_store(Settings(data_dir=tmp_path / "data"))
    from sqlalchemy import text

    from assistant.conversations.postgres import PgConversationStore
    from assistant.search.pgstore import engine

    url = request.getfixturevalue("pg").url
    store = open_store(Settings(data_dir=tmp_path / "data", database_url=url))
    assert isinstance(store, PgConversationStore)
    assert not (tmp_path / "data" / "assistant.db").exists()  # nothing in the server's files
    with engine(url).begin() as conn:  # each test starts from an empty store
        conn.execute(text("TRUNCATE assistant_turns, assistant_events"))
    return store


def test_one_rating_per_answer_replaced_and_cleared(store):
    turn = make_turn(_answer("Which objective covers carers?"), session_id="a" * 32)
    store.log_turn(turn)
    store.rate(turn["id"], "up")
    store.rate(turn["id"], "down")
    store.comment(turn["id"], "  Missed respite.  ")
    [row] = store.turns()
    assert (row["rating"], row["comment"]) == ("down", "Missed respite.")
    assert row["rated_at"] and row["citations"][0]["quote"] == "Carers need support."
    assert Answer.model_validate_json(row["answer_json"]).question == row["question"]
    store.rate(turn["id"], None)
    assert [t["rating"] for t in store.turns()] == [None]
    with pytest.raises(AssistantError, match="not one of"):
        store.rate(turn["id"], "sideways")
    with pytest.raises(AssistantError, match="no longer in the store"):
        store.rate("f" * 32, "up")


def test_turns_filter_by_rating_document_and_date(store):
    first = make_turn(_answer("carers?"), session_id="a" * 32)
    second = make_turn(_answer("summary?", doc_id="mandate-2017-19-summary"),
                       session_id="b" * 32)
    store.log_turn(first)
    store.log_turn(second)
    store.rate(first["id"], "up")
    assert [t["question"] for t in store.turns()] == ["summary?", "carers?"]  # newest first
    assert [t["question"] for t in store.turns(rating="up")] == ["carers?"]
    assert [t["question"] for t in store.turns(rating="unrated")] == ["summary?"]
    assert [t["question"] for t in store.turns(doc_id="mandate-2017-19-summary")] == \
        ["summary?"]
    assert store.turns(doc_id="mandate-2017") == []  # a whole id, not a prefix
    assert store.turns(since=second["created_at"]) == store.turns()[:1]
    assert store.turns(until=first["created_at"]) == []


def test_history_is_per_session_and_a_cleared_conversation_is_kept_for_review(store):
    for question in ("one?", "two?"):
        store.log_turn(make_turn(_answer(question), session_id="a" * 32))
    store.log_turn(make_turn(None, question="bad", session_id="b" * 32, error="Too long."))
    assert [t["question"] for t in store.history("a" * 32)] == ["one?", "two?"]
    assert store.history("b" * 32)[0]["error"] == "Too long."
    store.end_conversation("a" * 32)
    assert store.history("a" * 32) == []
    assert len(store.turns()) == 3


def test_concurrent_writers_lose_nothing(store):
    turns = [make_turn(_answer(f"q{n}?"), session_id="c" * 32) for n in range(40)]

    def work(part: list[dict]) -> None:
        for t in part:
            store.log_turn(t)
            store.rate(t["id"], "up")
            store.rate(t["id"], "down")

    threads = [threading.Thread(target=work, args=(turns[n::4],)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = store.turns()
    assert len(rows) == 40 and {r["rating"] for r in rows} == {"down"}


def test_admin_events_are_recorded(store):
    store.log_event("corpus.add", {"file": "x.txt", "title": "X"})
    store.log_event("corpus.remove", {"file": "x.txt", "title": "X"})
    assert [(e["action"], e["file"]) for e in store.events()] == [
        ("corpus.remove", "x.txt"), ("corpus.add", "x.txt")]


@pytest.mark.postgres
def test_postgres_store_is_shared_between_processes(pg, tmp_path):
    """Two processes (as two app servers) write to one database; each sees the other's."""
    import subprocess
    import sys

    from sqlalchemy import text

    from assistant.search.pgstore import engine

    with engine(pg.url).begin() as conn:
        conn.execute(text("TRUNCATE assistant_turns, assistant_events"))
    code = ("import sys; from assistant.config import Settings; "
            "from assistant.conversations.store import make_turn, open_store; "
            "s = open_store(Settings(database_url=sys.argv[1])); "
            "[s.log_turn(make_turn(None, question=f'{sys.argv[2]}{n}', session_id='s' * 32, "
            "error='x')) for n in range(20)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, pg.url, tag]) for tag in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    questions = {t["question"] for t in open_store(
        Settings(data_dir=tmp_path / "d", database_url=pg.url)).history("s" * 32)}
    assert questions == {f"{tag}{n}" for tag in "ab" for n in range(20)}


@pytest.mark.postgres
def test_unreachable_database_is_one_clear_sentence(tmp_path):
    from pgrunner import _free_port

    from assistant.errors import StoreUnavailableError

    url = f"postgresql://postgres@127.0.0.1:{_free_port()}/postgres"  # nothing listens
    with pytest.raises(StoreUnavailableError, match=r"^The conversation store in the "
                                                    r"database could not be opened \(.+\)\.$"):
        open_store(Settings(data_dir=tmp_path / "data", database_url=url))
