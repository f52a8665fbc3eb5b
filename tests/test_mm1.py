"""MM1 against bad and odd input: every refusal is the PDU a handset expects, and the server
keeps serving."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from mmsc.pdu import (
    InsertAddress, MessageType, MmsPdu, ReadStatus, Status,
    decode, encode,
)
from mmsc.server import Server
from wap_push.wsp import ContentType, EncodedString, Part

from test_loop import A, B, C, config, notified, picture, pushed_token, running

MMS = {"Content-Type": "application/vnd.wap.mms-message"}
# The answers expected, written out from OMA-MMS-ENC 1.3 §7.3 rather than read from mmsc.pdu's
# own tables (a wrong table would agree with itself).
M_SEND_CONF, M_RETRIEVE_CONF = 129, 132  # X-Mms-Message-Type
OK = 0x80  # X-Mms-Response-Status Ok
FORMAT_CORRUPT = 0xE2  # Error-permanent-message-format-corrupt
ADDRESS_UNRESOLVED = 0xE3  # Error-permanent-sending-address-unresolved
MESSAGE_NOT_FOUND = 0xE4  # Error-permanent-message-not-found
CONTENT_NOT_ACCEPTED = 0xE5  # Error-permanent-content-not-accepted
RETRIEVE_NOT_FOUND = 0xE2  # X-Mms-Retrieve-Status Error-permanent-message-not-found


@pytest.fixture
async def server(tmp_path: Path):
    cfg = config(tmp_path)
    cfg.delivery.max_message_size = 50_000
    s = Server(cfg)
    await s.start()
    yield s
    await s.close()


async def post(server: Server, body: bytes, **headers: str) -> tuple[int, bytes]:
    """POST as a handset behind the trusted WAP gateway (loopback), whose header names ``A``
    unless ``headers`` says otherwise (``X_MSISDN=""``: no header)."""
    headers = {"X-MSISDN": A, **{k.replace("_", "-"): v for k, v in headers.items()}}
    headers = {k: v for k, v in headers.items() if v}
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
    assert status == 200 and conf.message_type == M_SEND_CONF
    assert conf.response_status == FORMAT_CORRUPT
    assert (await post(server, encode(send_req())))[0] == 200  # still serving


async def test_send_req_errors(server: Server) -> None:
    no_type = decode((await post(server, encode(send_req(content_type=None, parts=None))))[1])
    assert no_type.response_status == FORMAT_CORRUPT
    assert no_type.transaction_id == "t1"
    insert = decode((await post(server, encode(send_req(sender=InsertAddress.TOKEN)),
                                X_MSISDN=""))[1])
    assert insert.response_status == ADDRESS_UNRESOLVED
    nobody = decode((await post(server, encode(send_req(to=[]))))[1])
    assert nobody.response_status == FORMAT_CORRUPT
    big = send_req(parts=[Part(ContentType("image/jpeg"), [], bytes(60_000))])
    too_large = decode((await post(server, encode(big)))[1])
    assert too_large.response_status == CONTENT_NOT_ACCEPTED
    assert "too large" in too_large.response_text
    status, _ = await post(server, bytes(200_000))
    assert status == 413  # over the HTTP body cap: refused before decoding


async def test_the_trusted_header_names_the_sender(server: Server) -> None:
    conf = decode((await post(server, encode(send_req(sender=InsertAddress.TOKEN)),
                              **{"X-MSISDN": A}))[1])
    assert conf.response_status == OK
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
        assert conf.retrieve_status == RETRIEVE_NOT_FOUND
    for orphan in (MessageType.NOTIFYRESP_IND, MessageType.ACKNOWLEDGE_IND):
        assert (await post(server, encode(MmsPdu(orphan, transaction_id="x"))))[0] == 204


async def test_a_twice_escaped_token_is_retrieved(server: Server) -> None:
    a = server.handsets.handsets[A]
    message = picture()
    message.envelope.to = ["+33699999999/TYPE=PLMN"]  # not an emulated handset: nobody fetches
    conf = await a.send(message, server.handsets.http)
    r = await notified(server, conf.message_id)
    token = pushed_token(server, r.address)
    assert len(token) >= 22
    twice = quote(quote(token, safe=""), safe="").replace("-", "%252D")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/m/{twice}") as response:
            got = decode(await response.read())
            assert int(response.headers["Content-Length"]) == response.content_length
    assert got.message_type == M_RETRIEVE_CONF and got.retrieve_status is None
    assert got.message_id == conf.message_id and got.transaction_id == r.transaction_id
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
            assert decode(answer).message_type == M_SEND_CONF
    assert 200 in statuses


async def _notified_token(server: Server, number: str) -> tuple[str, str, str]:
    """An MMS from A to ``number`` (not an emulated handset: nobody fetches it), once
    notified: its message id, the content token pushed, the notification's transaction id."""
    conf = decode((await post(server, encode(send_req(to=[EncodedString(f"{number}/TYPE=PLMN")]))))[1])
    assert conf.response_status == OK
    r = await notified(server, conf.message_id)
    return conf.message_id, pushed_token(server, number), r.transaction_id


async def test_a_from_that_no_trusted_header_names_is_refused(tmp_path: Path) -> None:
    """Issue 14 item 14: by default only a trusted proxy's header names the sender; the
    PDU's From is believed only with ``[http] open_mm1``."""
    cfg = config(tmp_path)
    cfg.http.trusted_proxies = ["192.0.2.1"]  # loopback is not the WAP gateway here
    async with running(cfg) as s:
        for headers in ({}, {"X_MSISDN": A}):  # a header from an untrusted address is not one
            conf = decode((await post(s, encode(send_req()), **headers))[1])
            assert conf.response_status == ADDRESS_UNRESOLVED
        assert await s.engine.state.list_message_ids() == []
    cfg.http.open_mm1 = True
    async with running(cfg) as s:
        conf = decode((await post(s, encode(send_req())))[1])
        assert conf.response_status == OK
        message = await s.engine.state.get_message(conf.message_id)
        assert message.originator == f"{A}/TYPE=PLMN"


async def test_retrieval_and_answers_are_tied_to_the_recipient(server: Server) -> None:
    """Issue 14 item 15: B's token does not open B's message for a request whose trusted
    header names C, nor does C's notifyresp for B's transaction count; without a header
    the token alone is enough."""
    unknown = "+33699999998"
    message_id, token, tid = await _notified_token(server, unknown)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/m/{token}", headers={"X-MSISDN": C}) as r:
            refused = decode(await r.read())
    assert refused.retrieve_status == RETRIEVE_NOT_FOUND
    for kind in (MessageType.NOTIFYRESP_IND, MessageType.ACKNOWLEDGE_IND):
        pdu = MmsPdu(kind, transaction_id=tid, status=Status.REJECTED
                     if kind == MessageType.NOTIFYRESP_IND else None)
        assert (await post(server, encode(pdu), X_MSISDN=C))[0] == 204
    (r,) = await server.engine.state.recipients_of(message_id)
    assert r.state.value == "notified"
    async with aiohttp.ClientSession() as http:
        for headers in ({"X-MSISDN": unknown}, {}):
            async with http.get(f"{server.url}/m/{token}", headers=headers) as response:
                got = decode(await response.read())
            assert got.retrieve_status is None and got.message_id == message_id
    pdu = MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=tid, status=Status.RETRIEVED)
    assert (await post(server, encode(pdu), X_MSISDN=unknown))[0] == 204
    (r,) = await server.engine.state.recipients_of(message_id)
    assert r.state.value == "acknowledged"


async def test_non_utf8_values_in_handset_pdus_are_not_a_server_error(server: Server) -> None:
    """Issue 14 item 13: a non-UTF-8 octet in a transaction id, message id or content
    location (the report's repro first) is answered as unknown, never a 500."""
    repro = b"\x8c\x83\x98a\xff\x00\x8d\x92\x95\x81"
    assert (await post(server, repro))[0] == 204
    mark = "aQQQ"  # written by the encoder, then turned into non-UTF-8 octets
    for pdu in (MmsPdu(MessageType.ACKNOWLEDGE_IND, transaction_id=mark),
                MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=mark, status=Status.REJECTED),
                MmsPdu(MessageType.READ_REC_IND, message_id=mark, to=[EncodedString(B)],
                       read_status=ReadStatus.READ, date=None),
                MmsPdu(MessageType.FORWARD_REQ, transaction_id="f1", content_location=mark,
                       to=[EncodedString(f"{B}/TYPE=PLMN")], date=None)):
        status, answer = await post(server, encode(pdu).replace(b"QQQ", b"\xff\xc3\x28"))
        assert status in (200, 204)
        if status == 200:
            assert decode(answer).response_status == MESSAGE_NOT_FOUND


@pytest.mark.parametrize("seed", range(4))
async def test_mutated_handset_pdus_never_get_a_5xx(server: Server, seed: int) -> None:
    """A seeded mutation campaign over every PDU a handset sends (issue 14 item 13):
    answers are m-send-conf / m-forward-conf, 204 or 400, never a 5xx; the server serves on."""
    import random

    rng = random.Random(seed)
    message_id, token, tid = await _notified_token(server, "+33699999997")
    seeds = [encode(send_req()),
             encode(MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=tid,
                           status=Status.DEFERRED)),
             encode(MmsPdu(MessageType.ACKNOWLEDGE_IND, transaction_id=tid)),
             encode(MmsPdu(MessageType.READ_REC_IND, message_id=message_id,
                           to=[EncodedString(f"{A}/TYPE=PLMN")], read_status=ReadStatus.READ,
                           date=None)),
             encode(MmsPdu(MessageType.FORWARD_REQ, transaction_id="f1", content_location=
                           f"{server.url}/m/{token}", to=[EncodedString(f"{B}/TYPE=PLMN")],
                           date=None))]
    for _ in range(80):
        mutated = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            where = rng.randrange(len(mutated))
            if rng.random() < 0.8:
                mutated[where] = rng.choice((0xFF, 0x80, 0xC3, 0x00, rng.randrange(256)))
            else:
                del mutated[where:where + rng.randint(1, 4)]
        status, _ = await post(server, bytes(mutated), X_MSISDN=rng.choice((A, "")))
        assert status in (200, 204, 400), (status, bytes(mutated))
    assert (await post(server, encode(send_req())))[0] == 200


async def test_the_database_holds_no_content_token(server: Server) -> None:
    """Issue 14 item 16: only digests of content tokens are stored, so a copy of the
    database opens no message; the pushed token still retrieves, and each re-notification's
    token too."""
    message_id, first, tid = await _notified_token(server, "+33699999996")
    server.engine.settings.renotify_backoff = (0.0,)
    (r,) = await server.engine.state.recipients_of(message_id)
    await server.engine._notify(r, await server.engine.state.get_message(message_id))
    second = pushed_token(server, "+33699999996")
    assert second != first
    db = Path(server.config.state_location[1])
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())
    assert first.encode() not in stored and second.encode() not in stored
    async with aiohttp.ClientSession() as http:
        for token in (first, second):
            async with http.get(f"{server.url}/m/{token}") as response:
                got = decode(await response.read())
            assert got.retrieve_status is None and got.transaction_id == tid
