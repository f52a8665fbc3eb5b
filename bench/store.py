"""Benchmark: durable accepts per second, local folder and S3, against a bare baseline.

For a 30 KB and a 300 KB message, on the local folder (FilesystemStore) and on an
S3-compatible server process on loopback (moto_server, the same server the tests use):

- accept: ``mmsc.relay.accept.accept`` end to end: the MM to MIME, the object written
  durably, the message, recipient and event rows committed in SQLite (WAL, synchronous=FULL);
- baseline: the same MIME octets written with fsync (local: temporary file, fsync, rename,
  folder fsync; S3: one put_object) and one SQLite insert committed with the same settings,
  no model code.

    .venv/bin/python bench/store.py [seconds-per-measurement]
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minio import Minio  # noqa: E402

from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mime import to_mime  # noqa: E402
from mmsc.relay.accept import accept  # noqa: E402
from mmsc.state import Interface, Route, SqliteStateStore  # noqa: E402
from mmsc.store import FilesystemStore, ObjectStore, S3Store  # noqa: E402

SMIL = b'<smil><body><par dur="5000ms"><img src="cid:i"/><text src="cid:t"/></par></body></smil>'


def sample(size: int) -> Message:
    return Message(
        Envelope(originator="+33600000001/TYPE=PLMN", subject="benchmark",
                 to=["+33600000002/TYPE=PLMN", "+33600000003/TYPE=PLMN"]),
        [MessagePart("application/smil", SMIL, content_id="s"),
         MessagePart("image/jpeg", os.urandom(size), content_id="i"),
         MessagePart.from_text("A caption for the picture.", content_id="t")],
        multipart="related", start="s")


async def rate(step: Callable[[int], Awaitable[None]], seconds: float) -> float:
    """Operations per second of ``step`` run back to back for about ``seconds``."""
    await step(0)  # warm up (bucket creation, first file)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += 1
        await step(count)
    return count / (time.perf_counter() - start)


def baseline_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS m (id TEXT PRIMARY KEY, key TEXT, size INTEGER)")
    return db


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


async def measure(label: str, objects: ObjectStore, write: Callable[[str, bytes], None],
                  work: Path, seconds: float) -> list[tuple[str, int, float, float]]:
    rows = []
    for size in (30_000, 300_000):
        message = sample(size)
        data = to_mime(message)
        db = baseline_db(work / f"{label}-{size}-base.db")

        async def bare(i: int, data: bytes = data, db: sqlite3.Connection = db,
                       size: int = size) -> None:
            name = f"b{size}-{i}"
            await asyncio.to_thread(write, name, data)
            await asyncio.to_thread(db.execute, "INSERT INTO m VALUES (?, ?, ?)",
                                    (name, name, len(data)))

        state = await SqliteStateStore.open(work / f"{label}-{size}.db")

        async def full(i: int, message: Message = message, state=state) -> None:
            await accept(message, objects=objects, state=state, interface=Interface.MM1,
                         route=lambda _a: Route.MMS, now=time.time())

        base = await rate(bare, seconds)
        product = await rate(full, seconds)
        await state.close()
        db.close()
        rows.append((label, size, product, base))
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto_server did not start")


async def main(seconds: float) -> None:
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs, "
          f"{seconds:g} s per measurement")
    rows = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        work = Path(tmp)
        local = work / "objects"
        rows += await measure("local folder", FilesystemStore(local),
                              lambda name, data: local_write(work / "bare", name, data),
                              work, seconds)
        port = free_port()
        server = start_moto(port)
        try:
            endpoint = f"127.0.0.1:{port}"
            client = Minio(endpoint, "bench", "bench", secure=False)
            client.make_bucket("bare")

            def s3_write(name: str, data: bytes) -> None:
                import io
                client.put_object("bare", f"messages/{name}/original.mime", io.BytesIO(data),
                                  len(data))

            s3 = S3Store(endpoint, "bench", "bench", "mmsc-bench")
            rows += await measure("S3 (moto_server)", s3, s3_write, work, seconds)
            await s3.close()
        finally:
            server.terminate()
            server.wait()
    print(f"{'store':18} {'message':>8} {'accept/s':>9} {'baseline/s':>11} {'ratio':>6}")
    for label, size, product, base in rows:
        print(f"{label:18} {size // 1000:>5} KB {product:9.0f} {base:11.0f} "
              f"{product / base:6.2f}")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
