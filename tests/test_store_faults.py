"""Bad days of the object store, end to end over real HTTP and SMPP: a store that hangs (an
S3 server process, moto_server or SeaweedFS, stopped with SIGSTOP), a store that crashes
and comes back on its data (SeaweedFS killed and started again), and content that is gone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from mmsc.config import Config, VaspConfig
from mmsc.pdu import MessageType, ResponseStatus, RetrieveStatus, Status, decode
from mmsc.server import Server
from mmsc.state import RecipientState

from helpers.s3servers import S3_SERVERS, S3Process, SeaweedFS
from test_loop import A, B, C, D, F, config, pushed_token, running, send_to
from test_mm7 import VaspEndpoint, call, envelope, soap_with_attachments, status_of, submit_body
from test_object_store import fresh_bucket

#: [storage] timeout of the hung-store test, seconds; answers must come well within 3x.
LIMIT = 1.5


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.read()


def with_vasp(cfg: Config, report_url: str = "") -> Config:
    cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], report_url=report_url)]
    return cfg


def on_s3(cfg: Config, endpoint: str) -> Config:
    """``cfg`` with its objects in a new bucket of the S3 server at ``endpoint``."""
    cfg.storage.backend, cfg.storage.endpoint, cfg.storage.bucket = "s3", endpoint, \
        fresh_bucket()
    cfg.storage.access_key = cfg.storage.secret_key = "testing"
    return cfg


async def mm7_submit(server: Server, tid: str, to: str = B) -> tuple[int, str | None]:
    """A SubmitReq: its status code, and the MessageID when accepted."""
    soap = envelope(submit_body(to=f"<Number>{to}</Number>"), tid=tid)
    _, doc, _ = await call(server, *soap_with_attachments(soap))
    found = doc.find(".//{*}MessageID")
    return status_of(doc)[1], None if found is None else found.text


async def recipient(server: Server, message_id: str):  # type: ignore[no-untyped-def]
    (r,) = await server.engine.state.recipients_of(message_id)
    return r


async def serves_again(server: Server, a, b, before: list) -> None:  # type: ignore[no-untyped-def]
    """Once a store is back: /readyz turns 200, an MM1 submit from ``a`` and an MM7 submit
    to ``b`` are accepted, and ``b`` receives every message of ``before`` and both of these."""
    async def ready() -> bool:
        return (await get(f"{server.url}/readyz"))[0] == 200
    await until(ready, "/readyz 200 with the store back")
    conf = await a.send(send_to(B), server.handsets.http)
    assert conf.response_status == ResponseStatus.OK
    code, after = await mm7_submit(server, "after")
    assert code == 1000
    expected = {*before, conf.message_id, after}
    await b.wait_for(lambda h: {m.envelope.message_id for m in h.inbox} >= expected,
                     timeout=30)


# -- a hung object store ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def stopped(process) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    """The process frozen (SIGSTOP): it takes connections and answers nothing."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


async def timed(call: Awaitable) -> tuple[object, float]:  # type: ignore[type-arg]
    start = time.monotonic()
    result = await call
    return result, time.monotonic() - start


async def test_a_hung_object_store_is_answered_retry_later_within_the_time_limit(
        tmp_path: Path, s3_server: S3Process | SeaweedFS) -> None:
    """The S3 server under SIGSTOP: MM7 SubmitReq gets fault 4006, MM1 m-send-req and
    retrieval error-transient-failure, the viewer 503, each within the [storage] timeout
    (asserted with a generous margin: 3x; it was 30 s); /readyz names the object store,
    /healthz stays 200. After SIGCONT: ready again, submits accepted, and every message
    accepted before, during delivery when the store froze, reaches its handset."""
    cfg = on_s3(with_vasp(config(tmp_path)), s3_server.endpoint)
    cfg.storage.timeout = LIMIT
    cfg.delivery.fallback_after = 600  # re-notify B until it has the content
    async with running(cfg) as server:
        phones = server.handsets
        a, b, d = (phones.handsets[n] for n in (A, B, D))
        assert (await get(f"{server.url}/readyz"))[0] == 200
        await a.send(send_to(D), phones.http)
        await d.wait_for(lambda h: h.texts)
        link = d.texts[0].split("View it at ")[1].split()[0]
        before = [(await a.send(send_to(B), phones.http)).message_id,
                  (await mm7_submit(server, "before"))[1]]
        await b.wait_for(lambda h: h.notifications)
        token = pushed_token(server, B)

        async with stopped(s3_server.process):
            conf, took = await timed(a.send(send_to(B), phones.http))
            assert conf.response_status == ResponseStatus.ERROR_TRANSIENT_FAILURE
            assert took < 3 * LIMIT
            (code, _), took = await timed(mm7_submit(server, "during"))
            assert code == 4006 and took < 3 * LIMIT
            (status, body), took = await timed(get(f"{server.url}/m/{token}"))
            retrieved = decode(body)
            assert retrieved.message_type == MessageType.RETRIEVE_CONF
            assert retrieved.retrieve_status == RetrieveStatus.ERROR_TRANSIENT_FAILURE
            assert took < 3 * LIMIT
            (status, _), took = await timed(get(link))
            assert status == 503 and took < 3 * LIMIT
            status, text = await get(f"{server.url}/readyz")
            assert status == 503 and text.decode().startswith("object store: ")
            assert (await get(f"{server.url}/healthz"))[0] == 200

        await serves_again(server, a, b, before)


# -- a crashed object store ------------------------------------------------------------------


@dataclass
class Answer:
    """One submit of the traffic below: which interface, the store's phase when it was sent
    and when it was answered, whether it was accepted, its message id, its answer time."""

    interface: str
    sent: str
    answered: str
    accepted: bool
    message_id: str | None
    took: float


async def test_seaweedfs_killed_and_restarted_on_its_data_loses_no_acknowledged_message(
        tmp_path: Path) -> None:
    """A handset (MM1) and a VASP (MM7) keep submitting while SeaweedFS is SIGKILLed and
    then started again on the same data folder. Every submit is answered within the
    [storage] timeout (generous margin: 3x), accepted or "retry later" and nothing else:
    while the store is down, m-send-conf error-transient-failure and fault 4006; once it
    is back, accepted again. Every message acknowledged, before the crash as well as
    after, is read back from the restarted store and reaches its handset: 0 lost."""
    (tmp_path / "seaweedfs").mkdir()
    with SeaweedFS(tmp_path / "seaweedfs") as weed:
        cfg = on_s3(with_vasp(config(tmp_path)), weed.endpoint)
        cfg.storage.timeout = LIMIT
        cfg.delivery.fallback_after = 600  # re-notify B until it has the content
        async with running(cfg) as server:
            a, b = server.handsets.handsets[A], server.handsets.handsets[B]
            phase = "up"
            answers: list[Answer] = []
            done = asyncio.Event()

            async def traffic(interface: str) -> None:
                while not done.is_set():
                    sent = phase
                    if interface == "MM1":
                        conf, took = await timed(a.send(send_to(B), server.handsets.http))
                        status = conf.response_status
                        assert status in (ResponseStatus.OK,
                                          ResponseStatus.ERROR_TRANSIENT_FAILURE), status
                        accepted, message_id = status == ResponseStatus.OK, conf.message_id
                    else:
                        (code, message_id), took = await timed(
                            mm7_submit(server, f"t{len(answers)}"))
                        assert code in (1000, 4006), code
                        accepted = code == 1000
                    answers.append(Answer(interface, sent, phase, accepted,
                                          message_id if accepted else None, took))
                    await asyncio.sleep(0.05)

            def seen(when: str, accepted: bool) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    return all(sum(x.interface == i and x.sent == x.answered == when
                                   and x.accepted == accepted for x in answers) >= 2
                               for i in ("MM1", "MM7"))
                return check

            flows = [asyncio.create_task(traffic(i)) for i in ("MM1", "MM7")]
            try:
                await until(seen("up", True), "submits accepted before the crash")
                phase = "down"
                weed.kill()
                await until(seen("down", False), "submits answered while the store is down")
                phase = "restarting"
                await asyncio.to_thread(weed.start)
                phase = "back"
                await until(seen("back", True), "submits accepted after the restart")
            finally:
                done.set()
                await asyncio.gather(*flows)

            for answer in answers:
                assert answer.took < 3 * LIMIT, answer
                if answer.sent == answer.answered == "down":
                    assert not answer.accepted, answer
                if answer.sent == answer.answered == "back":
                    assert answer.accepted, answer
            acknowledged = {x.message_id for x in answers if x.accepted}
            before = {x.message_id for x in answers if x.accepted and x.answered == "up"}
            assert len(before) >= 4 and None not in acknowledged
            for message_id in sorted(acknowledged):  # type: ignore[arg-type]
                message = await server.engine.state.get_message(message_id)
                assert await server.engine.objects.exists(message.object_key), message_id
            await b.wait_for(lambda h: {m.envelope.message_id for m in h.inbox} >= acknowledged,
                             timeout=60)


# -- content that is gone --------------------------------------------------------------------


def lose(cfg: Config, key: str) -> Awaitable[None]:
    """The original deleted behind mmsc's back: a file removed from the folder, or the
    object removed from the bucket by another S3 client."""
    if cfg.storage.backend == "fs":
        (Path(cfg.storage.path) / key).unlink()
        return asyncio.sleep(0)
    from minio import Minio
    client = Minio(cfg.storage.endpoint, "testing", "testing", secure=False)
    return asyncio.to_thread(client.remove_object, cfg.storage.bucket, key)


@pytest.fixture(params=["fs", *S3_SERVERS])
def lossy_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    cfg = config(tmp_path)
    if request.param == "fs":
        return cfg
    return on_s3(cfg, request.getfixturevalue(request.param).endpoint)


async def test_lost_content_is_a_permanent_retrieval_error_that_ends_the_delivery(
        lossy_config: Config, caplog: pytest.LogCaptureFixture) -> None:
    """The original deleted after the notification: retrieval answers
    error-permanent-message-not-found, the recipient ends unreachable (ERROR log, event
    content-lost), the sender gets its M-Delivery.ind Unreachable; after a restart nothing
    is due for it."""
    cfg = lossy_config
    async with running(cfg) as server:
        a = server.handsets.handsets[A]  # F is offline: it fetches nothing by itself
        message_id = (await a.send(send_to(F), server.handsets.http)).message_id

        async def notified() -> bool:
            return (await recipient(server, message_id)).state == RecipientState.NOTIFIED
        await until(notified, "the notification")
        r = await recipient(server, message_id)
        await lose(cfg, (await server.engine.state.get_message(message_id)).object_key)
        status, body = await get(f"{server.url}/m/{pushed_token(server, r.address)}")
        conf = decode(body)
        assert status == 200 and conf.message_type == MessageType.RETRIEVE_CONF
        assert conf.retrieve_status == RetrieveStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND
        r = await recipient(server, message_id)
        assert r.state == RecipientState.UNREACHABLE and r.next_attempt_at is None
        assert "content-lost" in [e.kind for e in await server.engine.state.events_of(message_id)]
        assert any(rec.levelname == "ERROR" and "DATA LOSS" in rec.getMessage()
                   and message_id in rec.getMessage() for rec in caplog.records)
        await a.wait_for(lambda h: h.reports)
        (report,) = a.reports
        assert report.message_type == MessageType.DELIVERY_IND
        assert report.message_id == message_id and report.status == Status.UNREACHABLE
    async with running(cfg) as server:
        assert await server.engine.run_due() == 0
        assert (await recipient(server, message_id)).state == RecipientState.UNREACHABLE


async def test_the_notify_step_ends_a_delivery_whose_content_is_lost(tmp_path: Path) -> None:
    """A handset that fetches and never confirms is notified again and again; once the
    original is gone, the next notify step ends it unreachable instead, and the sender
    hears Unreachable."""
    cfg = config(tmp_path)
    cfg.delivery.fallback_after = 600  # notified again, never the link SMS
    async with running(cfg) as server:
        a, c = server.handsets.handsets[A], server.handsets.handsets[C]
        message_id = (await a.send(send_to(C), server.handsets.http)).message_id
        await c.wait_for(lambda h: h.inbox)
        await lose(cfg, (await server.engine.state.get_message(message_id)).object_key)
        await a.wait_for(lambda h: h.reports)
        assert a.reports[0].status == Status.UNREACHABLE
        r = await recipient(server, message_id)
        assert r.state == RecipientState.UNREACHABLE and r.next_attempt_at is None


async def test_a_vasp_hears_unreachable_when_the_content_is_lost(tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        cfg = with_vasp(config(tmp_path), vasp.url)
        async with running(cfg) as server:
            code, message_id = await mm7_submit(server, "lost", to=F)
            assert code == 1000 and message_id is not None

            async def notified() -> bool:
                return (await recipient(server, message_id)).state == RecipientState.NOTIFIED
            await until(notified, "the notification")
            token = pushed_token(server, F)
            await lose(cfg, (await server.engine.state.get_message(message_id)).object_key)
            decoded = decode((await get(f"{server.url}/m/{token}"))[1])
            assert decoded.retrieve_status == RetrieveStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND
            (report,) = await vasp.wait_for("DeliveryReportReq")
            assert report.fields["MessageID"] == message_id
            assert report.fields["MMStatus"] == "Unreachable"


# -- readiness -------------------------------------------------------------------------------


async def test_readyz_names_each_part_that_is_down(tmp_path: Path) -> None:
    """/readyz: 200 while everything answers; 503 naming the SMSC once its bind is lost,
    then the state store too once that is gone; /healthz 200 throughout."""
    async with running(config(tmp_path)) as server:
        status, text = await get(f"{server.url}/readyz")
        assert status == 200 and text.decode().startswith("ready ")

        async def down(part: str) -> bool:
            status, text = await get(f"{server.url}/readyz")
            return status == 503 and f"\n{part}: " in f"\n{text.decode()}"
        assert server.smsc is not None
        await server.smsc.close()
        await until(lambda: down("SMSC"), "/readyz naming the SMSC")
        await server.engine.state.close()
        await until(lambda: down("state store"), "/readyz naming the state store")
        assert (await get(f"{server.url}/healthz"))[0] == 200
