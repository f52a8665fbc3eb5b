"""``[http] workers = 2``: two processes serve one port on the same stores.

Each message submitted over MM7 is taken by one of them, notified once, fetched and
acknowledged by the handset (whichever process it reaches), and reported to the VASP once;
a worker killed is started again; a worker whose first process is gone stops.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp

from mmsc.emulator.handsets import EmulatedHandset, HandsetNetwork

from test_loop import B
from test_mm7 import VaspEndpoint, submit_all
from test_restart import emulator_and_config, wait_healthy

async def nodes_answering(url: str, wanted: int, seen: set[str], timeout: float = 60) -> None:
    """Ask /healthz on new connections until ``wanted`` node names have answered."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(int(timeout / 0.05)):
            try:
                async with http.get(f"{url}/healthz") as response:
                    seen.add((await response.text()).split()[1])
            except aiohttp.ClientError:
                pass
            if len(seen) >= wanted:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"only {seen} answered")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of a dead worker is gone for this test's purpose
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


async def test_two_processes_share_the_port_and_the_work(tmp_path: Path) -> None:
    vasp = VaspEndpoint()
    await vasp.__aenter__()
    smsc, url, path = await emulator_and_config(tmp_path, f"""
[delivery]
scheduler_interval = "0.05s"
[[vasp]]
id = "acme"
password = "pw"
report_url = "{vasp.url}"
[[subscriber]]
msisdn = "{B}"
""")
    path.write_text(path.read_text().replace("[http]\n", "[http]\nworkers = 2\n"))
    handset = EmulatedHandset(B, "auto", url)
    network = HandsetNetwork(smsc, [handset])
    out, err = open(tmp_path / "out.log", "wb"), open(tmp_path / "err.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                               str(path)], stdout=out, stderr=err,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        await wait_healthy(url, server)
        nodes: set[str] = set()
        await nodes_answering(url, 2, nodes)
        worker = int(re.search(r"this one \(\d+\) and (\d+)",
                               (tmp_path / "out.log").read_text()).group(1))

        # new connections, which the kernel spreads over both processes
        ids = await submit_all(url, [f"w-{i}" for i in range(24)], new_connections=True)
        await handset.wait_for(lambda h: len(h.inbox) >= len(ids), timeout=60)
        await vasp.wait_for_reports(ids)
        await asyncio.sleep(0.5)  # room for a second notification or report to show up
        assert sorted(m.envelope.message_id for m in handset.inbox) == sorted(ids)
        reports = Counter(r.fields["MessageID"] for r in vasp.received)
        assert reports == Counter(ids)  # one DeliveryReportReq each
        assert {r.fields["MMStatus"] for r in vasp.received} == {"Retrieved"}
        log = (tmp_path / "err.log").read_text()
        by_worker = len(re.findall(rf"\[{worker}\] mmsc\.relay\.accept accepted", log))
        by_first = len(re.findall(r"\d\d mmsc\.relay\.accept accepted", log))
        assert by_worker + by_first == len(ids) and by_worker and by_first, (by_worker, by_first)

        os.kill(worker, signal.SIGKILL)  # started again by the first process
        await nodes_answering(url, 3, nodes)
        again = int(re.findall(r"worker (\d+) serving", (tmp_path / "err.log").read_text())[-1])
        assert again != worker and alive(again)

        server.send_signal(signal.SIGKILL)  # the first process gone: the worker stops too
        server.wait(10)
        for _ in range(200):
            if not alive(again):
                break
            await asyncio.sleep(0.05)
        assert not alive(again)
    finally:
        server.kill()
        server.wait(10)
        out.close()
        err.close()
        await network.close()
        await smsc.close()
        await vasp.__aexit__()


async def test_sigterm_stops_the_workers_first(tmp_path: Path) -> None:
    smsc, url, path = await emulator_and_config(tmp_path, "")
    path.write_text(path.read_text().replace("[http]\n", "[http]\nworkers = 3\n"))
    out = open(tmp_path / "out.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                               str(path)], stdout=out,
                              stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        await wait_healthy(url, server)
        await nodes_answering(url, 3, set())
        line = re.search(r"this one \(\d+\) and ([\d, ]+)", (tmp_path / "out.log").read_text())
        workers = [int(pid) for pid in line.group(1).split(", ")]
        assert len(workers) == 2
        server.send_signal(signal.SIGTERM)  # as docker stop does
        # (waited for in a thread: the closing processes unbind from this loop's SMSC)
        assert await asyncio.to_thread(server.wait, 15) == 0
        assert not any(alive(pid) for pid in workers)  # closed before the first one exited
    finally:
        server.kill()
        server.wait(10)
        out.close()
        await smsc.close()


async def test_a_receipt_reaching_the_other_process_is_matched_once(tmp_path: Path) -> None:
    """Issue 21: the SMSC hands every receipt to the bind that did not submit its SMS (as
    SMSCs that spread an account's receipts over its binds): each notification's receipt is
    matched by the other process, through the state store, and recorded once. (No handset:
    the notifications wait unfetched, so that each is logged by the process that sent it.)"""
    from mmsc.state import SqliteStateStore

    smsc, url, path = await emulator_and_config(tmp_path, f"""
[delivery]
scheduler_interval = "0.05s"
[[vasp]]
id = "acme"
password = "pw"
[[subscriber]]
msisdn = "{B}"
""")
    smsc.spread_receipts = True
    path.write_text(path.read_text().replace("[http]\n", "[http]\nworkers = 2\n"))
    err = open(tmp_path / "err.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
                               str(path)], stdout=subprocess.DEVNULL, stderr=err,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    store = None
    try:
        await wait_healthy(url, server)
        await nodes_answering(url, 2, set())
        async with asyncio.timeout(30):
            while smsc.commands["bind_transceiver"] < 2:  # both processes bound
                await asyncio.sleep(0.05)
        ids = await submit_all(url, [f"r-{i}" for i in range(16)], new_connections=True)
        store = await SqliteStateStore.open(tmp_path / "mmsc.db")

        async def kinds() -> dict[str, Counter]:
            return {i: Counter(e.kind for e in await store.events_of(i)) for i in ids}

        async with asyncio.timeout(30):
            while not all(k["push-delivered"] for k in (await kinds()).values()):
                await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # room for a second match to show up
        for counts in (await kinds()).values():
            assert counts["push-delivered"] == counts["notified"] == 1, counts
        assert smsc.receipts_to_other_binds == smsc.submitted == len(ids)
    finally:
        if store is not None:
            await store.close()
        server.send_signal(signal.SIGTERM)
        await asyncio.to_thread(server.wait, 15)
        err.close()
        await smsc.close()
    log = (tmp_path / "err.log").read_text()
    process = r"^\S+ (?:\[(\d+)\] )?"
    notified = {m[1]: m[0] for m in re.findall(
        process + r"mmsc\.relay\.engine (\w+) \S+: \S+ -> notified \(notified\)$", log, re.M)}
    matched = {m[1]: m[0] for m in re.findall(
        process + r"mmsc\.relay\.receipts (\w+) \S+: receipt \S+ DELIVRD err 000 "
        r"\(push-delivered\)$", log, re.M)}
    assert sorted(notified) == sorted(matched) == sorted(ids)
    assert all(notified[i] != matched[i] for i in ids)  # by the other process each time
    assert "no SMS sent with this id" not in log
