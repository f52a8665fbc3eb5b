"""The SMSC away: ``mmsc serve`` (a child process in smpp mode) starts without it, accepts
over MM1 and MM7 meanwhile, and every notification left waiting goes out as soon as the
SMSC (``mmsc smsc``, another child process) listens again, without spending the handsets'
attempts."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from test_loop import B, C
from test_mm7 import submit_all
from test_restart import free_port, send_mm1, start_server, wait_healthy, write_config


class SmscProcess:
    """``mmsc smsc`` on a fixed port in a child process; the notification pushes it prints,
    with when each was read."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.pushes: list[tuple[float, str]] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> float:
        """Start it; when it listens (time.monotonic())."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mmsc", "smsc", "--port", str(self.port),
            "--account", "mmsc:secret", stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        assert self._process.stdout is not None
        first = await asyncio.wait_for(self._process.stdout.readline(), 20)
        assert b"listening on" in first, first
        self._reader = asyncio.create_task(self._read(self._process.stdout))
        return time.monotonic()

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := (await stdout.readline()).decode():
            if " push m-notification-ind " in line:
                self.pushes.append((time.monotonic(), line))

    def tids(self, number: str) -> set[str]:
        """The transaction ids of the notifications pushed to ``number``."""
        return {line.split(" tid=")[1].split()[0] for _, line in self.pushes
                if f" -> {number} " in line}

    async def wait_for(self, condition, timeout: float) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()
        if self._reader is not None:
            await self._reader


def config(folder: Path, smpp_port: int) -> tuple[str, Path]:
    """The server's URL and config: smpp mode with the default back-offs, a VASP."""
    port = free_port()
    return f"http://127.0.0.1:{port}", write_config(folder, port, smpp_port, """
system_id = "mmsc"
password = "secret"
[delivery]
scheduler_interval = "0.2s"
[[vasp]]
id = "acme"
password = "pw"
allowed_senders = ["36000"]
""")


def recipients(folder: Path, message_ids: list[str]) -> list[tuple[str, str, int]]:
    """(message id, state, attempts) of each recipient of these messages, read from the
    server's SQLite file."""
    marks = ", ".join("?" * len(message_ids))
    with sqlite3.connect(folder / "mmsc.db") as db:
        return db.execute(f"SELECT message_id, state, attempts FROM recipients "
                          f"WHERE message_id IN ({marks})", message_ids).fetchall()


def events(folder: Path, message_ids: list[str]) -> list[str]:
    marks = ", ".join("?" * len(message_ids))
    with sqlite3.connect(folder / "mmsc.db") as db:
        return [kind for (kind,) in db.execute(
            f"SELECT kind FROM events WHERE message_id IN ({marks})", message_ids)]


async def test_serve_starts_and_accepts_while_the_smsc_is_down(tmp_path: Path) -> None:
    smsc = SmscProcess(free_port())  # nothing listens there yet
    url, path = config(tmp_path, smsc.port)
    log = tmp_path / "serve.log"
    server = start_server(path, log)
    try:
        await wait_healthy(url, server)
        assert "not bound: mmsc starts anyway" in log.read_text()
        mm1 = await send_mm1(url, C, 1)
        mm7 = await submit_all(url, ["outage-1"])
        await asyncio.sleep(1)  # the scheduler finds no link: nothing is sent, nothing lost
        assert {state for _, state, _ in recipients(tmp_path, mm1 + mm7)} == {"accepted"}
        await smsc.start()
        await smsc.wait_for(lambda: len(smsc.tids(C)) == 1 and len(smsc.tids(B)) == 1,
                            timeout=30)
        assert all(attempts == 1 for _, _, attempts in recipients(tmp_path, mm1 + mm7))
        assert server.poll() is None
    finally:
        server.kill()
        server.wait(10)
        await smsc.kill()


async def test_pushes_pending_at_an_smsc_outage_go_when_it_returns(tmp_path: Path) -> None:
    smsc = SmscProcess(free_port())
    await smsc.start()
    url, path = config(tmp_path, smsc.port)
    server = start_server(path, tmp_path / "serve.log")
    try:
        await wait_healthy(url, server)
        before = await send_mm1(url, C, 1)
        await smsc.wait_for(lambda: len(smsc.tids(C)) == 1, timeout=20)  # the link works
        await smsc.kill()
        pending = await submit_all(url, [f"away-{i}" for i in range(50)])
        pending += await send_mm1(url, C, 5)
        # longer than a submit waits for a bind (SmppConfig.response_timeout, 10 s): each
        # push is tried, finds no link, and waits
        await asyncio.sleep(12)
        assert smsc.tids(B) == set() and len(smsc.tids(C)) == 1
        assert "notify-parked" in events(tmp_path, pending)
        returned = await smsc.start()
        # each waits for the bind, not for the handset's re-notification back-off (60 s)
        await smsc.wait_for(lambda: len(smsc.tids(B)) == 50 and len(smsc.tids(C)) == 6,
                            timeout=15)
        last = max(at for at, _ in smsc.pushes)
        print(f"\nthe last of {len(pending)} pending notifications left "
              f"{last - returned:.2f} s after the SMSC listened again")
        rows = recipients(tmp_path, pending)
        assert len(rows) == len(pending)
        assert {(state, attempts) for _, state, attempts in rows} == {("notified", 1)}
        assert recipients(tmp_path, before)[0][1:] == ("notified", 1)
    finally:
        server.kill()
        server.wait(10)
        await smsc.kill()
