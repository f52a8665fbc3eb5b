"""Several processes on one HTTP port (``[http] workers``): the process model's scale-out
form (ARCHITECTURE.md) on one host, so that an MMSC uses every core and not one.

The first process starts as always; it then spawns ``workers - 1`` more, each a
:class:`~mmsc.server.Server` in worker mode on the same port (SO_REUSEPORT: the kernel spreads
the connections), the same object store and the same state store (SQLite in WAL mode takes
writers from several processes). Each process runs its own scheduler: the claims with
leases that keep two hosts from taking the same step keep two processes from it too. The
SMSC emulator and the emulated handsets live in the first process; the others bind to that
emulator as an SMPP client would. A worker that dies is started again; a worker whose first
process is gone (even killed) stops by itself.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import multiprocessing
import os
import signal
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from mmsc import loops
from mmsc.config import Config
from mmsc.server import Server, routes_to_run

log = logging.getLogger(__name__)

#: How often a worker looks whether its first process still lives, and the first process
#: whether its workers do, in seconds.
WATCH_INTERVAL = 0.5
#: A worker that stops sooner than this after its start (seconds) is started again after a
#: growing pause.
QUICK_STOP = 10.0


def worker_config(config: Config, port: int, smsc_ports: dict[str, int]) -> Config:
    """A worker's configuration: the port the first process bound (which may have been 0),
    and the first process's SMSC emulators (their ports by route name) as its SMSCs."""
    mine = copy.deepcopy(config)
    mine.http.port = port
    mine.smsc_routes = [dataclasses.replace(r, mode="smpp", port=smsc_ports[r.name])
                        if r.name in smsc_ports else r for r in routes_to_run(mine)]
    return mine


def _main(config: Config, parent: int) -> None:
    """A worker process: serve until stopped (SIGTERM, SIGINT) or orphaned."""
    logging.basicConfig(level=config.log.number, datefmt="%H:%M:%S",
                        format=f"%(asctime)s [{os.getpid()}] %(name)s %(message)s")
    try:
        loops.run(_serve(config, parent), config.http.event_loop)
    except KeyboardInterrupt:
        pass


async def _serve(config: Config, parent: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = Server(config, worker=True)
    await server.start()
    log.info("worker %d serving %s with the first process %d", os.getpid(), server.url, parent)
    try:
        while os.getppid() == parent and not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), WATCH_INTERVAL)
            except TimeoutError:
                pass
    finally:
        await server.close()


@dataclass
class _Slot:
    """One worker's place: its process (None while waiting to start again)."""

    process: BaseProcess | None = None
    started: float = 0.0
    failures: int = 0  # stops soon after a start, in a row
    next_start: float = 0.0


class Workers:
    """The further processes of a first process; each one that stops is started again."""

    def __init__(self, config: Config, count: int) -> None:
        self.config = config
        self._context = multiprocessing.get_context("spawn")  # no copy of the loop or threads
        self._slots = [_Slot() for _ in range(count)]
        self._watch: asyncio.Task[None] | None = None

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self._slots if s.process is not None and s.process.pid]

    def _start(self, slot: _Slot, now: float) -> None:
        slot.process = self._context.Process(target=_main, args=(self.config, os.getpid()),
                                             name="mmsc-worker", daemon=True)
        slot.process.start()
        slot.started = now

    async def start(self) -> None:
        now = asyncio.get_running_loop().time()
        for slot in self._slots:
            self._start(slot, now)
        log.info("started %d worker process(es): %s", len(self._slots),
                 ", ".join(map(str, self.pids)))
        self._watch = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        """Start a worker again when it stops; one that keeps stopping soon after its start
        waits 1, 2, 4 ... (at most 60) seconds first, rather than failing in a tight loop."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            now = loop.time()
            for slot in self._slots:
                process = slot.process
                if process is not None and process.is_alive():
                    continue
                if process is not None:
                    quick = now - slot.started < QUICK_STOP
                    slot.failures = slot.failures + 1 if quick else 0
                    delay = min(60.0, 2.0 ** (slot.failures - 1)) if slot.failures else 0.0
                    log.warning("worker %s stopped (exit code %s); another starts in %.0f s",
                                process.pid, process.exitcode, delay)
                    slot.process, slot.next_start = None, now + delay
                if now >= slot.next_start:
                    self._start(slot, now)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        processes = [s.process for s in self._slots if s.process is not None]
        for process in processes:
            process.terminate()
        for process in processes:
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.kill()
