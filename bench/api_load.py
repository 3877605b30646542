"""Load and faults against the HTTP API on one PostgreSQL:
`python -m bench.api_load [--processes 4] [--clients 8] [--questions 500]`.

Starts PostgreSQL (tests/pgrunner.py), publishes the project's index/ to it, starts N
`assistant serve` processes on loopback ports, and runs C client threads, each asking
Q questions (the evaluation questions, cycled) round-robin over the servers, like a
load balancer that moves on when a server does not answer. Phases:

  steady   all servers up: p50/p95 latency, errors, answers equal to one process
  kill     one API process killed (SIGKILL) mid-load: the others keep serving
  ingest   a new build published mid-load: no request fails
  pg-stop  PostgreSQL stopped mid-load, then started: 503s, then recovery without restart

Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from assistant.config import PROJECT_ROOT, Settings

sys.path.insert(0, str(PROJECT_ROOT / "tests"))


def _start_api(port: int, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)],
                            cwd=PROJECT_ROOT, env=env, stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)


def _wait_ready(urls: list[str], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    for url in urls:
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not ready in {timeout}s")
            time.sleep(0.5)


def _client(urls: list[str], questions: list[str], start: int, out: list) -> None:
    """Ask each question once, trying the servers in turn when one is unreachable."""
    with httpx.Client(timeout=60) as http:
        for n, q in enumerate(questions):
            t0 = time.perf_counter()
            status, body = None, None
            for i in range(len(urls)):
                url = urls[(start + n + i) % len(urls)]
                try:
                    r = http.post(url + "/ask", json={"question": q})
                    status, body = r.status_code, r.json()
                    break
                except httpx.HTTPError:
                    continue
            out.append((q, status, body, (time.perf_counter() - t0) * 1000))


def _run_load(urls, questions, clients, per_client, during=None, at: float = 0.3) -> list:
    results: list = []
    cycle = itertools.cycle(questions)
    batches = [[next(cycle) for _ in range(per_client)] for _ in range(clients)]
    threads = [threading.Thread(target=_client, args=(urls, b, i, results))
               for i, b in enumerate(batches)]
    for t in threads:
        t.start()
    if during is not None:
        total = clients * per_client
        while len(results) < at * total:
            time.sleep(0.05)
        during()
    for t in threads:
        t.join()
    return results


def _figures(results: list, reference: dict | None = None) -> dict:
    ms = np.array([r[3] for r in results])
    ok = [r for r in results if r[1] == 200]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r[1])] = statuses.get(str(r[1]), 0) + 1
    fig = {"requests": len(results), "statuses": statuses,
           "p50_ms": round(float(np.percentile(ms, 50)), 1),
           "p95_ms": round(float(np.percentile(ms, 95)), 1)}
    if reference is not None:
        differ = sum(_key(r[2]) != reference[r[0]] for r in ok)
        fig["answers_differing_from_one_process"] = differ
    return fig


def _key(body: dict) -> tuple:
    return (body["answer"], body["refused"], tuple(c["passage_id"] for c in body["citations"]))


def main(argv: list[str] | None = None) -> None:
    from pgrunner import postgres

    from assistant.evaluate.run import load_items
    from assistant.pipeline import Assistant
    from assistant.search.index import load_index
    from assistant.search.pgpublish import publish

    p = argparse.ArgumentParser()
    p.add_argument("--processes", type=int, default=4)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--questions", type=int, default=500, help="per client")
    args = p.parse_args(argv)
    settings = Settings.from_env()
    index = load_index(settings)
    questions = [it.question for it in load_items()]
    single = Assistant(settings, index=index)
    reference = {q: _key(json.loads(single.ask(q).model_dump_json())) for q in questions}
    out: dict = {"processes": args.processes, "clients": args.clients,
                 "questions_per_client": args.questions}
    with postgres() as pg:
        pg_settings = settings.with_(database_url=pg.url)
        publish(pg_settings, index)
        env = {**os.environ, "ASSISTANT_DATABASE_URL": pg.url,
               "ASSISTANT_API_REQUESTS_PER_MINUTE": "1000000"}
        from conftest import free_port

        ports = [free_port() for _ in range(args.processes)]
        logs = Path(pg.root) / "api"
        logs.mkdir()
        procs = [_start_api(port, env, logs / f"{port}.log") for port in ports]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        try:
            _wait_ready(urls)
            n = args.questions
            out["steady"] = _figures(_run_load(urls, questions, args.clients, n), reference)
            out["ingest"] = _figures(_run_load(
                urls, questions, args.clients, max(20, n // 5),
                during=lambda: publish(pg_settings, index)), reference)
            out["kill"] = _figures(_run_load(
                urls, questions, args.clients, max(20, n // 5),
                during=lambda: procs[0].kill()), reference)

            def outage() -> None:
                pg.stop("fast")
                time.sleep(3)
                pg.start()

            out["pg_stop"] = _figures(_run_load(urls[1:], questions, args.clients,
                                                max(40, n // 5), during=outage, at=0.2))
            after = _run_load(urls[1:], questions, args.clients, 10)
            out["after_pg_restart"] = _figures(after, reference)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
