"""The index folder: manifest, checksums, the CURRENT pointer, vectors reused on rebuild, and
clear errors (missing, damaged, other settings) that never lose the index in use."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS

from assistant.config import Settings
from assistant.errors import IndexMismatchError, IndexMissingError, IngestError
from assistant.search.index import build_index, current_build, load_index

SMALL_FILES = ["strategic-context-2012.txt", "mandate-2017-19-summary.txt"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_built(built: Settings, dest: Path) -> Settings:
    """A private copy of the session corpus and index (so a test may change them)."""
    shutil.copytree(built.corpus_dir, dest / "corpus")
    shutil.copytree(built.index_dir, dest / "index")
    return Settings(corpus_dir=dest / "corpus", index_dir=dest / "index", data_dir=dest / "data")


@pytest.fixture(scope="module")
def small(tmp_path_factory, embedder):
    """An index of two small corpus files, built from nothing: (settings, first report)."""
    root = tmp_path_factory.mktemp("small")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in SMALL_FILES + ["manifest.json"]:
        shutil.copy(CORPUS / name, corpus / name)
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", data_dir=root / "data")
    report = build_index(settings, embedder=embedder)
    return settings, report


def small_copy(small, dest: Path) -> Settings:
    settings, _ = small
    shutil.copytree(settings.corpus_dir, dest / "corpus")
    shutil.copytree(settings.index_dir, dest / "index")
    return Settings(corpus_dir=dest / "corpus", index_dir=dest / "index", data_dir=dest / "data")


# ---------------------------------------------------------------- what a build writes


def test_manifest_records_model_dimension_counts_and_checksums(built, index):
    build = current_build(built.index_dir)
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["model"] == "all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert manifest["max_passage_words"] == built.max_passage_words
    assert manifest["pack_words"] == built.pack_words
    assert manifest["built_at"] and manifest["index_version"] >= 1
    counts = manifest["counts"]
    assert counts["documents"] == 6  # five plain-text documents and the Constitution PDF
    assert counts["passages"] == len(index.passages) > 0
    assert counts["sentences"] == sum(len(p.sentences) for p in index.passages)
    assert counts["objectives"] == 22 + 7  # draft mandate + 2017-19 summary
    assert counts["questions"] == 12
    # every file of the build is checksummed, and the checksums are right
    files = {str(p.relative_to(build)) for p in build.rglob("*") if p.is_file()}
    assert set(manifest["checksums"]) == files - {"manifest.json"}
    for rel, digest in manifest["checksums"].items():
        assert sha256(build / rel) == digest, rel
    # each document is tied to the bytes of its source file
    for d in manifest["documents"]:
        assert d["sha256"] == sha256(built.corpus_dir / d["file"])
        assert d["passages"] == sum(p.doc_id == d["doc_id"] for p in index.passages)


def test_vectors_are_unit_length_and_match_the_passages(index):
    n = len(index.passages)
    assert index.passage_vectors.shape == (n, 384)
    assert index.vector_store.client.ntotal == n
    assert np.allclose(np.linalg.norm(index.passage_vectors, axis=1), 1.0, atol=1e-4)
    assert index.sentence_offsets[-1] == len(index.sentence_vectors)
    assert index.objective_vectors.shape == (len(index.objectives), 384)


def test_current_points_at_the_one_complete_build(built):
    build = current_build(built.index_dir)
    assert (built.index_dir / "CURRENT").read_text().strip() == build.name
    assert [p.name for p in (built.index_dir / "builds").iterdir()] == [build.name]


def test_first_build_embeds_every_text(small):
    settings, report = small
    assert sorted(report.indexed) == ["mandate-2017-19-summary", "strategic-context-2012"]
    assert report.skipped == []
    assert report.embedded > 0 and report.reused == 0
    index = load_index(settings)
    assert report.embedded >= len(index.passages) + len(index.objectives)
    assert report.passages == len(index.passages)


# ---------------------------------------------------------------- rebuilds


def test_rebuilding_an_unchanged_corpus_embeds_nothing(small, tmp_path, embedder):
    settings = small_copy(small, tmp_path)
    before = load_index(settings)
    old_build = current_build(settings.index_dir)
    report = build_index(settings, embedder=embedder)
    assert report.embedded == 0
    assert report.reused == small[1].embedded
    after = load_index(settings)
    assert [p.id for p in after.passages] == [p.id for p in before.passages]
    assert [o.id for o in after.objectives] == [o.id for o in before.objectives]
    assert np.array_equal(after.passage_vectors, before.passage_vectors)
    # the new build replaced the old one
    new_build = current_build(settings.index_dir)
    assert new_build != old_build and not old_build.exists()
    assert not [p for p in (settings.index_dir / "builds").iterdir() if "partial" in p.name]


def test_changing_one_document_reembeds_only_its_texts(built, index, tmp_path, embedder):
    settings = copy_built(built, tmp_path)
    path = settings.corpus_dir / "strategic-context-2012.txt"
    text = path.read_text(encoding="utf-8")
    old = "This is a radical shift in approach from the past"
    assert old in text
    path.write_text(text.replace(old, "This is a sharp break with the past"), encoding="utf-8")

    report = build_index(settings, embedder=embedder)
    after = load_index(settings)
    changed = [p for p in after.passages if p.doc_id == "strategic-context-2012"]
    own_texts = len(changed) + sum(len(p.sentences) for p in changed)
    total = report.embedded + report.reused
    assert 0 < report.embedded <= own_texts
    assert report.embedded < total / 10
    # other documents keep their passages; the edited one has the new words
    others = [p.id for p in index.passages if p.doc_id != "strategic-context-2012"]
    assert [p.id for p in after.passages if p.doc_id != "strategic-context-2012"] == others
    assert any("sharp break with the past" in p.text for p in changed)
    old_ids = {p.id for p in index.passages if p.doc_id == "strategic-context-2012"}
    assert {p.id for p in changed} != old_ids


def test_unreadable_files_are_skipped_with_their_reason(small, tmp_path, embedder):
    settings = small_copy(small, tmp_path)
    bad = tmp_path / "broken-report.pdf"
    bad.write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    shutil.copy(settings.corpus_dir / SMALL_FILES[0], settings.corpus_dir / "zz-copy.txt")
    report = build_index(settings, extra=[bad], embedder=embedder)
    reasons = dict(report.skipped)
    assert set(reasons) == {"broken-report.pdf", "zz-copy.txt"}
    assert "broken-report.pdf" in reasons["broken-report.pdf"]
    assert "zz-copy.txt: same content as strategic-context-2012.txt" in reasons["zz-copy.txt"]
    assert sorted(report.indexed) == ["mandate-2017-19-summary", "strategic-context-2012"]
    assert report.embedded == 0


def test_a_copy_of_a_listed_file_does_not_take_its_place(small, tmp_path, embedder):
    """The manifest names the document; an unlisted copy that sorts first must not win."""
    settings = small_copy(small, tmp_path)
    shutil.copy(settings.corpus_dir / SMALL_FILES[0], settings.corpus_dir / "a-copy.txt")
    report = build_index(settings, embedder=embedder)
    assert sorted(report.indexed) == ["mandate-2017-19-summary", "strategic-context-2012"]
    assert [name for name, _ in report.skipped] == ["a-copy.txt"]
    index = load_index(settings)
    assert index.documents["strategic-context-2012"].title == (
        "Strategic Context (event website page)")


# ---------------------------------------------------------------- errors


def test_missing_index_names_the_command_to_build_it(tmp_path):
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path / "no-index")
    with pytest.raises(IndexMissingError, match=r"No index found in .*assistant ingest"):
        load_index(settings)


def test_current_pointing_at_a_removed_build_is_missing(small, tmp_path):
    settings = small_copy(small, tmp_path)
    shutil.rmtree(current_build(settings.index_dir))
    with pytest.raises(IndexMissingError, match="assistant ingest"):
        load_index(settings)


def test_tampered_index_file_is_detected(built, tmp_path):
    settings = copy_built(built, tmp_path)
    passages = current_build(settings.index_dir) / "passages.jsonl"
    with open(passages, "ab") as f:
        f.write(b"\n")
    with pytest.raises(IndexMismatchError,
                       match=r"passages\.jsonl is damaged or was changed.*assistant ingest"):
        load_index(settings)


def test_unreadable_manifest_is_a_mismatch(small, tmp_path):
    settings = small_copy(small, tmp_path)
    manifest = current_build(settings.index_dir) / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    with pytest.raises(IndexMismatchError, match=r"manifest .* unreadable.*assistant ingest"):
        load_index(settings)


@pytest.mark.parametrize("change,name", [
    ({"max_passage_words": 100}, "max_passage_words"),
    ({"pack_words": 60}, "pack_words"),
    ({"model_name": "all-mpnet-base-v2"}, "model"),
    ({"exact_search_max": 10}, "exact_search_max"),
    ({"faiss_nprobe": 8}, "faiss_nprobe"),
])
def test_index_built_with_other_settings_is_a_mismatch(built, change, name):
    with pytest.raises(IndexMismatchError, match=rf"different settings \({name}\).*ingest"):
        load_index(built.with_(**change))


def test_failed_ingest_keeps_the_previous_index(small, tmp_path, embedder):
    from assistant.pipeline import Assistant

    settings = small_copy(small, tmp_path)
    build = current_build(settings.index_dir)
    before = {str(p.relative_to(build)): sha256(p) for p in build.rglob("*") if p.is_file()}
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "report.pdf").write_bytes(os.urandom(4000))
    with pytest.raises(IngestError, match="None of the files could be ingested.*unchanged"):
        build_index(settings.with_(corpus_dir=broken), embedder=embedder)

    assert current_build(settings.index_dir) == build
    after = {str(p.relative_to(build)): sha256(p) for p in build.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in (settings.index_dir / "builds").iterdir()] == [build.name]
    answer = Assistant(settings, embedder=embedder).ask("How will dementia care be improved?")
    assert not answer.refused and answer.citations


def test_empty_corpus_folder_raises(tmp_path, embedder):
    empty = tmp_path / "empty"
    empty.mkdir()
    settings = Settings(corpus_dir=empty, index_dir=tmp_path / "index")
    with pytest.raises(IngestError, match=r"No \.pdf, \.txt or \.md files found in .*empty"):
        build_index(settings, embedder=embedder)
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_texts_to_come_are_guessed_only_from_files_of_the_same_kind(tmp_path):
    from assistant.search.vectors import TextsToCome

    paths = [tmp_path / "a.txt", tmp_path / "b.pdf", tmp_path / "c.pdf", tmp_path / "d.txt"]
    guess = TextsToCome(paths, [1_000, 400_000, 200_000, 3_000])
    # after the text file alone, nothing is known of what a PDF's bytes hold
    assert guess.after(0, 10) is None
    # after one PDF: the other PDF at its rate, the last text file at the text rate
    assert guess.after(1, 40) == 20 + 30
    assert guess.after(2, 25) == 30
    assert guess.after(3, 31) == 0
