"""The one file lock, the atomic writes and the reading stage run one document ahead."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from assistant.files import LockBusyError, atomic_path, file_lock, write_atomic
from assistant.search.vectors import read_ahead


def test_a_held_lock_refuses_a_second_holder_at_once_and_waits_when_asked(tmp_path):
    lock = tmp_path / ".lock"
    released = threading.Event()
    got_it: list[float] = []

    def second() -> None:
        with file_lock(lock):  # waits
            got_it.append(time.perf_counter())

    with file_lock(lock):
        with pytest.raises(LockBusyError), file_lock(lock, wait=False):
            pass
        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert not got_it, "the second holder did not wait"
        released.set()
        let_go = time.perf_counter()
    waiter.join(timeout=10)
    assert got_it and got_it[0] >= let_go
    with file_lock(lock, wait=False):  # free again
        pass


def test_atomic_writes_replace_whole_files_and_leave_nothing_on_failure(tmp_path):
    target = tmp_path / "vectors.npy"
    with atomic_path(target) as tmp:
        np.save(tmp, np.arange(4, dtype=np.float16))
    assert np.load(target).tolist() == [0, 1, 2, 3]
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("killed while writing")
    assert np.load(target).tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vectors.npy"]
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    write_atomic(tmp_path / "t.txt", "caf\u00e9")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "caf\u00e9"


def test_read_ahead_keeps_order_overlaps_and_raises_the_workers_error_in_place():
    started: list[int] = []

    def produce():
        for i in range(5):
            started.append(i)
            yield i

    seen = []
    for item in read_ahead(produce):
        time.sleep(0.05)  # the consumer is slower: the worker is ahead by then
        seen.append(item)
        if item == 0:
            assert 1 in started, "the next item was not made while this one was used"
    assert seen == [0, 1, 2, 3, 4]

    def failing():
        yield "first"
        raise ValueError("unreadable second file")

    got = []
    with pytest.raises(ValueError, match="unreadable second file"):
        for item in read_ahead(failing):
            got.append(item)
    assert got == ["first"]


def test_read_ahead_stops_its_worker_when_the_consumer_stops_early():
    made: list[int] = []

    def endless():
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    for item in read_ahead(endless):
        if item == 2:
            break
    time.sleep(0.3)
    count = len(made)
    time.sleep(0.3)
    assert len(made) == count <= 6, "the worker went on after the consumer stopped"
