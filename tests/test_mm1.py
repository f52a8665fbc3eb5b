"""MM1 against bad and odd input: every refusal is the PDU a handset expects, and the server
keeps serving."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from mmsc.pdu import (
    InsertAddress, MessageType, MmsPdu, ResponseStatus, RetrieveStatus, decode, encode,
)
from mmsc.server import Server
from wap_push.wsp import ContentType, EncodedString, Part

from test_loop import A, B, config, picture

MMS = {"Content-Type": "application/vnd.wap.mms-message"}


@pytest.fixture
async def server(tmp_path: Path):
    cfg = config(tmp_path)
    cfg.delivery.max_message_size = 50_000
    s = Server(cfg)
    await s.start()
    yield s
    await s.close()


async def post(server: Server, body: bytes, **headers: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/mms", data=body, headers={**MMS, **headers}) as r:
            return r.status, await r.read()


def send_req(**fields: object) -> MmsPdu:
    values = dict(transaction_id="t1", sender=EncodedString(f"{A}/TYPE=PLMN"),
                  to=[EncodedString(f"{B}/TYPE=PLMN")],
                  content_type=ContentType("application/vnd.wap.multipart.mixed"),
                  parts=[Part(ContentType("text/plain", {"charset": "utf-8"}), [], b"hi")])
    values.update(fields)
    return MmsPdu(MessageType.SEND_REQ, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [b"", b"\x8c", b"\x8c\x80\x98abc", b"garbage" * 100,
                                  bytes(range(256))])
async def test_malformed_pdus_get_format_corrupt(server: Server, body: bytes) -> None:
    status, answer = await post(server, body)
    conf = decode(answer)
    assert status == 200 and conf.message_type == MessageType.SEND_CONF
    assert conf.response_status == ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT
    assert (await post(server, encode(send_req())))[0] == 200  # still serving


async def test_send_req_errors(server: Server) -> None:
    no_type = decode((await post(server, encode(send_req(content_type=None, parts=None))))[1])
    assert no_type.response_status == ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT
    assert no_type.transaction_id == "t1"
    insert = decode((await post(server, encode(send_req(sender=InsertAddress.TOKEN))))[1])
    assert insert.response_status == ResponseStatus.ERROR_PERMANENT_SENDING_ADDRESS_UNRESOLVED
    nobody = decode((await post(server, encode(send_req(to=[]))))[1])
    assert nobody.response_status == ResponseStatus.ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT
    big = send_req(parts=[Part(ContentType("image/jpeg"), [], bytes(60_000))])
    too_large = decode((await post(server, encode(big)))[1])
    assert too_large.response_status == ResponseStatus.ERROR_PERMANENT_CONTENT_NOT_ACCEPTED
    assert "too large" in too_large.response_text
    status, _ = await post(server, bytes(200_000))
    assert status == 413  # over the HTTP body cap: refused before decoding


async def test_the_trusted_header_names_the_sender(server: Server) -> None:
    conf = decode((await post(server, encode(send_req(sender=InsertAddress.TOKEN)),
                              **{"X-MSISDN": A}))[1])
    assert conf.response_status == ResponseStatus.OK
    message = await server.engine.state.get_message(conf.message_id)
    assert message.originator == f"{A}/TYPE=PLMN"


async def test_other_pdus_and_methods(server: Server) -> None:
    status, _ = await post(server, encode(MmsPdu(MessageType.RETRIEVE_CONF, date=None)))
    assert status == 400
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{server.url}/mms", data=b"x") as r:
            assert r.status == 405
        async with http.get(f"{server.url}/healthz") as r:
            assert r.status == 200
    for unknown in ("nope", "a" * 300, "%2525", "..%2F..%2Fetc%2Fpasswd"):
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/m/{unknown}") as r:
                conf = decode(await r.read())
        assert r.headers["Content-Type"] == "application/vnd.wap.mms-message"
        assert conf.retrieve_status == RetrieveStatus.ERROR_PERMANENT_MESSAGE_NOT_FOUND
    for orphan in (MessageType.NOTIFYRESP_IND, MessageType.ACKNOWLEDGE_IND):
        assert (await post(server, encode(MmsPdu(orphan, transaction_id="x"))))[0] == 204


async def test_a_twice_escaped_token_is_retrieved(server: Server) -> None:
    a = server.handsets.handsets[A]
    message = picture()
    message.envelope.to = ["+33699999999/TYPE=PLMN"]  # not an emulated handset: nobody fetches
    conf = await a.send(message, server.handsets.http)
    for _ in range(100):
        (r,) = await server.engine.state.recipients_of(conf.message_id)
        if r.state.value == "notified":
            break
        await server.engine.run_due()
    token = r.content_token
    assert len(token) >= 22
    twice = quote(quote(token, safe=""), safe="").replace("-", "%252D")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/m/{twice}") as response:
            got = decode(await response.read())
            assert int(response.headers["Content-Length"]) == response.content_length
    assert got.message_type == MessageType.RETRIEVE_CONF and got.retrieve_status is None
    assert got.message_id == conf.message_id and got.transaction_id == token
    assert [bytes(p.data) for p in got.parts] == [p.data for p in picture().parts]


async def test_fuzzed_posts_always_get_an_answer(server: Server) -> None:
    """Mutations of a real m-send-req: every answer is an m-send-conf (or 204/400 for what
    decodes as another PDU), never a 500, and the server keeps serving."""
    import random

    rng = random.Random(7)
    data = encode(send_req())
    statuses = set()
    for _ in range(150):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        status, answer = await post(server, bytes(mutated))
        statuses.add(status)
        assert status in (200, 204, 400), status
        if status == 200:
            assert decode(answer).message_type == MessageType.SEND_CONF
    assert 200 in statuses
