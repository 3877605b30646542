"""The embedding stage of an ingest: texts are embedded document by document as the reading
stage hands them over (`read_ahead` runs that stage in a thread, one document ahead), each
distinct text once, vectors of unchanged text reused, with progress in texts/s and time left.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import numpy as np

from assistant.config import Settings

T = TypeVar("T")
_DONE = object()


def text_key(text: str) -> str:
    """The key a text's vector is kept and reused under."""
    return hashlib.sha1(text.encode()).hexdigest()


def read_ahead(produce: Callable[[], Iterable[T]], depth: int = 1) -> Iterator[T]:
    """Yield what `produce()` yields, computed in a worker thread up to `depth` items ahead,
    so that the caller's work on one item overlaps the making of the next. An exception in
    the worker is raised here, in order; if the caller stops early the worker stops too."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in produce():
                while not stop.is_set():
                    try:
                        slots.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put((_DONE, None))
        except BaseException as exc:  # handed to the caller, raised there
            slots.put((_DONE, exc))

    worker = threading.Thread(target=work, name="ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a blocked put() see the stop
            try:
                slots.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


class Embedding:
    """Embeds the texts of each document as it arrives (`add`), keeping every vector by its
    text's key in `cache` (which starts with the reusable vectors of the build in use)."""

    def __init__(self, settings: Settings, embedder, cache: dict[str, np.ndarray],
                 notify: Callable[[float, str], None], show_progress: bool) -> None:
        self.settings, self._embedder, self.cache = settings, embedder, cache
        self.embedded = 0  # distinct texts embedded by this ingest
        self._notify, self._bar, self._show = notify, None, show_progress
        self._start: float | None = None
        self._known = 0  # texts to embed among the documents read so far
        self.fraction = 0.0  # of the whole ingest, last reported
        self._loading: threading.Thread | None = None
        if embedder is None and not cache:
            # a build from nothing will embed: load the model while the first document is
            # read (a re-ingest may need no model at all, so it waits until one does)
            self._loading = threading.Thread(target=self._load_quietly, name="ingest-model",
                                             daemon=True)
            self._loading.start()

    def _load(self) -> None:
        from assistant.search.embed import embedder_for

        if self._embedder is None:
            self._embedder = embedder_for(self.settings)

    def _load_quietly(self) -> None:
        try:
            self._load()
        except Exception:  # noqa: BLE001 - loaded again, and reported, when first needed
            pass

    def add(self, texts: list[str], to_come: Callable[[int], int | None]) -> None:
        """Embed those of `texts` that have no vector yet. `to_come(new)`, told how many of
        them are new, guesses how many new texts the documents not read yet hold (None: no
        fair guess yet, and no time left is shown)."""
        missing = sorted({k: t for k, t in ((text_key(t), t) for t in texts)
                          if k not in self.cache}.items())
        coming = to_come(len(missing))
        if not missing:
            return
        if self._loading is not None:
            self._loading.join()
        if self._embedder is None:
            self._load()
        if self._start is None:
            self._start = time.perf_counter()
        base = self.embedded
        self._known += len(missing)
        expected = None if coming is None else self._known + coming
        self._open_bar(expected)

        def progress(done: int, total: int) -> None:
            self._report(base + done, expected)

        vectors = self._embedder.embed_batch([t for _, t in missing], progress=progress)
        self.cache.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
        self.embedded += len(missing)

    def _open_bar(self, expected: int | None) -> None:
        if not self._show:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=expected, desc="Embedding", unit="text")
        elif self._bar.total != expected:
            self._bar.total = expected
            self._bar.refresh()

    def _report(self, done: int, expected: int | None) -> None:
        rate = done / max(time.perf_counter() - (self._start or 0.0), 1e-6)
        if self._bar is not None:
            self._bar.update(done - self._bar.n)
        if expected is None:
            self._notify(self.fraction, f"Embedding {done} texts, {rate:.0f} texts/s")
            return
        left = max(expected - done, 0) / rate if rate else 0.0
        self.fraction = max(self.fraction, 0.9 * min(done / max(expected, 1), 1.0))
        self._notify(self.fraction,
                     f"Embedding {done}/{expected} texts, {rate:.0f} texts/s, "
                     f"about {left:.0f} s left")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class TextsToCome:
    """Guesses how many new texts the files not read yet hold, from the new texts per byte
    of the files of the same kind (suffix) read so far. Bytes mean different things by kind
    (a PDF's bytes hold fonts and images; a text file's are its text), so a kind not read yet
    gives no guess rather than a wrong one."""

    def __init__(self, paths: list, sizes: list[int]) -> None:
        self._kinds = [p.suffix.lower() for p in paths]
        self._sizes = sizes
        self._seen: dict[str, list[int]] = {}  # kind -> [bytes read, new texts found]

    def after(self, n: int, new_texts: int) -> int | None:
        """Record that file `n` gave `new_texts`; guess the texts of the files after it."""
        seen = self._seen.setdefault(self._kinds[n], [0, 0])
        seen[0] += self._sizes[n]
        seen[1] += new_texts
        guess = 0.0
        for kind, size in zip(self._kinds[n + 1:], self._sizes[n + 1:], strict=True):
            if kind not in self._seen:
                return None
            read, found = self._seen[kind]
            guess += size * found / max(read, 1)
        return round(guess)
