"""Benchmark: durable accepts per second, local folder and S3, against a bare baseline.

For a 30 KB and a 300 KB message, on the local folder (FilesystemStore) and on two S3
servers on loopback, the ones the tests use (moto_server, an emulator that keeps objects in
memory, and SeaweedFS, a real object store writing to disk; see ``bench/backends.py``):

- accept: ``mmsc.relay.accept.accept`` end to end: the MM to MIME, the object written
  durably, the message, recipient and event rows committed in SQLite (WAL, synchronous=FULL);
- baseline: the same MIME octets written bare (local: temporary file, fsync, rename,
  folder fsync; S3: one put_object) and one SQLite insert committed with the same settings,
  no model code.

    .venv/bin/python bench/store.py [seconds-per-measurement]
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.backends import backends  # noqa: E402
from mmsc.config import Config  # noqa: E402
from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mime import to_mime  # noqa: E402
from mmsc.relay.accept import accept  # noqa: E402
from mmsc.server import object_store  # noqa: E402
from mmsc.state import Interface, Route, SqliteStateStore  # noqa: E402
from mmsc.store import ObjectStore  # noqa: E402

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


async def main(seconds: float) -> None:
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs, "
          f"{seconds:g} s per measurement")
    rows = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        work = Path(tmp)
        with backends(work) as stores:
            for backend in stores:
                config = Config()
                config.storage = backend.storage
                objects = object_store(config)
                rows += await measure(backend.label, objects, backend.write, work, seconds)
                await objects.close()
    print(f"{'store':18} {'message':>8} {'accept/s':>9} {'baseline/s':>11} {'ratio':>6}")
    for label, size, product, base in rows:
        print(f"{label:18} {size // 1000:>5} KB {product:9.0f} {base:11.0f} "
              f"{product / base:6.2f}")


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0))
