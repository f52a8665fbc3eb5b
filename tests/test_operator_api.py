"""The operator's JSON API: 401 without the right credentials (the same whichever part is
wrong), search by number and by id, the timeline as the events, PDUs, cancel and its 409,
renotify, stats; the viewer's strict headers on every answer."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import aiohttp
import pytest

from mmsc.config import OperatorConfig, VaspConfig
from mmsc.server import Server

from test_loop import A, B, C, F, config, running, send_to

AUTH = {"Authorization": "Basic " + base64.b64encode(b"noc:s3cret").decode()}


@pytest.fixture
async def server(tmp_path: Path):
    cfg = config(tmp_path)
    cfg.operators = [OperatorConfig("noc", "s3cret")]
    cfg.vasps = [VaspConfig("acme", "pw", ["36000"])]
    cfg.delivery.renotify_backoff = [60.0]
    async with running(cfg) as s:
        yield s


async def call(server: Server, method: str, path: str, headers: dict | None = None,
               ) -> tuple[int, dict, aiohttp.typedefs.LooseHeaders]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{server.url}/api/v1{path}",
                                headers=AUTH if headers is None else headers) as response:
            return response.status, await response.json(), response.headers


async def wait_state(server: Server, message_id: str, state: str) -> None:
    for _ in range(400):
        if {r.state.value for r in await server.engine.state.recipients_of(message_id)} == \
                {state}:
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{message_id} never {state}")


async def test_credentials_are_required_and_never_hinted(server: Server) -> None:
    wrong_password = {"Authorization": "Basic " + base64.b64encode(b"noc:nope").decode()}
    wrong_name = {"Authorization": "Basic " + base64.b64encode(b"nobody:s3cret").decode()}
    answers = []
    for headers in ({}, wrong_password, wrong_name, {"Authorization": "Basic !!!"}):
        status, body, got = await call(server, "GET", "/messages", headers)
        assert status == 401 and got["WWW-Authenticate"].startswith("Basic ")
        answers.append(body)
    assert all(body == answers[0] for body in answers)  # the same whichever part was wrong
    status, _, got = await call(server, "POST", f"/messages/{'0' * 32}/cancel", {})
    assert status == 401
    assert got["Content-Security-Policy"].startswith("default-src 'none'")
    assert got["X-Content-Type-Options"] == "nosniff" and got["Cache-Control"] == \
        "private, no-store"


async def test_search_message_timeline_and_pdus(server: Server) -> None:
    a, b = server.handsets.handsets[A], server.handsets.handsets[B]
    conf = await a.send(send_to(B), server.handsets.http)
    await b.wait_for(lambda h: h.inbox)
    await wait_state(server, conf.message_id, "acknowledged")
    other = await a.send(send_to(F), server.handsets.http)  # offline: stays notified

    status, body, _ = await call(server, "GET", f"/messages?msisdn={B[1:]}")
    assert status == 200 and [m["id"] for m in body["messages"]] == [conf.message_id]
    status, body, _ = await call(server, "GET", "/messages?msisdn=%2B33611111111&limit=10")
    assert [m["id"] for m in body["messages"]] == [other.message_id, conf.message_id]
    status, body, _ = await call(server, "GET", "/messages?state=acknowledged")
    assert [m["id"] for m in body["messages"]] == [conf.message_id]
    for bad in ("state=lost", "limit=0", "limit=x", "since=yesterday"):
        assert (await call(server, "GET", f"/messages?{bad}"))[0] == 400

    status, body, _ = await call(server, "GET", f"/messages/{conf.message_id}")
    assert status == 200
    assert body["message"]["subject"] == "Beach" and body["message"]["interface"] == "mm1"
    assert [(p["content_type"], p["size"]) for p in body["parts"]] == [
        (p.content_type, len(p.data)) for p in send_to(B).parts]
    assert [(r["address"], r["state"], r["route"]) for r in body["recipients"]] == [
        (f"{B}/TYPE=PLMN", "acknowledged", "mms")]
    events = await server.engine.state.events_of(conf.message_id)
    assert [(e["id"], e["kind"], e["at"]) for e in body["events"]] == [
        (e.id, e.kind, e.at) for e in events]
    fetched = next(e for e in body["events"] if e["kind"] == "fetched")
    assert fetched["recipient"] == f"{B}/TYPE=PLMN" and "profile" in fetched["detail"]
    assert (await call(server, "GET", f"/messages/{'f' * 32}"))[0] == 404

    status, body, _ = await call(server, "GET", f"/messages/{conf.message_id}/pdu/{B}")
    assert status == 200
    notification, retrieve = body["notification"], body["retrieve_conf"]
    assert notification["message_type"] == "m-notification-ind"
    assert notification["headers"]["X-Mms-Transaction-Id"] == \
        b.notifications[0].transaction_id
    assert notification["headers"]["X-Mms-Content-Location"].endswith("/m/<token>")
    assert retrieve["message_type"] == "m-retrieve-conf"
    assert retrieve["headers"]["Message-ID"] == conf.message_id
    assert [p["size"] for p in retrieve["parts"]] == [len(p.data) for p in b.inbox[0].parts]
    assert (await call(server, "GET", f"/messages/{conf.message_id}/pdu/{C}"))[0] == 404


async def test_cancel_before_retrieval_and_409_after(server: Server) -> None:
    a, b = server.handsets.handsets[A], server.handsets.handsets[B]
    delivered = await a.send(send_to(B), server.handsets.http)
    await wait_state(server, delivered.message_id, "acknowledged")
    waiting = await a.send(send_to(F), server.handsets.http)  # offline: never fetches
    await wait_state(server, waiting.message_id, "notified")

    status, body, _ = await call(server, "POST", f"/messages/{waiting.message_id}/renotify/{F}")
    assert status == 202
    for _ in range(400):  # the renotification goes out at once: its push is not cancelled
        kinds = [e.kind for e in await server.engine.state.events_of(waiting.message_id)]
        if kinds.count("notified") == 2:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError(f"never notified again: {kinds}")
    status, body, _ = await call(server, "POST", f"/messages/{waiting.message_id}/cancel")
    assert (status, body) == (200, {"cancelled": 1})
    (r,) = await server.engine.state.recipients_of(waiting.message_id)
    assert r.state.value == "rejected"
    kinds = [e.kind for e in await server.engine.state.events_of(waiting.message_id)]
    assert "renotify-requested" in kinds and "cancelled" in kinds
    assert "notified" not in kinds[kinds.index("cancelled"):]  # (an SMSC receipt may come)

    status, body, _ = await call(server, "POST", f"/messages/{delivered.message_id}/cancel")
    assert status == 409 and "retrieved" in body["error"]
    status, _, _ = await call(server, "POST", f"/messages/{delivered.message_id}/renotify/{B}")
    assert status == 409
    assert (await call(server, "POST", f"/messages/{'f' * 32}/cancel"))[0] == 404
    status, body, _ = await call(server, "GET", "/stats")
    assert body["messages"] == {"mm1": 2}
    assert body["recipients"] == {"acknowledged": 1, "rejected": 1}


async def test_no_api_without_operators(tmp_path: Path) -> None:
    async with running(config(tmp_path)) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/v1/messages", headers=AUTH) as response:
            assert response.status == 404


def test_screenshots_are_in_the_docs() -> None:
    docs = Path(__file__).resolve().parent.parent / "docs"
    readme = (docs.parent / "README.md").read_text()
    for name in ("console-search.png", "console-message.png"):
        assert (docs / name).exists() and f"docs/{name}" in readme
