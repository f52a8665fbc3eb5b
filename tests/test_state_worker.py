"""The state store's worker thread (mmsc/state/worker.py): calls run in order, one at a time,
off the loop; the calls waiting when it wakes run as one batch and come back in one wake-up
of the loop; failures and callers that give up touch no other call."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mmsc.state.worker import BatchWorker, WorkerClosed


@pytest.fixture
async def worker():
    w = BatchWorker("test-worker")
    yield w
    await w.close()


async def test_calls_run_in_order_in_one_thread_off_the_loop(worker: BatchWorker) -> None:
    ran: list[tuple[int, int]] = []

    def work(i: int) -> int:
        ran.append((i, threading.get_ident()))
        return i * i

    results = await asyncio.gather(*(worker.call(work, i) for i in range(50)))
    assert results == [i * i for i in range(50)]
    assert [i for i, _ in ran] == list(range(50))
    assert len({t for _, t in ran}) == 1 and ran[0][1] != threading.get_ident()


async def test_calls_made_while_it_works_come_back_in_one_wake_up(
        worker: BatchWorker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five calls made while the first one runs are one batch: the loop is woken twice for
    six results, where a thread pool wakes it once per result."""
    loop = asyncio.get_running_loop()
    wakes = 0
    original = loop.call_soon_threadsafe

    def counted(*args: object, **kwargs: object) -> asyncio.Handle:
        nonlocal wakes
        wakes += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    started, release = threading.Event(), threading.Event()

    def first() -> str:
        started.set()
        release.wait(10)
        return "first"

    head = asyncio.ensure_future(worker.call(first))
    await asyncio.to_thread(started.wait, 10)  # (to_thread wakes the loop once more itself)
    wakes = 0
    rest = [asyncio.ensure_future(worker.call(str, i)) for i in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await head == "first"
    assert await asyncio.gather(*rest) == ["0", "1", "2", "3", "4"]
    assert wakes == 2


async def test_a_failure_or_a_caller_that_gives_up_touches_no_other_call(
        worker: BatchWorker) -> None:
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(10)
        done.append("slow")

    def broken() -> None:
        raise ValueError("no such row")

    gave_up = asyncio.ensure_future(worker.call(slow))
    failing = asyncio.ensure_future(worker.call(broken))
    after = asyncio.ensure_future(worker.call(done.append, "after"))
    await asyncio.sleep(0)
    gave_up.cancel()
    release.set()
    with pytest.raises(ValueError, match="no such row"):
        await failing
    assert await after is None
    assert done == ["slow", "after"]  # the abandoned call still ran, as in a thread pool
    assert gave_up.cancelled()


async def test_close_runs_the_calls_already_made_then_refuses() -> None:
    worker = BatchWorker("test-worker")
    done: list[int] = []
    pending = [asyncio.ensure_future(worker.call(done.append, i)) for i in range(3)]
    await asyncio.sleep(0)
    await worker.close()
    await asyncio.gather(*pending)
    assert done == [0, 1, 2]
    with pytest.raises(WorkerClosed):
        await worker.call(done.append, 3)
    await worker.close()  # twice is harmless
