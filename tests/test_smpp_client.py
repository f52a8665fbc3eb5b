"""The smpplib-based client against the SMSC emulator, over TCP on loopback."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest

from mmsc.pdu import MessageClass, MessageType, MmsPdu, decode, encode
from wap_push.push import decode_push, encode_push
from wap_push.smpp import Framer, Pdu, Receipt, decode_pdu, encode_pdu
from wap_push.smpp_client import SmppClient, SmppConfig, SmppLinkError, SmppSendError
from wap_push.smsc import SmscEmulator

ACCOUNTS = {"mmsc": "secret"}


def notification(padding: int) -> bytes:
    return encode(MmsPdu(MessageType.NOTIFICATION_IND, "T9", "1.2",
                         message_class=MessageClass.PERSONAL, message_size=2048,
                         expiry=timedelta(days=2),
                         content_location="http://mmsc.test/m/" + "t" * padding))


async def started(smsc: SmscEmulator, **config: object) -> tuple[SmppClient, list[Receipt]]:
    _, port = await smsc.start()
    receipts: list[Receipt] = []
    settings = {"port": port, "system_id": "mmsc", "password": "secret", "max_rate": 200.0,
                "reconnect_min": 0.05, "response_timeout": 3.0, **config}
    client = SmppClient(SmppConfig(**settings), on_receipt=receipts.append)  # type: ignore[arg-type]
    await client.start()
    return client, receipts


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("style", ["standard", "tlv", "minimal"])
async def test_push_and_text_with_a_receipt_for_each_segment(style: str) -> None:
    smsc = SmscEmulator(ACCOUNTS, receipts=style)
    client, receipts = await started(smsc)
    try:
        push = encode_push(notification(560), transaction_id=3)
        assert len(push) >= 600
        push_ids = await client.send_push("+33600000001", push)
        text = "Vous avez recu un MMS {voir} http://mmsc.test/v/x " + "€" * 90  # GSM: no ç
        text_ids = await client.send_text("+33600000002", text)
        assert len(push_ids) == 6 and len(text_ids) == 2
        await until(lambda: len(receipts) == 8)
        assert {r.state for r in receipts} == {"DELIVRD"}
        assert sorted(r.message_id for r in receipts) == sorted(push_ids + text_ids)
        pushed, texted = smsc.received
        assert pushed.payload == push and pushed.ports == (2948, 9200)
        assert decode(decode_push(pushed.payload).data).transaction_id == "T9"
        assert texted.text == text and texted.destination == "+33600000002"
    finally:
        await client.close()
        await smsc.close()


async def test_bad_password_is_a_permanent_bind_error() -> None:
    smsc = SmscEmulator(ACCOUNTS)
    with pytest.raises(SmppSendError) as info:
        await started(smsc, password="wrong")
    assert info.value.status == 0x0E and info.value.decision == "permanent"
    await smsc.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_start_with_retry_binds_once_the_smsc_listens() -> None:
    """No SMSC yet: start(retry=True) returns False instead of raising, a submit fails as a
    link error at once, and the client binds (and says so) when the SMSC comes."""
    port = free_port()
    bound: list[bool] = []
    client = SmppClient(SmppConfig(port=port, system_id="mmsc", password="secret",
                                   reconnect_min=0.05, reconnect_max=0.2, response_timeout=0.2),
                        on_bound=lambda: bound.append(client.connected))
    smsc = SmscEmulator(ACCOUNTS)
    try:
        assert await client.start(retry=True) is False
        assert not client.connected
        with pytest.raises(SmppLinkError) as info:
            await client.submit("+1", b"x")
        assert info.value.decision == "link"
        await smsc.start(port=port)
        await until(lambda: bound == [True])
        assert await client.submit("+1", b"x", registered_delivery=False)
        assert smsc.submitted == 1
    finally:
        await client.close()
        await smsc.close()


async def test_a_refused_bind_with_retry_is_logged_as_an_error_and_tried_again(
        caplog: pytest.LogCaptureFixture) -> None:
    smsc = SmscEmulator(ACCOUNTS)
    _, port = await smsc.start()
    client = SmppClient(SmppConfig(port=port, system_id="mmsc", password="wrong",
                                   reconnect_min=0.05, reconnect_max=0.05))
    try:
        assert await client.start(retry=True) is False
        await until(lambda: smsc.commands["bind_transceiver"] >= 3)
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and "ESME_RINVPASWD" in errors[0]  # said once, not each time
        assert "check system_id and password" in errors[0]
        smsc.accounts = {"mmsc": "wrong"}  # the SMSC's side fixed: bound without a restart
        await until(lambda: client.connected)
    finally:
        await client.close()
        await smsc.close()


async def test_reconnect_back_off_doubles_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody listens: the waits between binds double from reconnect_min and stop at
    reconnect_max (10 s by default), so a returning SMSC is bound within seconds."""
    from wap_push import smpp_client
    real_sleep = asyncio.sleep
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(smpp_client.asyncio, "sleep", record)
    client = SmppClient(SmppConfig(port=free_port()))
    try:
        assert await client.start(retry=True) is False
        while len(waits) < 9:
            await real_sleep(0.01)
    finally:
        await client.close()
    assert waits[:9] == [0.5, 1, 2, 4, 8, 10, 10, 10, 10]


async def test_throttling_slows_down_instead_of_failing() -> None:
    smsc = SmscEmulator(ACCOUNTS, throttle=20)
    client, _ = await started(smsc, max_rate=1000.0)
    try:
        ids = [await client.submit("+1", b"x", registered_delivery=False) for _ in range(40)]
        assert len(set(ids)) == 40 and smsc.submitted == 40
        assert client.limiter.rate < 1000.0
    finally:
        await client.close()
        await smsc.close()


async def test_refusals_carry_their_retry_decision() -> None:
    smsc = SmscEmulator(ACCOUNTS, reject_rate=1.0, reject_status=0x0B)
    client, _ = await started(smsc)
    try:
        with pytest.raises(SmppSendError) as info:
            await client.submit("+1", b"x")
        assert (info.value.status, info.value.decision) == (0x0B, "permanent")
    finally:
        await client.close()
        await smsc.close()


async def test_reconnects_after_the_link_drops() -> None:
    smsc = SmscEmulator(ACCOUNTS, drop_after=4)  # bind + 3 submits, then the link is cut
    client, _ = await started(smsc)
    try:
        sent, failures = 0, 0
        while sent < 8:
            try:
                await client.submit("+1", b"x", registered_delivery=False)
                sent += 1
            except SmppSendError as exc:
                assert exc.decision == "link"  # it never reached the SMSC: send it again
                failures += 1
                await asyncio.sleep(0.1)
        assert client.binds >= 2 and failures >= 1 and smsc.submitted == 8
    finally:
        await client.close()
        await smsc.close()


async def test_enquire_link_keeps_the_link_alive() -> None:
    smsc = SmscEmulator(ACCOUNTS)
    client, _ = await started(smsc, enquire_link_interval=0.05)
    try:
        await until(lambda: smsc.commands["enquire_link"] >= 3)
    finally:
        await client.close()
        await smsc.close()
    assert smsc.commands["unbind"] == 1


async def test_rate_limiter_spaces_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """At 20 messages per second the n-th send waits n/20 s; a throttle halves the rate."""
    from wap_push import smpp_client
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(smpp_client.asyncio, "sleep", record)
    limiter = smpp_client.RateLimiter(20.0)
    for _ in range(5):
        await limiter.wait()
    assert [round(w, 2) for w in waits] == [0.05, 0.10, 0.15, 0.20]
    limiter.slow_down()
    assert limiter.rate == 10.0


class RecordingSmsc:
    """A bare SMSC on the project's codec that keeps the octets of every PDU it reads."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        while data := await reader.read(65536):
            for frame in framer.feed(data):
                self.frames.append(frame)
                pdu = decode_pdu(frame)
                if not pdu.is_response:
                    fields = {"message_id": f"M{len(self.frames)}"} \
                        if pdu.command == "submit_sm" else {}
                    writer.write(encode_pdu(pdu.response(**fields)))
        writer.close()

    def submits(self) -> list[Pdu]:
        return [p for p in map(decode_pdu, self.frames) if p.command == "submit_sm"]

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_known_answers_of_the_pdus_mmsc_sends() -> None:
    """The octets of bind_transceiver and of a text submit_sm to an E.164 number from the
    alphanumeric sender (§4.1.5, §4.4.1): TON 5 NPI 0 "MMSC", TON 1 NPI 1 "33600000001"."""
    smsc = RecordingSmsc()
    client = SmppClient(SmppConfig(port=await smsc.start(), system_id="mmsc", password="pw"))
    try:
        await client.start()
        await client.send_text("+33600000001", "Hi")
    finally:
        await client.close()
        await smsc.close()
    bind, submit = smsc.frames[:2]
    assert bind == bytes.fromhex(
        "0000001d 00000009 00000000 00000001"            # bind_transceiver, sequence 1
        "6d6d736300 707700 00 34 00 00 00")               # mmsc, pw, "", 3.4, TON 0, NPI 0, ""
    assert submit == bytes.fromhex(
        "00000032 00000004 00000000 00000002"
        "00"                                             # service_type
        "05 00 4d4d534300"                               # source: TON 5, NPI 0, MMSC
        "01 01 333336303030303030303100"                 # destination: TON 1, NPI 1, digits
        "00 00 00 00 00 01 00 00 00"                     # esm_class .. sm_default_msg_id;
        "02 4869")                                       # registered_delivery 1; "Hi"


@pytest.mark.parametrize("config,destination,source,wanted", [
    ({}, "+33600000001", None, ((5, 0, "MMSC"), (1, 1, "33600000001"))),
    ({}, "0612345678", "36180", ((3, 0, "36180"), (2, 1, "0612345678"))),
    ({}, "3456", "+33700000000", ((1, 1, "33700000000"), (3, 0, "3456"))),
    ({"dest_ton": 0, "dest_npi": 1, "source_ton": 6, "source_npi": 1}, "+33600000001", "36180",
     ((6, 1, "36180"), (0, 1, "+33600000001"))),
])
async def test_addresses_of_every_submit(config: dict, destination: str, source: str | None,
                                         wanted: tuple) -> None:
    """Pushes and texts alike, every segment: TON and NPI by the address's kind, or as the
    settings fix them."""
    smsc = RecordingSmsc()
    client = SmppClient(SmppConfig(port=await smsc.start(), **config))
    try:
        await client.start()
        await client.send_push(destination, encode_push(notification(300), transaction_id=1))
        await client.send_text(destination, "x" * 200)
        if source is not None:
            await client.submit(destination, b"y", source=source)
    finally:
        await client.close()
        await smsc.close()
    submits = smsc.submits()
    assert len(submits) == 5 + (source is not None)
    default_source = (5, 0, "MMSC")
    for n, pdu in enumerate(submits):
        f = pdu.fields
        got = ((f["source_addr_ton"], f["source_addr_npi"], f["source_addr"]),
               (f["dest_addr_ton"], f["dest_addr_npi"], f["destination_addr"]))
        if n < 5 and source is not None:
            assert got == (default_source if not config else (6, 1, "MMSC"), wanted[1])
        else:
            assert got == wanted
