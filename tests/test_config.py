"""Settings: read from the environment in one place, keyword arguments win, a bad value is
one clear sentence, and the tuned values really reach the steps that use them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings, build_fingerprint
from assistant.errors import AssistantError

DRAFT = "draft-mandate-2012"


def test_environment_overrides_defaults_and_keywords_override_both(monkeypatch):
    monkeypatch.setenv("ASSISTANT_REFUSAL_THRESHOLD", "0.5")
    monkeypatch.setenv("ASSISTANT_LOG_QUESTIONS", "no")
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE_DIR", "~/models")
    s = Settings.from_env()
    assert s.refusal_threshold == 0.5 and s.log_questions is False
    assert s.model_cache_dir == Path("~/models").expanduser()
    assert Settings(refusal_threshold=0.3).refusal_threshold == 0.3
    assert s.with_(k=7).k == 7 and s.with_(k=7).refusal_threshold == 0.5


def test_a_bad_value_names_its_variable(monkeypatch):
    monkeypatch.setenv("ASSISTANT_K", "five")
    with pytest.raises(AssistantError, match=r"The setting k \(ASSISTANT_K\) is not valid"):
        Settings.from_env()


def test_only_the_settings_module_reads_the_environment():
    readers, disablers = [], []
    for path in sorted((PROJECT_ROOT / "assistant").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv",
                                                                  "putenv", "unsetenv"}:
                readers.append(path.relative_to(PROJECT_ROOT).as_posix())
            if (isinstance(node, ast.Attribute) and node.attr == "disable"
                    and isinstance(node.value, ast.Name) and node.value.id == "logging"):
                disablers.append(path.relative_to(PROJECT_ROOT).as_posix())
    assert set(readers) == {"assistant/config.py"}
    assert disablers == []


def test_modules_and_functions_stay_small_enough_to_read():
    """The package's shape: no module over 400 lines, no function over 60."""
    long_modules, long_functions = [], []
    for path in sorted((PROJECT_ROOT / "assistant").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PROJECT_ROOT).as_posix()
        if len(text.splitlines()) > 400:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.end_lineno - node.lineno + 1 > 60:
                    long_functions.append(f"{name}:{node.name}")
    assert long_modules == [] and long_functions == []


def test_keyword_backend_is_honoured_over_the_environment(monkeypatch):
    from assistant.search.embed import embedder_for

    monkeypatch.setenv("ASSISTANT_EMBEDDING_BACKEND", "torch")
    embedder = embedder_for(Settings(embedding_backend="onnx-int8"))
    assert embedder.backend == "onnx-int8"
    assert embedder.model_file.name == "model_int8.onnx"


def test_the_fingerprint_holds_what_the_index_is_built_with():
    base = build_fingerprint(Settings())
    assert build_fingerprint(Settings(faiss_nprobe=8)) != base
    assert build_fingerprint(Settings(embedding_backend="onnx-int8"))["vectors"] == "int8-per-text"
    # answering settings do not touch the index
    assert build_fingerprint(Settings(refusal_threshold=0.9, structure_weight=0.0)) == base


def test_tuned_weights_reach_retrieval(built, index, embedder):
    from assistant.pipeline import Assistant

    question = "How will the NHS help people who care for a relative?"
    carers = next(o for o in index.objectives if o.doc_id == DRAFT and o.number == "15")
    group = {carers.passage_id, *carers.intro_passage_ids}
    ids = {}
    for weight in (2.0, 0.0):
        a = Assistant(built.with_(structure_weight=weight), index=index, embedder=embedder)
        ids[weight] = {h.passage.id for h in a.retriever.search(a.query(question), 5)}
    assert len(group & ids[2.0]) == len(group)
    assert len(group & ids[0.0]) < len(group)


def test_tuned_thresholds_reach_the_answer(built, index, embedder):
    from assistant.pipeline import Assistant

    question = "How will the NHS help people who care for a relative?"
    default = Assistant(built, index=index, embedder=embedder).ask(question)
    strict = Assistant(built.with_(min_sentence_cos=0.99), index=index,
                       embedder=embedder).ask(question)
    assert not default.refused and default.citations
    # no sentence is that close to the question: nothing quotable, so a refusal
    assert strict.refused and not strict.citations
