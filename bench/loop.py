"""Benchmark: the full delivery loop on loopback, ``mmsc serve`` in its own process.

Handset A sends MMS to handset B over MM1 (image and text, delivery report asked); a loop is
done when A holds the M-Delivery.ind: submit → notified → fetched → acknowledged → report.
What runs where:

- the server: ``python -m mmsc serve --no-demo`` in its own process (SQLite state, logging
  at the default level to a file, ``[smsc] mode = "smpp"`` bound to the emulator below,
  ``[delivery] scheduler_interval = 0.01``, subscribers A and B);
- this process: the SMSC emulator (``wap_push.smsc.SmscEmulator`` on a loopback port) and
  the two emulated handsets (``mmsc.emulator.handsets``, A sends, B is ``auto``), which
  reach the server over HTTP;
- the S3 servers (``bench/backends.py``), each in its own process, not counted.

Prints loops per second with several submits in flight, and the latency from submit to the
notification push reaching the SMSC (p50, p99). Once per object store: the local folder,
S3 on moto_server and S3 on SeaweedFS. Baselines in the same run: the bare write of the
message's stored octets (its MIME) to the same store, one after the other (local: temporary
file, fsync, rename, folder fsync; S3: one put_object), and the HTTP floor of the three MM1
round trips a loop makes (submit, fetch, notify-response), timed as GETs of /healthz with the
same client. CPU per loop, over the loops only: the server's (user + system, from
``/proc/<pid>/stat``, of the server process and its children; ``sys ms`` is the system
part of it) and this process's (the emulator and the handsets, ``time.process_time()``);
their sum is the whole loop's. ``switches/loop``: the server's threads' context switches
per loop (``/proc/<pid>/task/*/status``), each a thread put to sleep or woken: a steadier
figure than CPU time on a shared machine.
``HTTP floor CPU ms``: the server's CPU for the HTTP floor's three round trips, the part of
a loop's server CPU that aiohttp takes before mmsc does anything. ``BENCH_THREADS=1`` also
prints the server's switches per loop by thread (named by ``py-spy dump``).
Issue 19's targets for the local folder: at most 3 ms of server CPU per loop, or 300 loops
per second with ten in flight.

    .venv/bin/python bench/loop.py [messages] [in-flight]

The server takes ``MMSC_*`` settings from the environment: ``MMSC_LOG_LEVEL=warning`` measures
it without a log line per step. ``BENCH_STORES=local`` runs only the stores whose labels begin
so (comma-separated). ``BENCH_PROFILE=FILE`` records the local folder's server with py-spy
into ``FILE`` (see ``bench/profile_table.py``); its CPU figure is then the server's alone,
py-spy left out.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import io
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.backends import Backend, backends  # noqa: E402
from bench.mm7 import (  # noqa: E402
    context_switches, cpu_times, free_port, spy, stop, thread_names, thread_switches, wait_nodes,
)
from mmsc.config import StorageConfig  # noqa: E402
from mmsc.emulator.handsets import EmulatedHandset, HandsetNetwork  # noqa: E402
from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mime import to_mime  # noqa: E402
from mmsc.pdu import decode  # noqa: E402
from wap_push.push import decode_push  # noqa: E402
from wap_push.smsc import ReceivedSms, SmscEmulator  # noqa: E402

A, B = "+33611111111", "+33622222222"
TARGET_CPU_MS, TARGET_RATE = 3.0, 300.0  # issue 19, server CPU per loop or loops per second


def picture() -> bytes:
    """A real 160x120 JPEG of about 20 KB: one the retrieval's adaptation keeps as it is."""
    out = io.BytesIO()
    Image.effect_noise((160, 120), 90).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


PICTURE = picture()


def message() -> Message:
    return Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{B}/TYPE=PLMN"],
                            subject="bench", delivery_report=True),
                   [MessagePart("image/jpeg", PICTURE, content_id="i"),
                    MessagePart.from_text("caption", content_id="t")])


def storage_table(storage: StorageConfig) -> str:
    """``storage`` as the ``[storage]`` table of an mmsc.toml."""
    def value(v: object) -> str:
        return ("true" if v else "false") if isinstance(v, bool) else \
            json.dumps(v) if isinstance(v, str) else str(v)
    return "[storage]\n" + "".join(f"{f.name} = {value(getattr(storage, f.name))}\n"
                                   for f in dataclasses.fields(storage))


def server_config(folder: Path, port: int, smsc_port: int, storage: StorageConfig) -> Path:
    """The mmsc.toml of the server under test, bound to the SMSC emulator at ``smsc_port``."""
    path = folder / "mmsc.toml"
    path.write_text(f"""
[http]
port = {port}
{storage_table(storage)}
[state]
url = "sqlite:///{folder / 'mmsc.db'}"
[smsc]
mode = "smpp"
port = {smsc_port}
max_mps = 100000
[delivery]
scheduler_interval = 0.01
[[subscriber]]
msisdn = "{A}"
[[subscriber]]
msisdn = "{B}"
""")
    return path


def child_pid(parent: int) -> int:
    """The one process whose parent is ``parent`` (the server py-spy started)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and \
                    int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                return int(entry.name)
        except OSError:
            continue
    raise SystemExit(f"process {parent} has no child")


def push_latencies(db: Path, submitted: dict[str, float], pushes: dict[str, float]) -> list[float]:
    """Milliseconds from each submit to its notification push reaching the SMSC, matched
    through the recipient's transaction id in the server's state store."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT message_id, transaction_id FROM recipients").fetchall()
    return [(pushes[transaction_id] - submitted[message_id]) * 1000
            for message_id, transaction_id in rows if message_id in submitted]


@dataclasses.dataclass
class Row:
    label: str
    rate: float  # loops per second
    bare: float  # bare writes per second
    floor: float  # loops per second the three HTTP round trips alone allow
    latencies: list[float]  # submit to push, ms
    server_ms: float  # server CPU per loop
    server_sys_ms: float  # of which system
    bench_ms: float  # this process's CPU per loop
    switches: float  # the server's context switches per loop
    floor_ms: float  # the server's CPU for the HTTP floor's three round trips
    by_thread: dict[str, float]  # the server's context switches per loop, by thread (BENCH_THREADS)


def switches_by_thread(pid: int, begin: dict[int, int], total: int) -> dict[str, float]:
    """The context switches per loop of each thread of ``pid`` since ``begin``, added up
    by thread name (a pool's threads under the pool's name), most first."""
    names, grouped = thread_names(pid), collections.Counter[str]()
    for tid, now in thread_switches(pid).items():
        grouped[names.get(tid, "?")] += now - begin.get(tid, 0)
    return {name: count / total for name, count in grouped.most_common()}


async def loops(backend: Backend, work: Path, total: int, window: int,
                profile: str | None) -> Row:
    """One run of ``total`` loops, ``window`` in flight, with ``backend`` as the store."""
    folder = work / backend.label.replace(" ", "").replace("(", "-").replace(")", "")
    folder.mkdir()
    emulator = SmscEmulator()
    _, smsc_port = await emulator.start()
    pushes: dict[str, float] = {}

    def on_sms(sms: ReceivedSms) -> None:
        if sms.destination == B and sms.ports:
            pushes.setdefault(decode(decode_push(bytes(sms.payload)).data).transaction_id,
                              time.perf_counter())

    emulator.subscribe(on_sms)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    network = HandsetNetwork(emulator, [EmulatedHandset(A, "auto", url),
                                        EmulatedHandset(B, "auto", url)])
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [*spy(profile), sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
         str(server_config(folder, port, smsc_port, backend.storage))],
        stdout=subprocess.DEVNULL, stderr=log, cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout's mmsc
    try:
        await asyncio.to_thread(wait_nodes, port, 1, server)
        for _ in range(200):
            if emulator.sessions:
                break
            await asyncio.sleep(0.05)
        else:
            raise SystemExit("the server did not bind to the SMSC emulator")
        measured = child_pid(server.pid) if profile else server.pid
        a, http = network.handsets[A], network.http
        submitted: dict[str, float] = {}
        gate = asyncio.Semaphore(window)

        async def one() -> None:
            async with gate:
                start = time.perf_counter()
                conf = await a.send(message(), http)
                submitted[conf.message_id] = start
                await a.wait_for(lambda h: any(r.message_id == conf.message_id
                                               for r in h.reports), timeout=60)

        begin, bench_begin = time.perf_counter(), time.process_time()
        user_begin, sys_begin = cpu_times(measured)
        switches_begin = context_switches(measured)
        threads_begin = thread_switches(measured)
        await asyncio.gather(*(one() for _ in range(total)))
        user_end, sys_end = cpu_times(measured)
        switches = context_switches(measured) - switches_begin
        by_thread = switches_by_thread(measured, threads_begin, total) \
            if os.environ.get("BENCH_THREADS") else {}
        server_cpu, server_sys = user_end + sys_end - user_begin - sys_begin, sys_end - sys_begin
        elapsed, bench_cpu = time.perf_counter() - begin, time.process_time() - bench_begin
        floor_start, floor_cpu = time.perf_counter(), sum(cpu_times(measured))
        for _ in range(300):
            async with http.get(f"{url}/healthz") as response:
                await response.read()
        floor = 1 / ((time.perf_counter() - floor_start) / 300 * 3)
        floor_ms = (sum(cpu_times(measured)) - floor_cpu) / 300 * 3 * 1000
    finally:
        await asyncio.to_thread(stop, server, profile is not None)
        log.close()
        await network.close()
        await emulator.close()
    stored = to_mime(message())
    bare_start = time.perf_counter()
    for i in range(total):
        await asyncio.to_thread(backend.write, f"bare-{i}", stored)
    bare = total / (time.perf_counter() - bare_start)
    return Row(backend.label, total / elapsed, bare, floor,
               push_latencies(folder / "mmsc.db", submitted, pushes),
               server_cpu / total * 1000, server_sys / total * 1000, bench_cpu / total * 1000,
               switches / total, floor_ms, by_thread)


async def main(total: int, window: int) -> None:
    logging.disable(logging.INFO)
    profile = os.environ.get("BENCH_PROFILE")
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp, backends(Path(tmp)) as stores:
        only = os.environ.get("BENCH_STORES")
        for backend in stores:
            if only and not backend.label.startswith(tuple(only.split(","))):
                continue
            rows.append(await loops(backend, Path(tmp), total, window,
                                    profile if backend.label == "local folder" else None))
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; {total} messages, "
          f"{window} in flight; mmsc serve in its own process (SQLite, SMPP); SMSC emulator "
          "and handsets in the bench process")
    print(f"{'store':18} {'loops/s':>8} {'bare/s':>7} {'ratio':>6} {'HTTP floor/s':>13} "
          f"{'push p50 ms':>12} {'p99 ms':>7} {'server CPU ms/loop':>19} {'sys ms':>6} "
          f"{'bench CPU ms/loop':>18} {'switches/loop':>13} {'HTTP floor CPU ms':>17}")
    for row in rows:
        cuts = statistics.quantiles(row.latencies, n=100)
        print(f"{row.label:18} {row.rate:8.1f} {row.bare:7.0f} {row.rate / row.bare:6.2f} "
              f"{row.floor:13.0f} {cuts[49]:12.1f} {cuts[98]:7.1f} {row.server_ms:19.2f} "
              f"{row.server_sys_ms:6.2f} {row.bench_ms:18.2f} {row.switches:13.0f} "
              f"{row.floor_ms:17.2f}")
    for row in rows:
        if row.by_thread:
            print(f"{row.label}: context switches per loop by thread: " + ", ".join(
                f"{name} {count:.0f}" for name, count in row.by_thread.items()))
    local = rows[0]
    print(f"{local.label}: server CPU per loop: {local.server_ms:.2f} ms (target <= "
          f"{TARGET_CPU_MS:g} ms): {'met' if local.server_ms <= TARGET_CPU_MS else 'missed'}; "
          f"loops/s {local.rate:.1f} with {window} in flight (target >= {TARGET_RATE:g} with 10):"
          f" {'met' if local.rate >= TARGET_RATE else 'missed'}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300,
                     int(sys.argv[2]) if len(sys.argv) > 2 else 10))
