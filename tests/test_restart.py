"""Kill the server (SIGKILL) with messages pending; after a restart every message reaches the
handset, and none reaches its inbox twice.

The SMSC emulator and the handsets live in the test process, the server in a child process
(``mmsc serve`` in smpp mode, pointed at the emulator), so they outlive the kill."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from mmsc.emulator.handsets import EmulatedHandset, HandsetNetwork
from mmsc.pdu import MessageType, ResponseStatus, decode, encode
from mmsc.mms_body import to_pdu
from wap_push.smsc import SmscEmulator

from test_loop import A, B, send_to


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(config: Path, log: Path | None = None) -> subprocess.Popen:
    """``mmsc serve`` in a child process; its log goes to ``log`` when given (a pipe that
    nobody reads would stall a chatty server), else to a pipe read when it exits early."""
    stderr = open(log, "ab") if log is not None else subprocess.PIPE  # noqa: SIM115
    try:
        return subprocess.Popen([sys.executable, "-m", "mmsc", "serve", "--config", str(config),
                                 "--no-demo"], stdout=subprocess.DEVNULL, stderr=stderr,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        if log is not None:
            stderr.close()  # the child has its own copy


async def send_mm1(url: str, to: str, count: int) -> list[str]:
    """``count`` M-Send.req from A to ``to``, each answered OK; their message ids."""
    ids = []
    async with aiohttp.ClientSession() as http:
        for i in range(count):
            pdu = to_pdu(send_to(to))
            pdu.transaction_id = f"mm1-{i}"
            async with http.post(f"{url}/mms", data=encode(pdu),
                                 headers={"X-MSISDN": A}) as response:
                conf = decode(await response.read())
            assert conf.message_type == MessageType.SEND_CONF
            assert conf.response_status == ResponseStatus.OK
            ids.append(conf.message_id)
    return ids

async def wait_healthy(url: str, process: subprocess.Popen) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            assert process.poll() is None, \
                process.stderr.read().decode() if process.stderr else "the server exited"
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("the server did not come up")


def write_config(folder: Path, port: int, smpp_port: int, extra: str) -> Path:
    """An mmsc.toml for a server child process in smpp mode against the test's emulator."""
    path = folder / "mmsc.toml"
    path.write_text(f"""
[http]
port = {port}
[storage]
path = "{folder / 'objects'}"
[state]
url = "sqlite:///{folder / 'mmsc.db'}"
[cdr]
path = "{folder / 'cdr'}"
[smsc]
mode = "smpp"
port = {smpp_port}
max_mps = 1000
{extra}
""")
    return path


async def emulator_and_config(folder: Path, extra: str) -> tuple[SmscEmulator, str, Path]:
    """An SMSC emulator started in the test, and the config of a server child bound to it
    on a free port: (emulator, the child's URL, the config file)."""
    smsc = SmscEmulator()
    _, smpp_port = await smsc.start()
    port = free_port()
    return smsc, f"http://127.0.0.1:{port}", write_config(folder, port, smpp_port, extra)


async def handset_b_and_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """An SMSC emulator, the server's URL and config (short back-off and lease, so that a
    restarted server takes over quickly), and handset B on that emulator."""
    smsc, url, config = await emulator_and_config(tmp_path, f"""
[delivery]
renotify_backoff = ["1s"]
claim_lease = "1s"
scheduler_interval = "0.05s"
[[subscriber]]
msisdn = "{B}"
""")
    b = EmulatedHandset(B, "auto", url)
    return smsc, url, config, b, HandsetNetwork(smsc, [b])


async def test_kill_and_restart_delivers_everything_once(tmp_path: Path) -> None:
    smsc, url, config, b, network = await handset_b_and_config(tmp_path)
    server = start_server(config)
    try:
        await wait_healthy(url, server)
        accepted = await send_mm1(url, B, 30)
        server.send_signal(signal.SIGKILL)  # with most of them still being notified
        server.wait(10)
        pending = set(accepted) - {m.envelope.message_id for m in b.inbox}
        assert pending, "every message was delivered before the kill: nothing was tested"
        server = start_server(config)
        await wait_healthy(url, server)
        await b.wait_for(lambda h: set(accepted) <= {m.envelope.message_id for m in h.inbox},
                         timeout=60)
        await asyncio.sleep(1.5)  # time for a wrong re-notification to show up
        ids = [m.envelope.message_id for m in b.inbox]
        assert sorted(ids) == sorted(accepted)  # each one, once
    finally:
        server.kill()
        server.wait(10)
        await network.close()
        await smsc.close()


async def test_reports_pending_at_a_kill_reach_the_vasp_after_restart(tmp_path: Path) -> None:
    from test_mm7 import VaspEndpoint, submit_all

    vasp = VaspEndpoint()
    await vasp.__aenter__()
    vasp.up = False

    smsc, url, config = await emulator_and_config(tmp_path, f"""
[delivery]
renotify_backoff = ["0.5s"]
claim_lease = "1s"
scheduler_interval = "0.05s"
report_backoff = [{", ".join(['"0.2s"'] * 100)}]
[[vasp]]
id = "acme"
password = "pw"
report_url = "{vasp.url}"
[[subscriber]]
msisdn = "{B}"
""")
    b = EmulatedHandset(B, "auto", url)
    network = HandsetNetwork(smsc, [b])
    server = start_server(config)
    try:
        await wait_healthy(url, server)
        ids = await submit_all(url, [f"vasp-{i}" for i in range(5)])
        await b.wait_for(lambda h: len(h.inbox) == 5, timeout=30)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        assert vasp.received == []
        vasp.up = True
        server = start_server(config)
        await wait_healthy(url, server)
        await vasp.wait_for_reports(ids)
        assert sorted({r.fields["MessageID"] for r in vasp.received}) == sorted(ids)
    finally:
        server.kill()
        server.wait(10)
        await network.close()
        await smsc.close()
        await vasp.__aexit__()
