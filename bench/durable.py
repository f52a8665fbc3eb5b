"""Benchmark: what one durable write of a message costs the file system, step by step.

The local object store writes each message as ``messages/<id>/original.mime``: a new folder,
a temporary file written and fsync'd, a rename, then an fsync of the message's folder and
of ``messages/`` (shared by the writes in flight, see ``mmsc/store/filesystem.py``). Each
step is needed for a write that survives a crash (the folder entries are only on disk once
their folder is synced). This prints, for 42 KB written with 32 in flight from worker
threads, the writes per second and the CPU seconds (user and system) each write costs, for
the steps one after another, and for ``FilesystemStore.put`` itself. The system CPU is most
of an MM7 submit's (docs/performance.md), and this shows which step it goes to.

    .venv/bin/python bench/durable.py [writes]
"""

from __future__ import annotations

import asyncio
import os
import resource
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmsc.store.filesystem import FilesystemStore, fsync_folder  # noqa: E402

DATA = os.urandom(42_000)
IN_FLIGHT = 32


def step_writer(folder: Path, *, mkdir: bool, rename: bool, sync_own: bool,
                sync_parent: bool) -> Callable[[int], None]:
    """One write of ``DATA`` under ``folder``, with the steps asked for."""
    def write(i: int) -> None:
        home = folder / f"m{i}" if mkdir else folder
        if mkdir:
            home.mkdir()
        path = home / (f".tmp{i}" if rename else f"o{i}")
        with open(path, "wb") as file:
            file.write(DATA)
            file.flush()
            os.fsync(file.fileno())
        if rename:
            os.replace(path, home / f"o{i}")
        if sync_own:
            fsync_folder(home)
        if sync_parent:
            fsync_folder(folder)
    return write


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def measure(writes: int, one: Callable[[int], object]) -> tuple[float, float, float]:
    """Writes per second, user and system CPU ms per write, ``IN_FLIGHT`` at a time."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def run(i: int) -> None:
        async with gate:
            result = one(i)
            if asyncio.iscoroutine(result):
                await result

    (user, system), start = cpu(), time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(writes)))
    elapsed, (user_end, system_end) = time.perf_counter() - start, cpu()
    return writes / elapsed, (user_end - user) / writes * 1000, \
        (system_end - system) / writes * 1000


def file_system(path: Path) -> str:
    """The type and options of the file system ``path`` is on (longest mount point)."""
    best = ("", "?", "")
    for line in Path("/proc/mounts").read_text().splitlines():
        _, point, kind, options = line.split()[:4]
        if str(path).startswith(point) and len(point) > len(best[0]):
            best = (point, kind, options)
    return f"{best[1]} ({best[2]}) at {best[0]}"


async def main(writes: int) -> None:
    steps = [
        ("file, fsync", dict(mkdir=False, rename=False, sync_own=False, sync_parent=False)),
        ("+ rename", dict(mkdir=False, rename=True, sync_own=False, sync_parent=False)),
        ("+ fsync of its folder", dict(mkdir=False, rename=True, sync_own=True,
                                       sync_parent=False)),
        ("new folder, file, fsync", dict(mkdir=True, rename=False, sync_own=False,
                                         sync_parent=False)),
        ("+ rename", dict(mkdir=True, rename=True, sync_own=False, sync_parent=False)),
        ("+ fsync of the folder", dict(mkdir=True, rename=True, sync_own=True,
                                       sync_parent=False)),
        ("+ fsync of its parent", dict(mkdir=True, rename=True, sync_own=True,
                                       sync_parent=True)),
    ]
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        for n, (label, kwargs) in enumerate(steps):
            folder = work / f"steps{n}"
            folder.mkdir()
            write = step_writer(folder, **kwargs)
            rows.append((label, *await measure(writes, lambda i, w=write: asyncio.to_thread(
                w, i))))
        store = FilesystemStore(work / "store")
        rows.append(("FilesystemStore.put", *await measure(writes, lambda i: store.put(
            f"messages/{secrets.token_hex(8)}{i}/original.mime", DATA))))
        await store.close()
        where = file_system(work)
        shutil.rmtree(work / "store", ignore_errors=True)
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; {writes} writes of "
          f"{len(DATA)} octets, {IN_FLIGHT} in flight, on {where}")
    print(f"{'steps':26} {'writes/s':>9} {'user ms':>8} {'sys ms':>7}")
    for label, rate, user, system in rows:
        print(f"{label:26} {rate:9.0f} {user:8.3f} {system:7.3f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 400))
