"""mmsc on PostgreSQL, end to end: the database going away under a running node, and several
``mmsc serve`` processes on one database and one S3 server, one of them killed mid-run."""

from __future__ import annotations

import asyncio

import aiohttp
from pathlib import Path

from mmsc.pdu import MessageType, ResponseStatus, RetrieveStatus, decode

from pg_cluster import Cluster
from test_loop import A, B, D, config, pushed_token, running, send_to
from test_store_faults import get, mm7_submit, until, with_vasp


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

            async def ready() -> bool:
                return (await get(f"{server.url}/readyz"))[0] == 200
            await until(ready, "/readyz 200 with the database back")
            conf = await a.send(send_to(B), phones.http)
            assert conf.response_status == ResponseStatus.OK
            code, after = await mm7_submit(server, "after")
            assert code == 1000
            expected = {*before, conf.message_id, after}
            await b.wait_for(lambda h: {m.envelope.message_id for m in h.inbox} >= expected,
                             timeout=30)
    finally:
        cluster.close()


async def _pushed(server, number: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        pushed_token(server, number)
    except AssertionError:
        return False
    return True
