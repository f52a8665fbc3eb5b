"""Benchmark: what handing one call from the event loop to a worker thread and back costs.

Every state store call on SQLite and every object store operation is such a hand-off (the
loop must not block on SQLite or on the disk, ARCHITECTURE.md). This prints the CPU (user
and system, of the whole process) per hand-off of a call that does nothing, with 1 and with
10 calls in flight, through: a thread pool of 16 (the object store's), a pool of one thread
(the state store's until issue 19), and ``mmsc.state.worker.BatchWorker`` (the state
store's now, which runs the calls waiting when it wakes as one batch).

    .venv/bin/python bench/handoff.py [calls]
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmsc.state.worker import BatchWorker  # noqa: E402


def nothing() -> None:
    return None


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def measure(calls: int, in_flight: int,
                  hand_off: Callable[[], Awaitable[None]]) -> tuple[float, float, float]:
    """Hand-offs per second, user and system CPU µs per hand-off."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            await hand_off()

    (user, system), start = cpu(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(calls)))
    elapsed, (user_end, system_end) = time.perf_counter() - start, cpu()
    return calls / elapsed, (user_end - user) / calls * 1e6, (system_end - system) / calls * 1e6


async def main(calls: int) -> None:
    loop = asyncio.get_running_loop()
    pool16, pool1, worker = ThreadPoolExecutor(16), ThreadPoolExecutor(1), BatchWorker("bench")
    ways: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("thread pool of 16", lambda: loop.run_in_executor(pool16, nothing)),
        ("thread pool of 1", lambda: loop.run_in_executor(pool1, nothing)),
        ("BatchWorker", lambda: worker.call(nothing)),
    ]
    rows = []
    for label, hand_off in ways:
        for in_flight in (1, 10):
            await measure(calls // 10, in_flight, hand_off)  # threads started, caches warm
            rows.append((label, in_flight, *await measure(calls, in_flight, hand_off)))
    await worker.close()
    pool16.shutdown()
    pool1.shutdown()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; {calls} hand-offs of a "
          "call that does nothing")
    print(f"{'through':18} {'in flight':>9} {'per s':>8} {'user µs':>8} {'sys µs':>7}")
    for label, in_flight, rate, user, system in rows:
        print(f"{label:18} {in_flight:9d} {rate:8.0f} {user:8.1f} {system:7.1f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
