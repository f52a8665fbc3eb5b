"""Benchmark: a handset's ``GET /m/<token>`` of a message already adapted, loaded by wrk.

One message (a real 28 KB JPEG and a caption) is sent over MM7 to a subscriber whose handset
never fetches by itself. Its notification reaches an SMSC emulator that this script runs, so
the content location is read from the push. One fetch adapts the message and stores the
adapted copy; then wrk fetches the same location with 64 connections, as a phone in a retry
loop (or many phones behind one token) would. Baseline in the same run: a bare aiohttp
handler, in its own process, that answers the same octets (the M-Retrieve.conf mmsc sent)
from memory. Besides the rates it prints the CPU milliseconds (user + system, from
``/proc``) each server spent per fetch, and how many events the fetches left in the
message's timeline.

    .venv/bin/python bench/retrieve.py [seconds]      (needs wrk: apt-get install wrk)
"""

from __future__ import annotations

import asyncio
import base64
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.mm7 import (  # noqa: E402
    free_port, loaded, mmsc_config, spy, stop, wait_nodes, wait_port,
)
from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mm7.soap import DEFAULT_NAMESPACE, build_submit  # noqa: E402
from mmsc.pdu import decode  # noqa: E402
from wap_push.push import decode_push  # noqa: E402
from wap_push.smsc import ReceivedSms, SmscEmulator  # noqa: E402

HANDSET = "+33600000009"  # the subscriber of bench/mm7.py's mmsc_config
USER_AGENT = "Nokia6230i/2.0 (03.25) Profile/MIDP-2.0 Configuration/CLDC-1.1"

BARE = r'''
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()

async def handler(request):
    return web.Response(body=body, content_type="application/vnd.wap.mms-message")

app = web.Application()
app.add_routes([web.get("/m/{token}", handler)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
'''

LUA = '''
wrk.method = "GET"
wrk.headers["User-Agent"] = "{agent}"
wrk.headers["Accept"] = "application/vnd.wap.mms-message, */*"
'''


def jpeg(octets: int) -> bytes:
    """A real JPEG of about ``octets`` octets (noise compresses badly: size follows area)."""
    side = 120
    while True:
        out = io.BytesIO()
        Image.effect_noise((side, side * 3 // 4), 80).convert("RGB").save(out, "JPEG",
                                                                           quality=90)
        if out.tell() >= octets:
            return out.getvalue()
        side += 10


def submit(port: int) -> None:
    message = Message(Envelope(to=[f"{HANDSET}/TYPE=PLMN"], subject="bench",
                               delivery_report=False),
                      [MessagePart("image/jpeg", jpeg(28_000), content_id="img"),
                       MessagePart.from_text("caption", content_id="txt")])
    body, content_type = build_submit(namespace=DEFAULT_NAMESPACE, version="6.8.0",
                                      transaction_id="bench-1", vasp_id="bench", vas_id=None,
                                      sender="36000", message=message)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mm7", data=body, method="POST",
        headers={"Content-Type": content_type,
                 "Authorization": "Basic " + base64.b64encode(b"bench:bench").decode()})
    with urllib.request.urlopen(request, timeout=30) as answer:
        if b"1000" not in answer.read():
            raise SystemExit("the SubmitReq was not accepted")


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read()


def events(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind"))


async def main(seconds: float) -> None:
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        print("bench/retrieve.py skipped: it needs wrk (apt-get install wrk)")
        return
    emulator = SmscEmulator()
    _, smsc_port = await emulator.start("127.0.0.1", 0)
    locations: asyncio.Queue[str] = asyncio.Queue()

    def on_sms(sms: ReceivedSms) -> None:
        if sms.destination == HANDSET and sms.ports:
            locations.put_nowait(decode(decode_push(bytes(sms.payload)).data).content_location)

    emulator.subscribe(on_sms)
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        lua = work / "get.lua"
        lua.write_text(LUA.replace("{agent}", USER_AGENT))
        port = free_port()
        log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
        profile = os.environ.get("BENCH_PROFILE")  # py-spy's collapsed stacks of the server
        server = subprocess.Popen(
            [*spy(profile), sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
             str(mmsc_config(work, port, smsc_port=smsc_port))],
            stdout=subprocess.DEVNULL, stderr=log, cwd=work)
        try:
            await asyncio.to_thread(wait_nodes, port, 1, server)
            await asyncio.to_thread(submit, port)
            location = await asyncio.wait_for(locations.get(), 30)
            path = location.split("/m/", 1)[1]
            answer = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/m/{path}")
            (work / "answer.bin").write_bytes(answer)
            rows.append(("mmsc", *await asyncio.to_thread(
                loaded, server, port, lua, 64, seconds, f"/m/{path}")))
        finally:
            stop(server, profile is not None)
            log.close()
        timeline = events(work / "mmsc.db")
        bare_port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(work / "answer.bin"),
                                 str(bare_port)])
        try:
            await asyncio.to_thread(wait_port, bare_port, bare)
            rows.append(("bare, from memory", *await asyncio.to_thread(
                loaded, bare, bare_port, lua, 64, seconds, f"/m/{path}")))
        finally:
            bare.terminate()
            bare.wait(10)
    await emulator.close()
    base_rate, base_cpu = rows[-1][1], rows[-1][5]
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; wrk, 64 connections, "
          f"{seconds:g} s per server; M-Retrieve.conf of {len(answer)} octets")
    print(f"{'server':18} {'fetches/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/fetch':>13} "
          f"{'rate/bare':>10} {'CPU/bare':>9}")
    for label, rate, p50, p99, _, cpu_ms, _ in rows:
        print(f"{label:18} {rate:10.0f} {p50:7.1f} {p99:7.1f} {cpu_ms:13.3f} "
              f"{rate / base_rate:10.2f} {cpu_ms / base_cpu:9.1f}")
    fetched = rows[0][4] + 1
    print(f"timeline after {fetched} fetches of the message: " +
          ", ".join(f"{kind} {count}" for kind, count in sorted(timeline.items())))


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
