"""Server time of one chat turn in the Streamlit app, by conversation length and users.

    .venv/bin/python -m bench.ui_turns [--turns 30] [--users 1,4,16]

Each simulated user is a headless AppTest session of ui/app.py (the same script run the
server does for a browser, without the websocket) asking `--turns` questions in a row. The
time recorded is the script run that answers each question (ScriptRunner._run_script: the
page, the `ask` inside it, and every element serialised for the browser), not AppTest's
own parsing of the page. Runs with several users are simultaneous threads in one process,
as sessions share one Streamlit server; like the server, they share one compiled script.
Prints a table (p50 / p95 in seconds at conversation lengths 1, 10, 30) and writes it
to bench/ui_turns.md. Uses the index in ASSISTANT_INDEX_DIR (default index/)
and a throwaway data folder, so no real feedback store is touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "ui" / "app.py")
QUESTIONS = [
    "Which objective covers carers?",
    "What does the mandate say about mental health?",
    "How will progress against the mandate be assessed?",
    "What support is there for the armed forces?",
    "What does the mandate say about dementia?",
    "How will patients be involved in decisions about their care?",
    "What is the NHS Commissioning Board?",
    "What does the mandate expect on waiting times?",
]
LENGTHS = (1, 10, 30)


# the app's session id -> (wall, CPU) seconds of its last script run; CPU time of the
# script's thread shows the cost of a turn apart from waiting for the cores
_RUNS: dict[str, tuple[float, float]] = {}


def instrument() -> None:
    """Time every script run, and compile each script once for all sessions (as the server
    does; AppTest alone compiles per run, which is not thread-safe on Python 3.11)."""
    from streamlit.runtime.scriptrunner import script_cache, script_runner

    lock, compiled = threading.Lock(), {}
    get_bytecode = script_cache.ScriptCache.get_bytecode

    def shared(self, script_path: str):
        with lock:
            key = os.path.abspath(script_path)
            if key not in compiled:
                compiled[key] = get_bytecode(self, script_path)
            return compiled[key]

    run_script = script_runner.ScriptRunner._run_script

    def timed(self, rerun_data) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            run_script(self, rerun_data)
        finally:
            took = (time.perf_counter() - t0, time.thread_time() - c0)
            try:
                _RUNS[self._session_state["sid"]] = took
            except KeyError:
                pass

    script_cache.ScriptCache.get_bytecode = shared
    script_runner.ScriptRunner._run_script = timed


def user(turns: int, out: list[tuple[int, float, float, float]], errors: list[str]) -> None:
    """One session asking `turns` questions; appends (turn, run s, run CPU s, ask s)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=300).run()
    for n in range(1, turns + 1):
        question = QUESTIONS[(n - 1) % len(QUESTIONS)]
        at.chat_input[0].set_value(question).run()
        took, cpu = _RUNS.get(at.session_state["sid"], (float("nan"), float("nan")))
        if at.exception:
            errors.append(str(at.exception))
            return
        last = at.session_state["messages"][-1]
        ask = last["answer"].timings_ms.get("total", 0.0) / 1000 if "answer" in last else 0.0
        out.append((n, took, cpu, ask))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(users: int, turns: int) -> dict:
    out: list[tuple[int, float, float, float]] = []
    errors: list[str] = []
    threads = [threading.Thread(target=user, args=(turns, out, errors)) for _ in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    row = {"users": users, "errors": len(errors), "wall": wall, "turns": len(out)}
    for length in LENGTHS:
        if length > turns:
            continue
        # the turn at this length and its neighbours, so one slow run does not decide it
        window = [(t, c, a) for n, t, c, a in out
                  if abs(n - length) <= (0 if length == 1 else 1)]
        times = [t for t, _, _ in window]
        row[length] = (statistics.median(times), pct(times, 0.95),
                       statistics.median(c for _, c, _ in window),
                       statistics.median(a for _, _, a in window))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--users", default="1,4,16")
    args = parser.parse_args(argv)
    os.environ.setdefault("ASSISTANT_INDEX_DIR", str(ROOT / "index"))
    os.environ["ASSISTANT_DATA_DIR"] = tempfile.mkdtemp(prefix="ui-bench-")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    instrument()
    user(1, [], [])  # load the model and the index once, outside the measurement
    lines = ["| users | length 1: turn p50 / p95 · CPU p50 · ask p50 (s) | length 10 | "
             "length 30 | turns/s | errors |", "|---|---|---|---|---|---|"]
    for users in (int(u) for u in args.users.split(",")):
        row = run(users, args.turns)
        cells = [f"{row[n][0]:.3f} / {row[n][1]:.3f} · {row[n][2]:.3f} · {row[n][3]:.3f}"
                 if n in row else "-" for n in LENGTHS]
        lines.append(f"| {users} | {' | '.join(cells)} | "
                     f"{row['turns'] / row['wall']:.1f} | {row['errors']} |")
        print(lines[-1], flush=True)
    report = ("# Server time of a chat turn\n\n`python -m bench.ui_turns`: seconds of the "
              "Streamlit script run that answers a question (AppTest, no browser), at "
              f"conversation lengths {', '.join(map(str, LENGTHS))}, with simultaneous "
              f"users on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the "
              "end: wall times include waiting for the cores; CPU is the script thread's "
              "own time).\n\n" + "\n".join(lines) + "\n")
    (ROOT / "bench" / "ui_turns.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
