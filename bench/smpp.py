"""Benchmark: submit_sm per second through the SMSC emulator on loopback, at window 1 (one
submit in flight) and window 10.

Two ESMEs are measured in the same run: a baseline that pipelines raw PDUs with the sans-IO
codec on the event loop, and the product's SmppClient (smpplib in worker threads, bridged
to asyncio). Target: the client sustains at least 1,000 submits per second.

    .venv/bin/python bench/smpp.py [submits]
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wap_push.smpp import Framer, Pdu, encode_pdu  # noqa: E402
from wap_push.smpp_client import SmppClient, SmppConfig  # noqa: E402
from wap_push.smsc import SmscEmulator  # noqa: E402

MESSAGE = b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x01\x02\x01" + bytes(116)  # a push segment


async def raw_rate(port: int, total: int, window: int) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framer = Framer()
    writer.write(encode_pdu(Pdu("bind_transmitter", 1, fields={"system_id": "bench"})))
    while not framer.feed(await reader.read(65536)):
        pass
    sent = done = 0
    start = time.perf_counter()
    while done < total:
        while sent < total and sent - done < window:
            sent += 1
            writer.write(encode_pdu(Pdu("submit_sm", sent + 1, fields={
                "destination_addr": "+33600000001", "esm_class": 0x40, "data_coding": 4,
                "short_message": MESSAGE})))
        await writer.drain()
        done += len(framer.feed(await reader.read(65536)))
    elapsed = time.perf_counter() - start
    writer.close()
    return total / elapsed


async def client_rate(port: int, total: int, window: int) -> float:
    client = SmppClient(SmppConfig(port=port, system_id="bench", max_rate=1e6,
                                   bind="transmitter"))
    await client.start()

    async def worker(count: int) -> None:
        for _ in range(count):
            await client.submit("+33600000001", MESSAGE, esm_class=0x40, data_coding=4,
                                registered_delivery=False)

    start = time.perf_counter()
    await asyncio.gather(*(worker(total // window) for _ in range(window)))
    elapsed = time.perf_counter() - start
    await client.close()
    return (total // window * window) / elapsed


async def main(total: int) -> None:
    smsc = SmscEmulator()
    _, port = await smsc.start()
    rows = []
    for label, measure in (("raw codec ESME (baseline)", raw_rate),
                           ("SmppClient (smpplib)", client_rate)):
        w1 = await measure(port, total, 1)
        w10 = await measure(port, total, 10)
        rows.append((label, w1, w10))
    await smsc.close()
    print(f"{total} submit_sm per measurement, SMSC emulator on loopback, one process")
    print(f"{'ESME':<28} {'window 1/s':>11} {'window 10/s':>12} {'w10/w1':>7}")
    for label, w1, w10 in rows:
        print(f"{label:<28} {w1:>11.0f} {w10:>12.0f} {w10 / w1:>7.2f}")
    (_, base1, base10), (_, cli1, cli10) = rows
    print(f"SmppClient / baseline: window 1 {cli1 / base1:.2f}, window 10 {cli10 / base10:.2f}")
    print(f"target: SmppClient >= 1000/s at window 10: {'met' if cli10 >= 1000 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
