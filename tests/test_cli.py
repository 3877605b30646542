"""The command line, run in-process against the session index: JSON contract, JSON lines,
objectives, one-line errors with exit code 1, ingest skipping a bad file, and the module
entry point in a real subprocess."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from assistant.cli import main
from assistant.config import PROJECT_ROOT

DRAFT = "draft-mandate-2012"
CITATION_FIELDS = {"marker", "doc_id", "title", "section", "paragraph", "page", "quote", "score"}
OBJECTIVE_FIELDS = {"id", "doc_id", "number", "title", "score"}
ANSWER_FIELDS = {"question", "answer", "refused", "citations", "objectives", "closest",
                 "timings_ms"}


@pytest.fixture
def env(monkeypatch, built):
    """Point the CLI at the session-built index and its corpus."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built.index_dir))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(built.corpus_dir))
    return built


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err


# ---------------------------------------------------------------- ask


def test_ask_json_has_every_contract_field(env, index, capsys):
    code, out, err = run(capsys, "ask", "--json", "Which objective covers carers?")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= ANSWER_FIELDS
    assert data["question"] == "Which objective covers carers?"
    assert data["refused"] is False
    assert data["citations"] and data["objectives"]
    for c in data["citations"]:
        assert set(c) >= CITATION_FIELDS
        doc = index.documents[c["doc_id"]]
        assert c["quote"] in doc.text and c["title"] == doc.title
        assert f"[{c['marker']}]" in data["answer"]
    for o in data["objectives"]:
        assert set(o) >= OBJECTIVE_FIELDS
        assert o["id"] == f"{o['doc_id']}/{o['number']}"
    assert data["objectives"][0]["id"] == f"{DRAFT}/15"
    assert data["closest"] == []
    assert {"retrieve", "total"} <= set(data["timings_ms"])


def test_ask_json_refusal_lists_closest(env, capsys):
    code, out, _ = run(capsys, "ask", "--json", "How do I bake banana bread?")
    assert code == 0
    data = json.loads(out)
    assert data["refused"] is True and data["citations"] == []
    assert data["closest"]
    for c in data["closest"]:
        assert set(c) >= CITATION_FIELDS


def test_ask_plain_text_shows_sources(env, capsys):
    code, out, _ = run(capsys, "ask", "Which objective covers carers?")
    assert code == 0
    assert "Objective 15" in out and "Sources:" in out and "[1]" in out


def test_ask_jsonl_answers_one_line_per_question(env, monkeypatch, capsys):
    questions = ["Which objective covers carers?", "How will dementia care be improved?",
                 "How do I restart a Kubernetes pod?"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(questions) + "\n"))
    code, out, err = run(capsys, "ask", "--jsonl")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert [r["question"] for r in rows] == questions
    assert [r["refused"] for r in rows] == [False, False, True]
    for r in rows:
        assert set(r) >= ANSWER_FIELDS


def test_ask_jsonl_reports_a_bad_line_and_goes_on(env, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("?!?\nWhich objective covers carers?\n"))
    code, out, _ = run(capsys, "ask", "--jsonl")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 2
    assert rows[0]["question"] == "?!?" and "no words" in rows[0]["error"]
    assert rows[1]["refused"] is False


def test_ask_jsonl_reads_a_follow_up_with_its_history(env, monkeypatch, capsys):
    lines = [
        "Which objective covers carers?",
        json.dumps({"question": "and for children?",
                    "history": [{"question": "Which objective covers carers?",
                                 "answer": "Objective 15 ..."}]}),
        '{"question": 3}',
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    code, out, _ = run(capsys, "ask", "--jsonl")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["read_with_history"] is None
    assert rows[1]["question"] == "and for children?"
    assert rows[1]["read_with_history"] == "Which objective covers children?"
    assert rows[1]["objectives"][0]["id"] == "draft-mandate-2012/16"
    assert '"question" string' in rows[2]["error"]


def test_ask_with_doc_filter(env, capsys):
    code, out, _ = run(capsys, "ask", "--json", "--doc", "mandate-2017-19-summary",
                       "How will dementia care be improved?")
    assert code == 0
    data = json.loads(out)
    assert {c["doc_id"] for c in data["citations"]} == {"mandate-2017-19-summary"}


# ---------------------------------------------------------------- objectives


def test_objectives_json_ranks_the_carers_objective_first(env, capsys):
    code, out, err = run(capsys, "objectives", "people looking after a relative", "--json")
    assert code == 0, err
    ranked = json.loads(out)
    assert ranked[0]["id"] == f"{DRAFT}/15"
    for o in ranked:
        assert set(o) >= OBJECTIVE_FIELDS


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_one_line_error(env, capsys, question):
    code, out, err = run(capsys, "ask", question)
    assert code == 1
    assert out == ""
    assert_one_line_error(err)
    assert "empty" in err


def test_missing_index_names_ingest(monkeypatch, tmp_path, capsys):
    empty = tmp_path / "no-index"
    empty.mkdir()
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(empty))
    code, _, err = run(capsys, "ask", "Which objective covers carers?")
    assert code == 1
    assert_one_line_error(err)
    assert "assistant ingest" in err


def test_unknown_doc_is_one_line_error(env, capsys):
    code, out, err = run(capsys, "ask", "--doc", "nope", "Which objective covers carers?")
    assert code == 1 and out == ""
    assert_one_line_error(err)
    assert "'nope'" in err


def test_k_too_large_is_one_line_error(env, index, capsys):
    code, _, err = run(capsys, "ask", "--k", "100000", "carers")
    assert code == 1
    assert_one_line_error(err)
    assert f"larger than the {len(index.passages)} passages" in err


# ---------------------------------------------------------------- ingest


def test_ingest_skips_a_corrupt_pdf_and_keeps_the_rest(built, monkeypatch, tmp_path, capsys):
    corpus = shutil.copytree(built.corpus_dir, tmp_path / "corpus")
    # start from a copy of the session index so unchanged text is not embedded again
    index_dir = shutil.copytree(built.index_dir, tmp_path / "index")
    bad = tmp_path / "damaged-annual-report.pdf"
    bad.write_bytes(b"%PDF-1.4\n" + os.urandom(3000))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index_dir))
    code, _, err = run(capsys, "ingest", "--quiet", str(bad))
    assert code == 0, err
    assert "Traceback" not in err
    skipped = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and "damaged-annual-report.pdf" in skipped[0]
    assert "Indexed 6 document(s)" in err

    code, out, _ = run(capsys, "ask", "--json", "Which objective covers carers?")
    assert code == 0 and json.loads(out)["objectives"][0]["id"] == f"{DRAFT}/15"


def test_ingest_of_a_missing_path_is_one_line_error(env, tmp_path, capsys):
    code, _, err = run(capsys, "ingest", "--quiet", str(tmp_path / "nowhere.pdf"))
    assert code == 1
    assert_one_line_error(err)
    assert "nowhere.pdf does not exist" in err


# ---------------------------------------------------------------- module entry point


def test_python_dash_m_assistant_answers(built):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(built.index_dir),
           "ASSISTANT_CORPUS_DIR": str(built.corpus_dir),
           "ASSISTANT_DATA_DIR": str(built.data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", "--json", "Which objective covers carers?"],
        capture_output=True, text=True, timeout=180, cwd=PROJECT_ROOT, env=env,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["objectives"][0]["id"] == f"{DRAFT}/15"
    assert "Traceback" not in result.stderr


def test_eval_names_an_unknown_set_in_one_line(capsys):
    code, _, err = run(capsys, "eval", "--set", "no-such-set", "--no-baselines")
    assert code == 1
    assert_one_line_error(err)
    assert "no-such-set" in err and "test-mandates" in err
