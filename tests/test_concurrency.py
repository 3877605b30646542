"""Concurrent users: one loaded pipeline answering from 8 threads gives the answers one thread
gives; an ingest running while questions are answered and indexes are loaded never serves
a half-built index; two ingests that overlap never lose the index."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.config import PROJECT_ROOT, Settings
from assistant.errors import AssistantError
from assistant.search.index import build_index, current_build, load_index

THREADS = 8
PER_THREAD = 128  # 8 x 128 = 1,024 questions
QUESTIONS = [json.loads(line)["question"]
             for line in (PROJECT_ROOT / "eval" / "questions.jsonl").read_text().splitlines()
             if line.strip()]
# every third eval question: objective, on-topic and off-topic ones alike
UNIQUE = QUESTIONS[::3]
# first asked inside the threads, so the model itself is called from several at once
FRESH = [f"{q.rstrip('?')}, according to the documents?" for q in QUESTIONS[1:3 * THREADS:3]]


def summary(answer) -> tuple:
    """What must not differ between two runs of one question (scores to 3 places)."""
    sources = [(c.marker, c.doc_id, c.start, c.end, c.quote, c.page, c.paragraph, c.section,
                round(c.score, 3)) for c in answer.citations + answer.closest]
    return (answer.question, answer.answer, answer.refused, sources,
            [(o.id, round(o.score, 3)) for o in answer.objectives])


def grounded(index, answer) -> bool:
    """Every quote is the document's own text at the offsets it gives."""
    return all(index.documents[c.doc_id].text[c.start : c.end] == c.quote
               for c in answer.citations + answer.closest)


def copy_built(built: Settings, dest: Path) -> Settings:
    shutil.copytree(built.corpus_dir, dest / "corpus")
    shutil.copytree(built.index_dir, dest / "index")
    return Settings(corpus_dir=dest / "corpus", index_dir=dest / "index", data_dir=dest / "data")


def run_threads(targets) -> list[BaseException]:
    """Start every target at once (a barrier), wait for all; return what they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            barrier.wait()
            try:
                fn()
            except BaseException as exc:  # reported by the test
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


# ------------------------------------------------------------------ 8 threads, 1,024 questions


def test_eight_threads_give_the_answers_of_one(assistant):
    baseline = {q: summary(assistant.ask(q)) for q in UNIQUE}
    baseline_objectives = {q: [m.id for m in assistant.objectives(q)] for q in UNIQUE[:20]}
    results: list[list[tuple[str, tuple]]] = [[] for _ in range(THREADS)]
    objective_results: list[list[tuple[str, list]]] = [[] for _ in range(THREADS)]

    def worker(n: int):
        def run():
            order = UNIQUE[n * 7 :] + UNIQUE[: n * 7]
            work = [FRESH[n]] + [order[i % len(order)] for i in range(PER_THREAD - 1)]
            for i, q in enumerate(work):
                answer = assistant.ask(q)
                assert grounded(assistant.index, answer), q
                results[n].append((q, summary(answer)))
                if q in baseline_objectives and i % 3 == 0:
                    objective_results[n].append((q, [m.id for m in assistant.objectives(q)]))
        return run

    t0 = time.perf_counter()
    errors = run_threads([worker(n) for n in range(THREADS)])
    seconds = time.perf_counter() - t0
    assert not errors, errors[:3]
    asked = [item for per_thread in results for item in per_thread]
    assert len(asked) == THREADS * PER_THREAD >= 1000
    for q, got in asked:
        if q in baseline:
            assert got == baseline[q], q
    for per_thread in objective_results:
        for q, ids in per_thread:
            assert ids == baseline_objectives[q], q
    # the questions first embedded inside the threads: same vectors, same answers, as alone
    for q in FRESH:
        alone = assistant.embedder.embed_batch([q])[0]
        assert np.allclose(assistant.embedder.embed(q), alone, atol=1e-5), q
    threaded = {q: got for q, got in asked if q in FRESH}
    for q in FRESH:
        assert summary(assistant.ask(q)) == threaded[q], q
    assert seconds < 120, f"{THREADS * PER_THREAD} questions took {seconds:.0f} s"


# ------------------------------------------------------------------ ingest while answering


def check_whole(index) -> None:
    """A complete index: counts as the manifest says, every passage inside its document."""
    counts = index.manifest["counts"]
    assert counts["passages"] == len(index.passages) == len(index.passage_vectors)
    assert counts["documents"] == len(index.documents)
    assert counts["objectives"] == len(index.objectives) == len(index.objective_vectors)
    assert int(index.sentence_offsets[-1]) == len(index.sentence_vectors)
    for p in index.passages:
        assert index.documents[p.doc_id].text[p.start : p.end] == p.text, p.id


def test_an_ingest_while_answering_and_loading_never_serves_a_half_built_index(
        built, assistant, embedder, tmp_path):
    from assistant.pipeline import Assistant

    settings = copy_built(built, tmp_path)
    bot = Assistant(settings, embedder=embedder)  # answers from the index being rebuilt
    questions = UNIQUE[:12]
    expected = {q: summary(assistant.ask(q)) for q in questions}  # same corpus, same answers
    done = threading.Event()
    counts = {"answers": 0, "loads": 0, "builds": 0}

    def ask_loop():
        while not done.is_set():
            for q in questions:
                answer = bot.ask(q)
                assert grounded(bot.index, answer), q
                assert summary(answer) == expected[q], q
                counts["answers"] += 1

    def load_loop():
        while not done.is_set():
            check_whole(load_index(settings))
            counts["loads"] += 1

    def build_loop():
        try:
            path = settings.corpus_dir / "strategic-context-2012.txt"
            for n in range(4):
                if n == 1:  # one rebuild with changed text, so the model has work too
                    text = path.read_text(encoding="utf-8")
                    path.write_text(text.replace("radical shift", "sharp break"),
                                    encoding="utf-8")
                build_index(settings, embedder=embedder)
                counts["builds"] += 1
        finally:
            done.set()

    errors = run_threads([ask_loop, load_loop, build_loop])
    assert not errors, [f"{type(e).__name__}: {e}" for e in errors[:3]]
    assert counts["builds"] == 4 and counts["answers"] > 0 and counts["loads"] > 0, counts
    final = load_index(settings)
    check_whole(final)
    assert any("sharp break" in p.text for p in final.passages)


class Overlap:
    """Runs `fn` once, in its own thread, when `trigger()` is first called from the test's
    thread; waits up to `wait` seconds for it (an ingest lock may rightly hold it back)."""

    def __init__(self, fn, wait: float = 8.0) -> None:
        self.fn, self.wait = fn, wait
        self.owner = threading.get_ident()
        self.thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def trigger(self) -> None:
        if self.thread is not None or threading.get_ident() != self.owner:
            return
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.thread.join(timeout=self.wait)

    def _run(self) -> None:
        try:
            self.fn()
        except BaseException as exc:  # checked by the test
            self.errors.append(exc)

    def finish(self) -> None:
        assert self.thread is not None, "the overlap never happened"
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the overlapping ingest hung"


def test_a_load_that_overlaps_a_switch_still_gets_a_whole_index(built, embedder, tmp_path,
                                                                 monkeypatch):
    """load_index reads CURRENT, then an ingest finishes and removes that build before the
    load has read its files: the load must still return a whole index, not report a sound
    index as damaged."""
    import assistant.search.index as ix

    settings = copy_built(built, tmp_path)
    real = ix.current_build
    overlap = Overlap(lambda: build_index(settings, embedder=embedder))

    def current_build_then_switch(index_dir):
        found = real(index_dir)
        overlap.trigger()  # switches CURRENT and removes `found`
        return found

    monkeypatch.setattr(ix, "current_build", current_build_then_switch)
    index = load_index(settings)
    overlap.finish()
    assert not overlap.errors, overlap.errors
    check_whole(index)
    monkeypatch.undo()
    check_whole(load_index(settings))


@pytest.mark.parametrize("pause_at", ["writing", "switching"])
def test_two_overlapping_ingests_never_lose_the_index(built, embedder, tmp_path, monkeypatch,
                                                      pause_at):
    """Two ingests at once (the CLI and an upload in the app, or two app servers): ingest B
    runs while ingest A is paused at `pause_at`. Afterwards the index in use must load
    whole; each ingest must finish or fail with one clear AssistantError."""
    import assistant.search.index as ix

    settings = copy_built(built, tmp_path)
    overlap = Overlap(lambda: build_index(settings, embedder=embedder))
    if pause_at == "writing":  # A has a .partial folder half written
        real_faiss = ix.make_faiss

        def make_faiss(*args, **kwargs):
            overlap.trigger()
            return real_faiss(*args, **kwargs)

        monkeypatch.setattr(ix, "make_faiss", make_faiss)
    else:  # A has written CURRENT and is about to remove the other builds
        real_write = ix._write_atomic

        def write_atomic(path, *args, **kwargs):
            real_write(path, *args, **kwargs)
            if Path(path).name == "CURRENT":
                overlap.trigger()

        monkeypatch.setattr(ix, "_write_atomic", write_atomic)

    try:
        build_index(settings, embedder=embedder)
    except AssistantError:
        pass  # a clear refusal ("another ingest is running") is fine; an OSError is not
    overlap.finish()
    assert all(isinstance(e, AssistantError) for e in overlap.errors), overlap.errors
    check_whole(load_index(settings))
    monkeypatch.undo()
    build_index(settings, embedder=embedder)
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [
        current_build(settings.index_dir).name]
