"""mmsc on PostgreSQL, end to end: the database going away under a running node, and several
``mmsc serve`` processes on one database and one S3 server, one of them killed mid-run."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp

from mmsc.pdu import MessageType, MmsPdu, ResponseStatus, RetrieveStatus, Status, decode, encode
from wap_push.push import decode_push
from wap_push.smsc import ReceivedSms, SmscEmulator

from helpers.pg_cluster import Cluster
from helpers.s3servers import free_port, moto_server
from test_loop import A, B, D, config, pushed_token, running, send_to
from test_mm7 import VaspEndpoint, envelope, soap_with_attachments, submit_body
from test_object_store import ROOT, fresh_bucket
from test_store_faults import get, mm7_submit, serves_again, until, with_vasp


async def test_the_database_going_away_is_answered_try_later(tmp_path: Path) -> None:
    """PostgreSQL stopped under a running node: MM7 SubmitReq fault 4006, m-send-req and
    retrieval Error-transient-failure, the viewer 503, /readyz 503 naming the state store,
    /healthz 200. Started again: the same node takes messages without a restart, and every
    message accepted before the outage reaches its handset (a step the outage cut short once
    its claim's lease has run out)."""
    cluster = Cluster().start()
    try:
        cfg = with_vasp(config(tmp_path))
        cfg.state.url = cluster.new_database()
        cfg.delivery.fallback_after = 600  # re-notify B until it has the content
        cfg.delivery.claim_lease = 2  # a step the outage cut short is taken again after it
        async with running(cfg) as server:
            phones = server.handsets
            a, b, d = (phones.handsets[n] for n in (A, B, D))
            await a.send(send_to(D), phones.http)
            await d.wait_for(lambda h: h.texts)
            link = d.texts[0].split("View it at ")[1].split()[0]
            b.behaviour = "offline"  # B takes nothing until the outage is over
            before = [(await a.send(send_to(B), phones.http)).message_id,
                      (await mm7_submit(server, "before"))[1]]
            await until(lambda: _pushed(server, B), "a notification to B")
            token = pushed_token(server, B)

            cluster.stop("fast")
            conf = await a.send(send_to(B), phones.http)
            assert conf.response_status == ResponseStatus.ERROR_TRANSIENT_FAILURE
            assert (await mm7_submit(server, "during"))[0] == 4006
            retrieved = decode((await get(f"{server.url}/m/{token}"))[1])
            assert retrieved.message_type == MessageType.RETRIEVE_CONF
            assert retrieved.retrieve_status == RetrieveStatus.ERROR_TRANSIENT_FAILURE
            assert (await get(link))[0] == 503
            status, text = await get(f"{server.url}/readyz")
            assert status == 503 and text.decode().startswith("state store: ")
            assert (await get(f"{server.url}/healthz"))[0] == 200

            cluster.restart()
            b.behaviour = "auto"

            await serves_again(server, a, b, before)
    finally:
        cluster.close()


async def _pushed(server, number: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        pushed_token(server, number)
    except AssertionError:
        return False
    return True


# -- several nodes -----------------------------------------------------------------------------

#: The scheduler's claim batch (mmsc.relay.engine.Settings.claim_batch): the most reports a
#: node can have on the wire at once, so the most a node killed mid-send can leave unrecorded.
CLAIM_BATCH = 50
MESSAGES = 60
HANDSETS = [f"+336100000{i:02d}" for i in range(12)]


class Node:
    """One ``mmsc serve`` process of the cluster."""

    def __init__(self, folder: Path, index: int, common: str) -> None:
        self.index = index
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = folder / f"node{index}"
        self.folder.mkdir()
        (self.folder / "mmsc.toml").write_text(
            f'[http]\nport = {self.port}\npublic_url = "{self.url}"\n{common}')
        self.log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mmsc", "serve", "--no-demo", "--config",
             str(self.folder / "mmsc.toml")], cwd=self.folder, stdout=self.log,
            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.alive = True

    def kill(self) -> None:
        self.alive = False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Handsets:
    """Phones on the shared SMSC: each notification is fetched through the node after the one
    named in its content location, and answered (M-NotifyResp.ind) through the next one; a
    node that does not answer is skipped."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        self.retrieved: dict[str, set[str]] = {}  # message id -> the nodes it was fetched from
        self.notifiers: set[int] = set()  # nodes whose notifications arrived
        self.failures: list[str] = []
        self._tasks: set[asyncio.Task] = set()

    def sms(self, sms: ReceivedSms) -> None:
        if sms.ports is None:
            return
        task = asyncio.get_running_loop().create_task(self._handle(sms))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _after(self, index: int) -> list[Node]:
        """The live nodes, starting after node ``index``."""
        ring = self.nodes[index + 1:] + self.nodes[:index + 1]
        return [node for node in ring if node.alive]

    async def _handle(self, sms: ReceivedSms) -> None:
        pdu = decode(decode_push(bytes(sms.payload)).data)
        if pdu.message_type != MessageType.NOTIFICATION_IND:
            return
        port = int(pdu.content_location.split("/")[2].rsplit(":", 1)[1])
        notifier = next(node.index for node in self.nodes if node.port == port)
        self.notifiers.add(notifier)
        token = pdu.content_location.rsplit("/", 1)[1]
        headers = {"X-MSISDN": "+" + sms.destination.lstrip("+")}
        for node in self._after(notifier):
            try:
                async with self.http.get(f"{node.url}/m/{token}", headers=headers) as answer:
                    conf = decode(await answer.read())
                if conf.retrieve_status not in (None, 128):
                    continue
                self.retrieved.setdefault(conf.message_id, set()).add(node.index)
                break
            except (aiohttp.ClientError, OSError, TimeoutError):
                continue
        else:
            self.failures.append(f"no node gave {token}")
            return
        resp = encode(MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=pdu.transaction_id,
                             status=Status.RETRIEVED))
        for node in self._after(node.index):
            try:
                async with self.http.post(f"{node.url}/mms", data=resp, headers={
                        **headers, "Content-Type": "application/vnd.wap.mms-message"}) as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, OSError, TimeoutError):
                continue
        self.failures.append(f"no node took the answer for {token}")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.http.close()


async def submit(http: aiohttp.ClientSession, nodes: list[Node], first: int, tid: str,
                 to: str) -> tuple[str, int, int]:
    """A SubmitReq sent to node ``first``, sent again with the same TransactionID to the
    next live node while a node does not answer or says 4006: (MessageID, the node that
    answered, attempts)."""
    body, content_type = soap_with_attachments(envelope(submit_body(to=f"<Number>{to}</Number>"),
                                                        tid=tid))
    auth = "Basic " + base64.b64encode(b"acme:s3cret").decode()
    for attempt in range(1, 30):
        live = [node for node in nodes[first:] + nodes[:first] if node.alive]
        node = live[attempt % len(live)]
        try:
            async with http.post(f"{node.url}/mm7", data=body, headers={
                    "Authorization": auth, "Content-Type": content_type}) as answer:
                text = await answer.text()
        except (aiohttp.ClientError, OSError, TimeoutError):
            await asyncio.sleep(0.1)
            continue
        if "MessageID>" in text:
            return text.split("MessageID>")[1].split("<")[0], node.index, attempt
        await asyncio.sleep(0.1)
    raise AssertionError(f"SubmitReq {tid} never accepted")


async def test_three_nodes_one_killed_deliver_everything(tmp_path: Path, postgres) -> None:
    """Three ``mmsc serve`` processes on one PostgreSQL database and one S3 server process,
    binding to one SMSC. VASP submits are spread over them; handsets fetch through another
    node than the one that notified them; one node is SIGKILLed a third of the way in (its
    claims are taken over after the lease; a submit it never answered is sent again to
    another node with the same TransactionID). Every accepted message is delivered and its
    delivery report reaches the VASP; no TransactionID is accepted twice; a report sent twice
    (a node dying between sending and recording it) is counted and stays within what one
    node can have in flight."""
    smsc = SmscEmulator()
    _, smsc_port = await smsc.start("127.0.0.1", 0)
    url = postgres.new_database()
    with moto_server() as s3:
        async with VaspEndpoint() as vasp:
            common = f"""[storage]
backend = "s3"
endpoint = "{s3.endpoint}"
bucket = "{fresh_bucket()}"
access_key = "testing"
secret_key = "testing"
[state]
url = "{url}"
pool_size = 4
[smsc]
mode = "smpp"
port = {smsc_port}
[delivery]
scheduler_interval = 0.5
claim_lease = 3
renotify_backoff = [2, 2, 2]
fallback_after = 3600
report_backoff = [1, 1, 1, 1, 1]
[[vasp]]
id = "acme"
password = "s3cret"
allowed_senders = ["36000"]
report_url = "{vasp.url}"
"""
            nodes = [Node(tmp_path, i, common) for i in range(3)]
            handsets = Handsets(nodes)
            smsc.subscribe(handsets.sms)
            try:
                for node in nodes:
                    await until(lambda node=node: _ready(node), f"node {node.index} ready", 60)
                accepted: dict[str, str] = {}  # tid -> MessageID
                by_node: dict[str, int] = {}
                retried = 0
                async with aiohttp.ClientSession(
                        timeout=aiohttp.ClientTimeout(total=20)) as http:
                    async def one(i: int) -> None:
                        nonlocal retried
                        message_id, node, attempts = await submit(
                            http, nodes, i % 3, f"tid-{i}", HANDSETS[i % len(HANDSETS)])
                        accepted[f"tid-{i}"] = message_id
                        by_node[message_id] = node
                        retried += attempts > 1

                    async def kill_soon() -> None:  # while submits are on the wire
                        await asyncio.sleep(0.05)
                        nodes[1].kill()

                    for start in range(0, MESSAGES, 6):
                        extra = [kill_soon()] if start <= MESSAGES // 3 < start + 6 else []
                        await asyncio.gather(*(one(i) for i in range(start, start + 6)), *extra)
                    ids = set(accepted.values())
                    assert len(ids) == MESSAGES  # no second acceptance of a TransactionID
                    # answers lost on the way: each submit sent again, to a live node, names
                    # the message first accepted, whichever node accepted it
                    again = await asyncio.gather(*(
                        submit(http, nodes, i % 3, f"tid-{i}", HANDSETS[i % len(HANDSETS)])
                        for i in range(0, MESSAGES, 4)))
                    assert [m for m, _, _ in again] == [accepted[f"tid-{i}"]
                                                        for i in range(0, MESSAGES, 4)]

                async def all_reported() -> bool:
                    return {r.fields.get("MessageID") for r in vasp.received} >= ids
                await until(all_reported, "a delivery report for every message", 90)
            finally:
                await handsets.close()
                # in threads: the SMSC emulator, on this loop, answers the nodes' unbinds
                await asyncio.gather(*(asyncio.to_thread(node.stop) for node in nodes))
                await smsc.close()
            reports = Counter(r.fields.get("MessageID") for r in vasp.received
                              if r.operation == "DeliveryReportReq")
            statuses = {r.fields.get("MMStatus") for r in vasp.received}
            duplicates = sum(count - 1 for count in reports.values())
            lost = ids - set(handsets.retrieved)
            elsewhere = sum(1 for m, where in handsets.retrieved.items()
                            if where - {by_node.get(m)})
            print(f"{len(ids)} accepted ({retried} after a retry), {len(handsets.retrieved)} "
                  f"retrieved ({elsewhere} through another node than the accepting one), "
                  f"{sum(reports.values())} reports, {duplicates} duplicate reports, "
                  f"notifications from nodes {sorted(handsets.notifiers)}")
            assert nodes[1].process.returncode == -signal.SIGKILL
            assert not lost and statuses == {"Retrieved"}
            assert set(reports) == ids and duplicates <= CLAIM_BATCH
            assert elsewhere > 0 and len(handsets.notifiers) >= 2
            rows = postgres.sql("SELECT count(*) FROM messages", url.rsplit("/", 1)[1])
            assert int(rows) == MESSAGES


async def _ready(node: Node) -> bool:
    if node.process.poll() is not None:
        raise AssertionError(f"node {node.index} exited: "
                             f"{(node.folder / 'server.log').read_text()[-2000:]}")
    try:
        return (await get(f"{node.url}/readyz"))[0] == 200
    except (aiohttp.ClientError, OSError):
        return False
