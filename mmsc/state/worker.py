"""One thread for a blocking resource (the SQLite connection), fed in batches from the loop.

A thread pool hands each call over on its own: a concurrent future with its lock and
condition, a wake-up of the worker, and a wake-up of the event loop for each result. The
state store gets several calls at once under load (ten messages in flight make reads,
claims and a group commit together), so :class:`BatchWorker` takes every call waiting when
it wakes, runs them in order of arrival, and hands their results back in one wake-up of the
loop. Calls still run one at a time, in the order they were made, in one thread, as a
one-thread pool runs them (ARCHITECTURE.md, process model: SQLite off the loop).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any],
             tuple[Any, ...]]
_Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


class WorkerClosed(RuntimeError):
    """A call after :meth:`BatchWorker.close`."""


class BatchWorker:
    """A thread that runs the calls given to :meth:`call` one after another, in batches."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._closed = False

    async def call(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in the worker thread, after every call made before it."""
        if self._closed:
            raise WorkerClosed(f"{self._thread.name}: the worker is closed")
        if not self._thread.is_alive():
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return await future

    async def close(self) -> None:
        """Run the calls already made, then end the thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)

    def _serve(self) -> None:
        while True:
            batch: list[_Job] = []
            job = self._jobs.get()
            while job is not None:
                batch.append(job)
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
            self._run(batch)
            if job is None:
                return

    @staticmethod
    def _run(batch: list[_Job]) -> None:
        outcomes: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for loop, future, fn, args in batch:
            try:
                outcome: _Outcome = (future, fn(*args), None)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, as a pool does
                outcome = (future, None, exc)
            outcomes.setdefault(loop, []).append(outcome)
        for loop, settled in outcomes.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop is closed: nobody waits for these any more
                pass


def _settle(outcomes: list[_Outcome]) -> None:
    """On the loop: each caller's result or exception (a caller that gave up is skipped)."""
    for future, result, exc in outcomes:
        if future.cancelled():
            continue
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)
