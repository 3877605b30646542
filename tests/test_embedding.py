"""The embedder honours the Settings it is given (backend, model cache folder, batch size),
and importing the library changes nothing in the process (environment, logging)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from assistant.config import PROJECT_ROOT, Settings

TEXTS = [
    "Integrated care boards should reduce waiting times for elective care.",
    "Carers must be offered an assessment of their own needs.",
    "The mandate sets out the objectives for NHS England for the coming year.",
    "Patients should be able to choose where they receive treatment.",
]


def test_settings_backend_is_honoured_and_int8_really_embeds_at_int8(embedder):
    from assistant.search.embed import embedder_for

    int8 = embedder_for(Settings(embedding_backend="onnx-int8"))
    fp32 = embedder_for(Settings(embedding_backend="onnx"))
    assert int8.backend == "onnx-int8" and fp32.backend == "onnx"
    assert int8.model_file.name == "model_int8.onnx"
    assert fp32.model_file.name == "model.onnx"
    a, b = int8.embed_batch(TEXTS), fp32.embed_batch(TEXTS)
    cos = (a * b).sum(axis=1)
    # the same embedding, computed with int8 weights: close to float32, never identical
    assert cos.min() > 0.95
    assert not np.allclose(a, b, atol=1e-4)
    assert embedder.backend == "onnx-int8"  # the default
    assert np.allclose(a, embedder.embed_batch(TEXTS), atol=1e-6)


def test_a_texts_vector_does_not_depend_on_what_is_embedded_beside_it():
    """Each backend gives a text the same vector alone, in a small call (a question and its
    reading) and among many texts spread over the worker threads (an ingest); int8
    quantises activations per run, so this holds only because every text runs alone."""
    from assistant.search.embed import embedder_for

    many = [f"{t} Paragraph {n}." for n in range(40) for t in TEXTS]  # long and short
    many[7] = "Carers"
    for backend in ("onnx-int8", "onnx"):
        emb = embedder_for(Settings(embedding_backend=backend))
        in_bulk = emb.embed_batch(many)
        for i in (0, 7, 93, 159):
            alone = emb.embed_batch([many[i]])[0]
            pair = emb.embed_batch([many[i], TEXTS[1]])[0]
            assert np.allclose(alone, in_bulk[i], atol=1e-6), (backend, i)
            assert np.allclose(alone, pair, atol=1e-6), (backend, i)
        assert np.allclose(np.linalg.norm(in_bulk, axis=1), 1.0, atol=1e-5)


def test_settings_batch_size_and_model_cache_dir_are_honoured(tmp_path):
    from assistant.search.embed import embedder_for

    default = embedder_for(Settings())
    source = default.model_file.parent
    cache = tmp_path / "models"
    shutil.copytree(source, cache / "onnx" / source.name)  # an export made earlier
    settings = Settings(model_cache_dir=cache, batch_size=8)
    own = embedder_for(settings)
    assert own is not default
    assert own.batch_size == 8
    assert own.model_file.is_relative_to(cache)
    assert np.allclose(own.embed_batch(TEXTS), default.embed_batch(TEXTS), atol=1e-5)


def test_build_index_embeds_with_the_backend_its_settings_name(tmp_path, monkeypatch):
    from assistant.search.embed import Embedder
    from assistant.search.index import build_index, load_index

    used = []
    real = Embedder.embed_batch

    def spy(self, texts, *args, **kwargs):
        used.append((self.backend, self.model_file.name, len(texts)))
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(Embedder, "embed_batch", spy)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "policy.txt").write_text(
        "Local Care Policy\n\n1. Waiting times\n\n1.1 " + TEXTS[0] + "\n\n1.2 " + TEXTS[1] + "\n",
        encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index",
                        data_dir=tmp_path / "data", embedding_backend="onnx-int8")
    build_index(settings)  # no embedder passed: it must come from the settings
    index = load_index(settings)
    assert index.manifest["vectors"] == "int8-per-text"
    assert used and all(u[:2] == ("onnx-int8", "model_int8.onnx") for u in used)
    assert sum(u[2] for u in used) >= len(index.passages) + int(index.sentence_offsets[-1])


def test_importing_the_library_changes_neither_environment_nor_logging():
    code = ("import logging, os; before = dict(os.environ); "
            "import assistant.search.embed, assistant.search.index, assistant.pipeline, "
            "assistant.cli; "
            "assert dict(os.environ) == before, set(os.environ) ^ set(before); "
            "assert logging.root.manager.disable == 0; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_only_the_settings_module_reads_the_environment():
    offenders = []
    for path in sorted(Path(PROJECT_ROOT, "assistant").rglob("*.py")):
        if path.name == "config.py":
            continue
        source = path.read_text(encoding="utf-8")
        for needle in ("os.environ", "os.getenv", "logging.disable("):
            if needle in source:
                offenders.append(f"{path.name}: {needle}")
    assert offenders == []


def test_index_vectors_are_half_precision_memory_mapped_and_faithful(index, embedder):
    """Passage and sentence vectors load as float16 memory maps, and scoring with them
    gives the model's float32 cosines to within 1e-3."""
    from assistant.search.index import embed_text

    for vectors in (index.passage_vectors, index.sentence_vectors):
        assert isinstance(vectors, np.memmap) and vectors.dtype == np.float16
        assert not vectors.flags.writeable
    rows = list(range(0, len(index.passages), max(1, len(index.passages) // 12)))
    texts = [embed_text(index.passages[i], index.documents[index.passages[i].doc_id])
             for i in rows]
    fresh = embedder.embed_batch(texts)
    question = embedder.embed("Which objective covers carers?")
    stored = np.asarray(index.passage_vectors[rows], dtype=np.float32)
    assert np.abs(stored @ question - fresh @ question).max() < 1e-3
    assert (stored * fresh).sum(axis=1).min() > 0.9999


def test_embed_memoises_questions_until_the_cache_is_cleared(embedder):
    text = "How will the NHS support carers of people with dementia?"
    first = embedder.embed(text)
    assert embedder.embed(text) is first  # a repeated question is not embedded again
    embedder.clear_cache()
    again = embedder.embed(text)
    assert again is not first
    assert np.allclose(again, first, atol=1e-6)
