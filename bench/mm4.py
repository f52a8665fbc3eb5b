"""Benchmark: MM4 forwards per second from one mmsc to another, against a bare
aiosmtpd-to-aiosmtplib relay of the same octets in the same run.

- mmsc: two ``mmsc serve`` processes on loopback (emulator mode), peers of each other over
  MM4 (docs/two-operators/). A VASP of operator 1 submits N messages of 30 KB (MM7, 16 at a
  time) to a handset of operator 2 (``offline``: it is notified, never fetches). Measured:
  from the first submit until every one of them is ``forwarded`` at operator 1, that is
  accepted durably by operator 2 (its commit, then 250) and answered Ok in an
  MM4_forward.RES that operator 1 took in (read from operator 1's database).
- bare: an aiosmtpd server in a process of its own that takes each message and keeps
  nothing, and aiosmtplib in this process sending the MM4_forward.REQ octets of the same
  size, one connection per message, 50 at a time (as mmsc's scheduler sends a claimed batch).

    .venv/bin/python bench/mm4.py [messages]
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mm4.codec import encode_forward  # noqa: E402
from mmsc.mm7.send import Submission, submit  # noqa: E402
from mm7 import free_port, wait_port  # noqa: E402 - the load helpers of bench/mm7.py

BARE = r'''
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Take:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Take(), loop=loop, data_size_limit=None),
                                      "127.0.0.1", int(sys.argv[1]))
    await server.serve_forever()

asyncio.run(main())
'''

D1, D2 = "mms.mnc001.mcc208.3gppnetwork.org", "mms.mnc002.mcc208.3gppnetwork.org"
SIZE = 30 * 1024


def operator(folder: Path, i: int, http: int, mm4: int, peer_mm4: int) -> Path:
    own, other = ("+336", "+337") if i == 1 else ("+337", "+336")
    folder.mkdir()
    extra = ('[[vasp]]\nid = "bench"\npassword = "bench"\n' if i == 1 else
             '[[subscriber]]\nmsisdn = "+33700000001"\nbehaviour = "offline"\n')
    path = folder / "mmsc.toml"
    path.write_text(f"""
[http]
port = {http}
[storage]
path = "{folder / 'objects'}"
[state]
url = "sqlite:///{folder / 'mmsc.db'}"
[smsc]
port = {free_port()}
max_mps = 100000
[delivery]
scheduler_interval = "0.05s"
[routing]
local_prefixes = ["{own}"]
[mm4]
port = {mm4}
domain = "{D1 if i == 1 else D2}"
[[peer]]
name = "other"
domain = "{D2 if i == 1 else D1}"
prefixes = ["{other}"]
port = {peer_mm4}
{extra}""")
    return path


def forwarded(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM recipients WHERE state = 'forwarded'"
                            ).fetchone()[0]


async def mmsc_rate(work: Path, count: int) -> float:
    ports = [free_port() for _ in range(4)]
    configs = [operator(work / "op1", 1, ports[0], ports[2], ports[3]),
               operator(work / "op2", 2, ports[1], ports[3], ports[2])]
    servers = [subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                                 str(c)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONPATH": str(ROOT)}) for c in configs]
    try:
        for port, server in zip(ports, servers * 2):
            wait_port(port, server)
        media = work / "photo.jpg"
        media.write_bytes(os.urandom(SIZE))
        submission = Submission(url=f"http://127.0.0.1:{ports[0]}/mm7", to=["+33700000001"],
                                user="bench", password="bench", sender="36000",
                                subject="bench", files=[media])
        slots = asyncio.Semaphore(16)

        async def one() -> None:
            async with slots:
                await submit(submission)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        while forwarded(work / "op1" / "mmsc.db") < count:
            await asyncio.sleep(0.02)
        return count / (time.perf_counter() - start)
    finally:
        for server in servers:
            server.kill()
            server.wait()


async def bare_rate(count: int) -> float:
    import aiosmtplib

    message = Message(Envelope(message_id="0" * 32, originator="+33600000001/TYPE=PLMN",
                               to=["+33700000001/TYPE=PLMN"], subject="bench"),
                      [MessagePart("image/jpeg", os.urandom(SIZE), content_id="part0")])
    data = encode_forward(message, transaction_id="t" * 22, domain=D1, recipient_domain=D2)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    try:
        wait_port(port, server)
        slots = asyncio.Semaphore(50)

        async def one() -> None:
            async with slots:
                await aiosmtplib.send(data, sender=f"+33600000001/TYPE=PLMN@{D1}",
                                      recipients=[f"+33700000001/TYPE=PLMN@{D2}"],
                                      hostname="127.0.0.1", port=port, start_tls=False)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return count / (time.perf_counter() - start)
    finally:
        server.kill()
        server.wait()


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        mmsc = await mmsc_rate(Path(folder), count)
    bare = await bare_rate(count)
    print(f"MM4 forwards, {count} messages of {SIZE // 1024} KB, one mmsc to another on "
          "loopback:")
    print(f"  mmsc (MM7 submit -> MM4 forward -> durable accept -> RES): {mmsc:8.1f} /s")
    print(f"  bare aiosmtplib -> aiosmtpd, same octets:                   {bare:8.1f} /s")
    print(f"  ratio: {mmsc / bare:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300))
