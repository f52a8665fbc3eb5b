"""A throw-away PostgreSQL cluster for the tests and benchmarks: ``initdb`` in a temporary
folder, the server on a free loopback port (and a socket in that folder), stopped and removed
after. When this process is root, the server runs as the ``postgres`` user (PostgreSQL
refuses to run as root). ``scripts/test-postgres.sh`` installs Debian's server when missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: Settings of a cluster used only by tests: nothing it holds must survive a crash.
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def server_binaries() -> Path | None:
    """The folder of the newest installed server's ``initdb``, ``pg_ctl`` and ``psql``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server. ``durable`` keeps PostgreSQL's own defaults (fsync at commit),
    for benchmarks; otherwise the server skips every sync, for the tests' speed."""

    def __init__(self, *, durable: bool = False, max_connections: int = 300) -> None:
        binaries = server_binaries()
        if binaries is None:
            raise RuntimeError("no PostgreSQL server installed: run scripts/test-postgres.sh "
                               "(make test does)")
        self.bin = binaries
        self.durable = durable
        self.max_connections = max_connections
        self.folder = Path(tempfile.mkdtemp(prefix="mmsc-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._user = "postgres" if os.geteuid() == 0 else None
        self._names = itertools.count(1)

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(command, user=self._user, capture_output=True, text=True,
                              check=check, timeout=120)

    def start(self) -> Cluster:
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self.restart()
        return self

    def url(self, database: str = "postgres", password: str = "unused") -> str:
        """A URL to ``database``; the cluster trusts loopback, so any password works."""
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        done = self._run(str(self.bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                         "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-c", statement)
        return done.stdout.strip()

    def new_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: as a crash would; ``fast``: clean)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)

    def restart(self) -> None:
        """Start the server (again, after :meth:`stop`: same port, same data)."""
        options = ["-c listen_addresses=127.0.0.1", f"-p {self.port}",
                   f"-c unix_socket_directories={self.folder}",
                   f"-c max_connections={self.max_connections}"]
        if not self.durable:
            options += [f"-c {setting}" for setting in FAST]
        log = self.folder / "server.log"
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(log),
                         "-o", " ".join(options), "-w", "start", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr}\n"
                               f"{log.read_text() if log.exists() else ''}")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
