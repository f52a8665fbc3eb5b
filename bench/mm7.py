"""Benchmark: MM7 SubmitReq per second and latency, loaded by wrk from a separate process.

Three servers, each in its own process, take the same 30 KB SubmitReq (a fresh TransactionID
per request) from ``wrk`` at concurrency 1, 16 and 64:

- mmsc: ``mmsc serve`` (SQLite, local folder, SMSC emulator; the recipient is an offline
  emulated handset, so each message is also notified over SMPP), in one process, then with
  ``[http] workers = 2`` (two processes on the port, load started once both answer);
- bare, no fsync: an aiohttp handler that writes the body to a file and one SQLite row,
  without fsync (``synchronous=OFF``);
- bare, fsync: the same, with the file fsync'd and the row committed with
  ``synchronous=FULL``: one durable write per request, no batching;
- same work: an aiohttp handler that does the work every MM7 submit needs and nothing more:
  it reads the SOAP envelope with lxml and the MIME with the stdlib ``email`` parser, writes
  the MIME to a file (fsync'd) and one SQLite row with group commit (``synchronous=FULL``,
  the rows that arrive during a commit go in the next), and answers a SubmitRsp built with
  an f-string.

Besides the rates it prints the CPU seconds (user + system, from ``/proc/<pid>/stat``, of the
server and its child processes, while wrk ran) per request: steady on a shared machine,
where rates are not; and the system part of them (``sys ms``: the kernel's work for the
process, file writes and fsync, sockets, thread wake-ups).

``mmsc`` runs on the standard event loop (the default), ``mmsc, uvloop`` on uvloop's
(``[http] event_loop = "uvloop"``): the comparison of the two; ``mmsc, log warning`` logs
no line per step (``[log] level = "warning"``): what the info lines cost.

    .venv/bin/python bench/mm7.py [seconds] [servers]      (needs wrk: apt-get install wrk)

``servers``: only the server of this label, else those whose label holds this text (and
the same-work baseline, always). ``BENCH_PROFILE=FILE`` records each mmsc server at 64
connections with py-spy (``FILE.<label>``; see ``bench/profile_table.py``).
"""

from __future__ import annotations

import base64
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE = r'''
import os, sqlite3, sys, itertools
from aiohttp import web
folder, port, durable = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
db = sqlite3.connect(os.path.join(folder, "bare.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
db.execute("CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, path TEXT, size INTEGER)")
ids = itertools.count()
ANSWER = open(os.path.join(folder, "answer.xml"), "rb").read()

async def handler(request):
    body = await request.read()
    path = os.path.join(folder, f"m{next(ids)}")
    with open(path, "wb") as f:
        f.write(body)
        if durable:
            f.flush(); os.fsync(f.fileno())
    db.execute("INSERT INTO m (path, size) VALUES (?, ?)", (path, len(body)))
    return web.Response(body=ANSWER, content_type="text/xml")

app = web.Application(client_max_size=10 * 1024 * 1024)
app.add_routes([web.post("/mm7", handler)])
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
'''

SAME_WORK = r'''
import asyncio, email, email.policy, itertools, os, sqlite3, sys, threading
from aiohttp import web
from lxml import etree
folder, port = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(os.path.join(folder, "same.db"), isolation_level=None,
                     check_same_thread=False)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS m (id INTEGER PRIMARY KEY, tid TEXT, path TEXT, size INTEGER)")
ids = itertools.count()
pending = []  # (row, future) waiting for the next commit
flushing = None
NS = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"

def commit(rows):
    db.execute("BEGIN")
    db.executemany("INSERT INTO m (tid, path, size) VALUES (?, ?, ?)", rows)
    db.execute("COMMIT")

async def flush():
    global flushing
    while pending:
        batch = pending[:]
        del pending[:]
        await asyncio.to_thread(commit, [row for row, _ in batch])
        for _, future in batch:
            future.set_result(None)
    flushing = None

def store(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush(); os.fsync(f.fileno())

async def handler(request):
    global flushing
    body = await request.read()
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    mime = email.message_from_bytes(head + body, policy=email.policy.compat32)
    soap, content = mime.get_payload()
    envelope = etree.fromstring(soap.get_payload(decode=True))
    tid = envelope.findtext(".//{%s}TransactionID" % NS)
    path = os.path.join(folder, f"m{next(ids)}.mime")
    await asyncio.to_thread(store, path, content.as_bytes())
    future = asyncio.get_running_loop().create_future()
    pending.append(((tid, path, len(body)), future))
    if flushing is None:
        flushing = asyncio.ensure_future(flush())
    await future
    return web.Response(text=f"""<?xml version='1.0' encoding='UTF-8'?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header>
<mm7:TransactionID xmlns:mm7="{NS}" env:mustUnderstand="1">{tid}</mm7:TransactionID>
</env:Header><env:Body><SubmitRsp xmlns="{NS}"><MM7Version>6.8.0</MM7Version><Status>
<StatusCode>1000</StatusCode><StatusText>Success</StatusText></Status>
<MessageID>m{next(ids)}</MessageID></SubmitRsp></env:Body></env:Envelope>""",
                        content_type="text/xml")

app = web.Application(client_max_size=10 * 1024 * 1024)
app.add_routes([web.post("/mm7", handler)])
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
'''

LUA = r'''
local counter = 0
local head, tail
local f = io.open("{body}", "rb"); local body = f:read("*a"); f:close()
local cut = string.find(body, "TXID", 1, true)
head = string.sub(body, 1, cut - 1); tail = string.sub(body, cut + 4)
wrk.method = "POST"
wrk.headers["Content-Type"] = '{content_type}'
wrk.headers["Authorization"] = "Basic {auth}"
request = function()
  counter = counter + 1
  return wrk.format(nil, "/mm7", nil, head .. tostring(math.random(1, 2^30)) .. "-" .. counter .. tail)
end
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spy(profile: str | None) -> list[str]:
    """The command prefix that records ``profile`` (py-spy's collapsed stacks of the thread
    holding the GIL, in the process and its children) when set: ``BENCH_PROFILE=file`` in
    the environment. Stop the process with SIGINT, so that py-spy writes the file."""
    if not profile:
        return []
    return [str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw",
            "--rate", "250", "--gil", "--subprocesses", "-o", profile, "--"]


def stop(process: subprocess.Popen, profiled: bool) -> None:
    process.send_signal(signal.SIGINT if profiled else signal.SIGTERM)
    process.wait(30)


def wait_port(port: int, process: subprocess.Popen) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"server exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def wait_nodes(port: int, count: int, process: subprocess.Popen) -> None:
    """Until ``count`` processes have answered /healthz (each on a new connection)."""
    seen: set[str] = set()
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                seen.add(answer.read().decode().split()[-1])
        except OSError:
            pass
        if len(seen) >= count:
            return
        time.sleep(0.05)
    raise SystemExit(f"only {len(seen)} of {count} server processes answered")


def _tree(root: int) -> list[int]:
    """Process ``root`` and every process below it."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found = []
    for pid in parents:
        walk = pid
        while walk not in (0, 1, root):
            walk = parents.get(walk, 0)
        if walk == root:
            found.append(pid)
    return found


def cpu_times(root: int) -> tuple[float, float]:
    """User and system CPU seconds of process ``root`` and every process below it, so far."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]) / tick, system + int(fields[12]) / tick
    return user, system


def thread_switches(pid: int) -> dict[int, int]:
    """Context switches so far (voluntary and not) of each thread of process ``pid``, by
    thread id: each is a thread put to sleep or woken, which on a virtual machine costs
    several microseconds of kernel time."""
    found = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            status = (task / "status").read_text()
        except OSError:
            continue
        found[int(task.name)] = sum(int(line.split()[1]) for line in status.splitlines()
                                    if "ctxt_switches:" in line)
    return found


def context_switches(root: int) -> int:
    """Context switches of every thread of process ``root`` and of the processes below it,
    so far: a steadier figure than CPU time."""
    return sum(sum(thread_switches(pid).values()) for pid in _tree(root))


def thread_names(pid: int) -> dict[int, str]:
    """The Python name of each thread of process ``pid`` by thread id (``py-spy dump``: the
    operating system knows them all as ``python``), numbered pool threads (``objects_3``)
    under their pool's name."""
    dump = subprocess.run([str(Path(sys.executable).parent / "py-spy"), "dump", "--pid",
                           str(pid)], capture_output=True, text=True, timeout=60).stdout
    return {int(found[1]): re.sub(r"_\d+$", "", found[2])
            for found in re.finditer(r'^Thread (\d+) \([^)]*\): "([^"]*)"', dump, re.M)}


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and every process below it, so far."""
    return sum(cpu_times(root))


def run_wrk(port: int, script: Path, connections: int,
            seconds: float, path: str = "") -> tuple[float, float, float, int]:
    done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                           "-s", str(script), f"http://127.0.0.1:{port}{path}"],
                          capture_output=True, text=True, timeout=seconds + 60)
    out = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise SystemExit(f"wrk failed:\n{out}\n{done.stderr}")
    rate = float(found.group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses:\n{out}")

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rate, percentile("50"), percentile("99"), requests


def loaded(server: subprocess.Popen, port: int, script: Path, connections: int,
           seconds: float, path: str = "") -> tuple[float, float, float, int, float, float]:
    """``run_wrk`` against ``server`` (rate, p50, p99, requests), the CPU milliseconds
    (user + system) the server and its children spent per request meanwhile, and the
    system part of them."""
    user, system = cpu_times(server.pid)
    rate, p50, p99, requests = run_wrk(port, script, connections, seconds, path)
    after_user, after_system = cpu_times(server.pid)
    per = 1000 / max(requests, 1)
    return (rate, p50, p99, requests, (after_user + after_system - user - system) * per,
            (after_system - system) * per)


def submit_script(work: Path) -> tuple[Path, int]:
    """The wrk script posting a 30 KB SubmitReq with a fresh TransactionID each time, the
    SubmitRsp the bare servers answer (``answer.xml``), both in ``work``; and the body's
    size."""
    from mmsc.message import Envelope, Message, MessagePart
    from mmsc.mm7.soap import DEFAULT_NAMESPACE, build_response, build_submit

    message = Message(Envelope(to=["+33600000009/TYPE=PLMN"], subject="bench",
                               delivery_report=False),
                      [MessagePart("image/jpeg", os.urandom(30_000), content_id="img"),
                       MessagePart.from_text("caption", content_id="txt")])
    body, content_type = build_submit(namespace=DEFAULT_NAMESPACE, version="6.8.0",
                                      transaction_id="TXID", vasp_id="bench", vas_id=None,
                                      sender="36000", message=message)
    (work / "body.bin").write_bytes(body)
    (work / "answer.xml").write_bytes(build_response(
        "SubmitRsp", namespace=DEFAULT_NAMESPACE, version="6.8.0", transaction_id="t",
        message_id="0" * 32))
    script = work / "submit.lua"
    script.write_text(LUA.replace("{body}", str(work / "body.bin"))
                      .replace("{content_type}", content_type)
                      .replace("{auth}", base64.b64encode(b"bench:bench").decode()))
    return script, len(body)


def mmsc_config(folder: Path, port: int, workers: int = 1, extra: str = "",
                event_loop: str = "asyncio", smsc_port: int | None = None) -> Path:
    """The mmsc.toml of a server under load: the VASP ``bench``, an offline recipient; its
    own SMSC emulator, or the one listening at ``smsc_port``."""
    path = folder / "mmsc.toml"
    path.write_text(f"""
[http]
port = {port}
workers = {workers}
{'' if event_loop == 'asyncio' else f'event_loop = "{event_loop}"'}
[storage]
path = "{folder / 'objects'}"
[state]
url = "sqlite:///{folder / 'mmsc.db'}"
[smsc]
mode = "{'emulator' if smsc_port is None else 'smpp'}"
port = {smsc_port or free_port()}
max_mps = 100000
{extra}
[[vasp]]
id = "bench"
password = "bench"
[[subscriber]]
msisdn = "+33600000009"
behaviour = "offline"
""")
    return path


def main(seconds: float, only: str = "") -> None:
    if shutil.which("wrk") is None:
        print("bench/mm7.py skipped: it needs wrk (apt-get install wrk)")
        return
    results: list[tuple[str, int, float, float, float, float, float]] = []
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        script, size = submit_script(work)
        servers = {
            "bare, no fsync": lambda port, d: [sys.executable, "-c", BARE, str(d), str(port), "0"],
            "bare, fsync": lambda port, d: [sys.executable, "-c", BARE, str(d), str(port), "1"],
            "same work": lambda port, d: [sys.executable, "-c", SAME_WORK, str(d), str(port)],
            "mmsc": lambda port, d: [sys.executable, "-m", "mmsc", "serve", "--no-demo",
                                     "--config", str(d / "mmsc.toml")],
            "mmsc, uvloop": lambda port, d: [sys.executable, "-m", "mmsc", "serve",
                                             "--no-demo", "--config", str(d / "mmsc.toml")],
            "mmsc, log warning": lambda port, d: [sys.executable, "-m", "mmsc", "serve",
                                                  "--no-demo", "--config", str(d / "mmsc.toml")],
            "mmsc, 2 processes": lambda port, d: [sys.executable, "-m", "mmsc", "serve",
                                                  "--no-demo", "--config", str(d / "mmsc.toml")],
        }
        chosen = [label for label in servers if label == only] or \
            [label for label in servers if only in label]
        for label, command in servers.items():
            if label not in chosen and label != "same work":
                continue
            for connections in (1, 16, 64):
                folder = work / f"{label.replace(' ', '').replace(',', '')}-{connections}"
                folder.mkdir()
                (folder / "answer.xml").write_bytes((work / "answer.xml").read_bytes())
                port = free_port()
                mmsc_config(folder, port, 2 if "2 processes" in label else 1,
                            event_loop="uvloop" if "uvloop" in label else "asyncio",
                            extra="[log]\nlevel = \"warning\"" if "log" in label else "")
                log = open(folder / "server.log", "wb")  # noqa: SIM115 - closed below
                profile = os.environ.get("BENCH_PROFILE") if label.startswith("mmsc") and \
                    connections == 64 else None
                server = subprocess.Popen(
                    [*spy(profile and f"{profile}.{label.replace(' ', '').replace(',', '-')}"),
                     *command(port, folder)], stdout=subprocess.DEVNULL, stderr=log, cwd=folder)
                try:
                    wait_port(port, server)
                    if label.startswith("mmsc"):
                        wait_nodes(port, 2 if "2 processes" in label else 1, server)
                    rate, p50, p99, _, cpu_ms, sys_ms = loaded(server, port, script,
                                                               connections, seconds)
                finally:
                    stop(server, profile is not None)
                    log.close()
                # The no-fsync server leaves about 1.5 GB of dirty pages: written back now,
                # not during the next point, which would pay for them.
                os.sync()
                shutil.rmtree(folder, ignore_errors=True)
                results.append((label, connections, rate, p50, p99, cpu_ms, sys_ms))
    nan = float("nan")  # a baseline left out of this run
    base = collections.defaultdict(lambda: nan, {(label, c): rate
                                                 for label, c, rate, *_ in results})
    cpu = {(label, c): ms for label, c, _, _, _, ms, _ in results}
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; wrk, {seconds:g} s per "
          f"point; SubmitReq of {size} octets")
    print(f"{'server':18} {'conns':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'CPU ms/req':>10} {'sys ms':>6} {'/no-fsync':>10} {'/fsync':>7} {'/same':>6} "
          f"{'CPU/same':>8}")
    for label, c, rate, p50, p99, ms, sys_ms in results:
        print(f"{label:18} {c:5d} {rate:8.0f} {p50:8.1f} {p99:8.1f} {ms:10.2f} {sys_ms:6.2f} "
              f"{rate / base[('bare, no fsync', c)]:10.2f} {rate / base[('bare, fsync', c)]:7.2f} "
              f"{rate / base[('same work', c)]:6.2f} {ms / cpu[('same work', c)]:8.2f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0, *sys.argv[2:3])
