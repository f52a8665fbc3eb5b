"""The object stores the benchmarks compare, each with its bare write (the baseline).

- the local folder (``fs``); its bare write: temporary file, fsync, rename, folder fsync;
- S3 on ``moto_server``, an emulator that keeps objects in memory (no disk I/O at all);
- S3 on SeaweedFS, a real object store writing to disk (master, volume server, filer and
  S3 gateway in one ``weed server`` process);

both S3 servers on loopback, as the tests start them (``tests/helpers/s3servers.py``); the
bare S3 write is one ``put_object`` of the same octets with the minio client.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from minio import Minio

from mmsc.config import StorageConfig
from tests.helpers.s3servers import SeaweedFS, moto_server


@dataclass
class Backend:
    """One object store: how mmsc is configured for it, and the bare write of ``data``
    under a fresh ``name`` (blocking), with no mmsc code."""

    label: str
    storage: StorageConfig
    write: Callable[[str, bytes], None]


def local_write(root: Path, name: str, data: bytes) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / "original.mime")
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def s3_backend(label: str, endpoint: str) -> Backend:
    client = Minio(endpoint, "bench", "bench", secure=False)
    client.make_bucket("bare")

    def write(name: str, data: bytes) -> None:
        client.put_object("bare", f"messages/{name}/original.mime", io.BytesIO(data),
                          len(data))

    storage = StorageConfig(backend="s3", endpoint=endpoint, bucket="mmsc-bench",
                            access_key="bench", secret_key="bench")
    return Backend(label, storage, write)


@contextmanager
def backends(work: Path) -> Iterator[list[Backend]]:
    """The three backends, with data under ``work``; the S3 servers stopped after."""
    (work / "seaweedfs").mkdir()
    with moto_server() as moto, SeaweedFS(work / "seaweedfs") as weed:
        yield [Backend("local folder", StorageConfig(path=str(work / "objects")),
                       lambda name, data: local_write(work / "bare", name, data)),
               s3_backend("S3 (moto_server)", moto.endpoint),
               s3_backend("S3 (SeaweedFS)", weed.endpoint)]
