"""Bad days of the object store, end to end over real HTTP and SMPP: a store that hangs (a
real S3 server process, moto_server, stopped with SIGSTOP) and content that is gone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from mmsc.config import Config, VaspConfig
from mmsc.pdu import MessageType, ResponseStatus, RetrieveStatus, Status, decode
from mmsc.server import Server
from mmsc.state import RecipientState

from test_loop import A, B, C, D, F, config, pushed_token, running, send_to
from test_mm7 import VaspEndpoint, call, envelope, soap_with_attachments, status_of, submit_body
from test_object_store import fresh_bucket, moto_server

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


async def mm7_submit(server: Server, tid: str, to: str = B) -> tuple[int, str | None]:
    """A SubmitReq: its status code, and the MessageID when accepted."""
    soap = envelope(submit_body(to=f"<Number>{to}</Number>"), tid=tid)
    _, doc, _ = await call(server, *soap_with_attachments(soap))
    found = doc.find(".//{*}MessageID")
    return status_of(doc)[1], None if found is None else found.text


async def recipient(server: Server, message_id: str):  # type: ignore[no-untyped-def]
    (r,) = await server.engine.state.recipients_of(message_id)
    return r


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
        tmp_path: Path) -> None:
    """moto_server under SIGSTOP: MM7 SubmitReq gets fault 4006, MM1 m-send-req and
    retrieval error-transient-failure, the viewer 503, each within the [storage] timeout
    (asserted with a generous margin: 3x; it was 30 s); /readyz names the object store,
    /healthz stays 200. After SIGCONT: ready again, submits accepted, and every message
    accepted before, during delivery when the store froze, reaches its handset."""
    with moto_server() as (endpoint, process):
        cfg = with_vasp(config(tmp_path))
        cfg.storage.backend, cfg.storage.endpoint, cfg.storage.bucket = "s3", endpoint, \
            fresh_bucket()
        cfg.storage.access_key = cfg.storage.secret_key = "testing"
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

            async with stopped(process):
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

            async def ready() -> bool:
                return (await get(f"{server.url}/readyz"))[0] == 200
            await until(ready, "/readyz 200 after SIGCONT")
            conf = await a.send(send_to(B), phones.http)
            assert conf.response_status == ResponseStatus.OK
            code, after = await mm7_submit(server, "after")
            assert code == 1000
            expected = {*before, conf.message_id, after}
            await b.wait_for(lambda h: {m.envelope.message_id for m in h.inbox} >= expected,
                             timeout=30)


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


@pytest.fixture(params=["fs", "s3"])
def lossy_config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    cfg = config(tmp_path)
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        cfg.storage.backend, cfg.storage.endpoint, cfg.storage.bucket = "s3", endpoint, \
            fresh_bucket()
        cfg.storage.access_key = cfg.storage.secret_key = "testing"
    return cfg


@pytest.fixture(scope="module")
def s3_endpoint():  # type: ignore[no-untyped-def]
    with moto_server() as (endpoint, _process):
        yield endpoint


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
