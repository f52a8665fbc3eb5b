"""Benchmark: the full delivery loop on loopback with the SMSC emulator and emulated handsets.

Handset A sends MMS to handset B over MM1 (image and text, delivery report asked); a loop is
done when A holds the M-Delivery.ind: submit → notified → fetched → acknowledged → report.
Prints loops per second with several submits in flight, and the latency from submit to the
notification push reaching the SMSC (p50, p99). Once per object store: the local folder,
S3 on moto_server and S3 on SeaweedFS (see ``bench/backends.py``). Baselines in the same
run: the bare write of the message's stored octets (its MIME) to the same store, one after
the other (local: temporary file, fsync, rename, folder fsync; S3: one put_object), and the
HTTP floor of the three MM1 round trips a loop makes (submit, fetch, notify-response),
timed as GETs of /healthz with the same client. Also the CPU seconds (user +
system) this process spent per loop, for everything a loop takes: the server, the SMSC
emulator and both handsets (all run in this one process).

    .venv/bin/python bench/loop.py [messages] [in-flight]
"""

from __future__ import annotations

import asyncio
import io
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from bench.backends import Backend, backends  # noqa: E402
from mmsc.config import Config, SubscriberConfig  # noqa: E402
from mmsc.message import Envelope, Message, MessagePart  # noqa: E402
from mmsc.mime import to_mime  # noqa: E402
from mmsc.pdu import decode  # noqa: E402
from mmsc.server import Server  # noqa: E402
from wap_push.push import decode_push  # noqa: E402
from wap_push.smsc import ReceivedSms  # noqa: E402

A, B = "+33611111111", "+33622222222"


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


async def loops(backend: Backend, work: Path, total: int,
                window: int) -> tuple[float, float, float, list[float]]:
    """Loops per second, bare writes per second, HTTP floor per second, and the latencies
    from submit to push (ms), with ``backend`` as the object store."""
    config = Config()
    config.http.port = config.smsc.port = 0
    config.storage = backend.storage
    config.state.url = f"sqlite:///{work}/{backend.label}.db"
    config.smsc.max_mps = 100_000
    config.delivery.scheduler_interval = 0.01
    config.subscribers = [SubscriberConfig(A), SubscriberConfig(B)]
    server = Server(config)
    await server.start()
    pushes: dict[str, float] = {}

    def on_sms(sms: ReceivedSms) -> None:
        if sms.destination == B and sms.ports:
            pushes.setdefault(decode(decode_push(bytes(sms.payload)).data).transaction_id,
                              time.perf_counter())

    server.smsc.subscribe(on_sms)
    a = server.handsets.handsets[A]
    http = server.handsets.http
    submitted: dict[str, float] = {}
    gate = asyncio.Semaphore(window)

    async def one() -> None:
        async with gate:
            start = time.perf_counter()
            conf = await a.send(message(), http)
            submitted[conf.message_id] = start
            await a.wait_for(lambda h: any(r.message_id == conf.message_id
                                           for r in h.reports), timeout=60)

    begin, cpu_begin = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(total)))
    elapsed, cpu = time.perf_counter() - begin, time.process_time() - cpu_begin
    latencies = []
    for message_id, start in submitted.items():
        (r,) = await server.engine.state.recipients_of(message_id)
        latencies.append((pushes[r.transaction_id] - start) * 1000)
    floor_start = time.perf_counter()
    for _ in range(300):
        async with http.get(f"{server.url}/healthz") as response:
            await response.read()
    floor = 1 / ((time.perf_counter() - floor_start) / 300 * 3)
    await server.close()
    stored = to_mime(message())
    bare_start = time.perf_counter()
    for i in range(total):
        await asyncio.to_thread(backend.write, f"bare-{i}", stored)
    bare = total / (time.perf_counter() - bare_start)
    return total / elapsed, bare, floor, latencies, cpu / total * 1000


async def main(total: int, window: int) -> None:
    logging.disable(logging.INFO)
    rows = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp, backends(Path(tmp)) as stores:
        for backend in stores:
            rows.append((backend.label, *await loops(backend, Path(tmp), total, window)))
    print(f"Python {sys.version.split()[0]}; {total} messages, {window} in flight, "
          "SMSC emulator, SQLite")
    print(f"{'store':18} {'loops/s':>8} {'bare/s':>7} {'ratio':>6} {'HTTP floor/s':>13} "
          f"{'push p50 ms':>12} {'p99 ms':>7} {'CPU ms/loop':>12}")
    for label, rate, bare, floor, latencies, cpu_ms in rows:
        cuts = statistics.quantiles(latencies, n=100)
        print(f"{label:18} {rate:8.1f} {bare:7.0f} {rate / bare:6.2f} {floor:13.0f} "
              f"{cuts[49]:12.1f} {cuts[98]:7.1f} {cpu_ms:12.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300,
                     int(sys.argv[2]) if len(sys.argv) > 2 else 10))
