"""Benchmark: how mmsc scales with processes, on PostgreSQL against SQLite, in one run.

``mmsc serve`` with 1, 2 and 4 processes on one port (``[http] workers``), first on one SQLite
file, then on one PostgreSQL database (a throw-away cluster of the installed server with its
default durability: WAL flushed at every commit, as SQLite's ``synchronous=FULL`` syncs):

- MM7 SubmitReq per second: wrk at 64 connections for ``seconds``, a 30 KB SubmitReq with a
  fresh TransactionID each, to an offline emulated handset (so each message is also notified
  over SMPP, as in bench/mm7.py);
- full loops per second: ``loops`` SubmitReq asking for a delivery report, ``window`` in flight,
  to emulated handsets that fetch over MM1 and acknowledge; a loop ends when its
  DeliveryReportReq reaches this script's VASP endpoint.

- the store alone, the ceiling the database sets: ``accept_message`` calls per second from
  one process, 64 at a time (one message, one recipient each, as a SubmitReq makes).

Prints each rate and the scaling factor (rate at N processes / rate at 1) per backend.

    .venv/bin/python bench/scale.py [seconds] [loops] [window]
    (needs wrk, and a PostgreSQL server: scripts/test-postgres.sh installs Debian's)
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from mm7 import LUA, free_port, run_wrk, wait_nodes, wait_port  # noqa: E402
from tests.helpers.pg_cluster import Cluster  # noqa: E402

from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mm7.soap import DEFAULT_NAMESPACE, build_response, build_submit, parse_request  # noqa: E402
from mmsc.state import Interface, MessageRecord, RecipientRecord, RecipientState, Route  # noqa: E402
from mmsc.state.location import open_store  # noqa: E402

PROCESSES = (1, 2, 4)
OFFLINE = "+33600000009"
PHONES = [f"+3361000000{i}" for i in range(8)]
AUTH = "Basic " + base64.b64encode(b"bench:bench").decode()


def submit_template(to: str, size: int, report: bool) -> tuple[bytes, str]:
    """A SubmitReq whose TransactionID is the placeholder ``TXID``."""
    from loop import PICTURE  # a real JPEG: the retrieval adapts it as it is
    data = os.urandom(size) if not report else PICTURE
    message = Message(Envelope(to=[f"{to}/TYPE=PLMN"], subject="bench",
                               delivery_report=report),
                      [MessagePart("image/jpeg", data, content_id="img"),
                       MessagePart.from_text("caption", content_id="txt")])
    return build_submit(namespace=DEFAULT_NAMESPACE, version="6.8.0", transaction_id="TXID",
                        vasp_id="bench", vas_id=None, sender="36000", message=message)


class Reports:
    """The VASP's report endpoint: when each message's DeliveryReportReq came."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def handler(request: web.Request) -> web.Response:
            req = parse_request(await request.read(), request.headers.get("Content-Type", ""))
            self.arrived.setdefault(req.fields.get("MessageID", ""), time.perf_counter())
            self.changed.set()
            return web.Response(body=build_response(
                req.operation.replace("Req", "Rsp"), namespace=req.namespace,
                version=req.version, transaction_id=req.transaction_id), content_type="text/xml")

        app = web.Application()
        app.add_routes([web.post("/reports", handler)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/reports"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def loops(port: int, reports: Reports, total: int, window: int) -> float:
    """Full loops per second: ``total`` submits, ``window`` at a time, each over when its
    delivery report has come."""
    body, content_type = submit_template(PHONES[0], 0, True)
    gate = asyncio.Semaphore(window)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        async def one(i: int) -> None:
            async with gate:
                data = body.replace(b"TXID", f"loop-{i}".encode()).replace(
                    PHONES[0].encode(), PHONES[i % len(PHONES)].encode())
                async with http.post(f"http://127.0.0.1:{port}/mm7", data=data, headers={
                        "Authorization": AUTH, "Content-Type": content_type}) as answer:
                    text = await answer.text()
                message_id = text.split("MessageID>")[1].split("<")[0]
                while message_id not in reports.arrived:
                    reports.changed.clear()
                    await asyncio.wait_for(reports.changed.wait(), 120)

        begin = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(total)))
        return total / (time.perf_counter() - begin)


async def store_ceiling(url: str, seconds: float) -> float:
    """Accepts per second of the state store alone, 64 in flight."""
    store = await open_store(url)
    count = 0
    deadline = time.perf_counter() + seconds

    async def accepting(worker: int) -> None:
        nonlocal count
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            message_id = f"w{worker}-{n}"
            await store.accept_message(
                MessageRecord(message_id, Interface.MM7, "36000", f"messages/{message_id}/x",
                              30_000, time.time(), vasp_id="bench", transaction_id=message_id),
                [RecipientRecord(None, message_id, OFFLINE, "to", Route.MMS,
                                 RecipientState.ACCEPTED, next_attempt_at=time.time())])
            count += 1

    begin = time.perf_counter()
    await asyncio.gather(*(accepting(w) for w in range(64)))
    rate = count / (time.perf_counter() - begin)
    await store.close()
    return rate


def config(folder: Path, port: int, workers: int, state_url: str, report_url: str) -> str:
    phones = "".join(f'[[subscriber]]\nmsisdn = "{p}"\nbehaviour = "auto"\n' for p in PHONES)
    return f"""
[http]
port = {port}
workers = {workers}
[storage]
path = "{folder / 'objects'}"
[state]
url = "{state_url}"
[smsc]
port = {free_port()}
max_mps = 100000
[[vasp]]
id = "bench"
password = "bench"
allowed_senders = ["36000"]
report_url = "{report_url}"
[[subscriber]]
msisdn = "{OFFLINE}"
behaviour = "offline"
{phones}"""


async def measure(work: Path, backend: str, workers: int, state_url: str, script: Path,
                  seconds: float, total: int, window: int) -> tuple[float, float]:
    folder = work / f"{backend}-{workers}"
    folder.mkdir()
    reports = Reports()
    await reports.start()
    port = free_port()
    (folder / "mmsc.toml").write_text(config(folder, port, workers, state_url, reports.url))
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                               str(folder / "mmsc.toml")], stdout=subprocess.DEVNULL,
                              stderr=log, cwd=folder,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        await asyncio.to_thread(wait_port, port, server)
    except SystemExit:
        log.close()
        raise SystemExit(f"{backend}, {workers} processes: mmsc did not start: "
                         f"{(folder / 'server.log').read_text()[-1500:]}") from None
    try:
        await asyncio.to_thread(wait_nodes, port, workers, server)
        # loops first: the submits leave thousands of notifications for the scheduler
        loop_rate = await loops(port, reports, total, window)
        rate = (await asyncio.to_thread(run_wrk, port, script, 64, seconds))[0]
    finally:
        server.terminate()
        await asyncio.to_thread(server.wait, 20)
        log.close()
        await reports.close()
    shutil.rmtree(folder, ignore_errors=True)
    return rate, loop_rate


async def main(seconds: float, total: int, window: int) -> None:
    if shutil.which("wrk") is None:
        print("bench/scale.py skipped: it needs wrk (apt-get install wrk)")
        return
    body, content_type = submit_template(OFFLINE, 30_000, False)
    results: dict[tuple[str, int], tuple[float, float]] = {}
    cluster = Cluster(durable=True).start()
    try:
        with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
            work = Path(tmp)
            (work / "body.bin").write_bytes(body)
            script = work / "submit.lua"
            script.write_text(LUA.replace("{body}", str(work / "body.bin"))
                              .replace("{content_type}", content_type)
                              .replace("{auth}", AUTH.split()[1]))
            ceilings = {
                "sqlite": await store_ceiling(f"sqlite:///{work / 'ceiling.db'}", seconds / 2),
                "postgresql": await store_ceiling(cluster.new_database(), seconds / 2)}
            for backend in ("sqlite", "postgresql"):
                for workers in PROCESSES:
                    url = (f"sqlite:///{work / f'{backend}-{workers}.db'}" if backend == "sqlite"
                           else cluster.new_database())
                    results[backend, workers] = await measure(
                        work, backend, workers, url, script, seconds, total, window)
                    os.sync()
    finally:
        cluster.close()
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; wrk 64 connections, "
          f"{seconds:g} s per point, SubmitReq of {len(body)} octets; {total} loops, "
          f"{window} in flight")
    print(f"{'backend':11} {'procs':>5} {'submit/s':>9} {'xN/x1':>6} {'loops/s':>8} {'xN/x1':>6}")
    for (backend, workers), (rate, loop_rate) in results.items():
        base_rate, base_loops = results[backend, 1]
        print(f"{backend:11} {workers:5d} {rate:9.0f} {rate / base_rate:6.2f} "
              f"{loop_rate:8.1f} {loop_rate / base_loops:6.2f}")
    print("the state store alone, accepts/s, 64 in flight, one process: " + ", ".join(
        f"{backend} {rate:.0f}" for backend, rate in ceilings.items()))


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0,
                     int(sys.argv[2]) if len(sys.argv) > 2 else 300,
                     int(sys.argv[3]) if len(sys.argv) > 3 else 32))
