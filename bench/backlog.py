"""Benchmark: memory and acceptance time with a growing backlog of undelivered messages.

``mmsc serve`` (SQLite, local folder) takes MM7 SubmitReqs, each for another number, from a
client with 32 requests in flight; every recipient is notified through a separate SMSC
emulator process (``mmsc smsc``), and no handset ever fetches, so every message stays
pending, with its re-notification timers running. At each checkpoint (by default 1k, 10k
and 100k messages accepted) it prints the server's resident memory (VmRSS from
``/proc/<pid>/status``), the acceptance rate and CPU per message since the previous
checkpoint, and how many recipients have been notified. The claim is that nothing in the
server holds per-message state in memory: RSS at the last checkpoint within 1.2 x the first.

    .venv/bin/python bench/backlog.py [checkpoint ...]      (e.g. 1000 10000 100000)
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.mm7 import cpu_seconds, free_port, mmsc_config, wait_nodes, wait_port  # noqa: E402
from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mm7.soap import DEFAULT_NAMESPACE, build_submit  # noqa: E402

NUMBER = "+33699999999"
IN_FLIGHT = 32


def template() -> tuple[bytes, str]:
    """A SubmitReq of a text and a 4 KB picture for ``NUMBER``, TransactionID ``TXID``."""
    message = Message(Envelope(to=[f"{NUMBER}/TYPE=PLMN"], subject="backlog",
                               delivery_report=False),
                      [MessagePart("image/gif", b"GIF89a" + os.urandom(4000), content_id="p"),
                       MessagePart.from_text("never fetched", content_id="t")])
    return build_submit(namespace=DEFAULT_NAMESPACE, version="6.8.0", transaction_id="TXID",
                        vasp_id="bench", vas_id=None, sender="36000", message=message)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


def notified(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM recipients WHERE state = 'notified'"
                                  ).fetchone()[0]


async def submit_all(port: int, checkpoints: list[int], server: subprocess.Popen,
                     db: Path) -> list[tuple[int, int, float, float, int]]:
    body, content_type = template()
    headers = {"Content-Type": content_type,
               "Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()}
    url = f"http://127.0.0.1:{port}/mm7"
    counter = iter(range(checkpoints[-1]))
    done = 0
    rows = []
    mark, cpu_mark, since = time.perf_counter(), cpu_seconds(server.pid), 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal done, mark, cpu_mark, since
        for i in counter:
            data = body.replace(b"TXID", f"t{i}".encode()).replace(
                NUMBER.encode(), f"+3361{i:07d}".encode())
            async with http.post(url, data=data, headers=headers) as answer:
                text = await answer.read()
                if answer.status != 200 or b"<StatusCode>1000<" not in text:
                    raise SystemExit(f"SubmitReq {i} refused: {answer.status} {text[:300]!r}")
            done += 1
            if done in checkpoints:
                now, cpu = time.perf_counter(), cpu_seconds(server.pid)
                count = done - since
                rows.append((done, rss_kib(server.pid), count / (now - mark),
                             (cpu - cpu_mark) / count * 1000, notified(db)))
                mark, cpu_mark, since = now, cpu, done

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as http:
        await asyncio.gather(*(worker(http) for _ in range(IN_FLIGHT)))
    return rows


async def main(checkpoints: list[int]) -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        smsc_port, port = free_port(), free_port()
        smsc = subprocess.Popen([sys.executable, "-m", "mmsc", "smsc", "--port", str(smsc_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
        server = None
        try:
            wait_port(smsc_port, smsc)
            server = subprocess.Popen(
                [sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                 str(mmsc_config(work, port, smsc_port=smsc_port))],
                stdout=subprocess.DEVNULL, stderr=log, cwd=work)
            wait_nodes(port, 1, server)
            started = rss_kib(server.pid)
            rows = await submit_all(port, checkpoints, server, work / "mmsc.db")
        finally:
            for process in (server, smsc):
                if process is not None:
                    process.terminate()
                    process.wait(30)
            log.close()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; MM7 SubmitReq of "
          f"{len(template()[0])} octets, {IN_FLIGHT} in flight, each to another number that "
          "never fetches; RSS of the idle server at start: "
          f"{started / 1024:.1f} MiB")
    print(f"{'accepted':>9} {'RSS MiB':>8} {'RSS/first':>9} {'accepted/s':>11} "
          f"{'CPU ms/msg':>11} {'notified':>9}")
    for done, rss, rate, cpu_ms, count in rows:
        print(f"{done:9d} {rss / 1024:8.1f} {rss / rows[0][1]:9.2f} {rate:11.0f} "
              f"{cpu_ms:11.2f} {count:9d}")


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [1000, 10_000, 100_000]))
