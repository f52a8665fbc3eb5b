"""The smpplib-based client against the SMSC emulator, over TCP on loopback."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest

from mmsc.pdu import MessageClass, MessageType, MmsPdu, decode, encode
from wap_push.push import decode_push, encode_push
from wap_push.smpp_client import (
    ReceiptEvent, SmppClient, SmppConfig, SmppLinkError, SmppSendError,
)
from wap_push.smsc import SmscEmulator

ACCOUNTS = {"mmsc": "secret"}


def notification(padding: int) -> bytes:
    return encode(MmsPdu(MessageType.NOTIFICATION_IND, "T9", "1.2",
                         message_class=MessageClass.PERSONAL, message_size=2048,
                         expiry=timedelta(days=2),
                         content_location="http://mmsc.test/m/" + "t" * padding))


async def started(smsc: SmscEmulator, **config: object) -> tuple[SmppClient, list[ReceiptEvent]]:
    _, port = await smsc.start()
    receipts: list[ReceiptEvent] = []
    settings = {"port": port, "system_id": "mmsc", "password": "secret", "max_rate": 200.0,
                "reconnect_min": 0.05, "response_timeout": 3.0, **config}
    client = SmppClient(SmppConfig(**settings), on_receipt=receipts.append)  # type: ignore[arg-type]
    await client.start()
    return client, receipts


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_push_and_text_with_receipts_matched() -> None:
    smsc = SmscEmulator(ACCOUNTS)
    client, receipts = await started(smsc)
    try:
        push = encode_push(notification(560), transaction_id=3)
        assert len(push) >= 600
        push_ids = await client.send_push("+33600000001", push, tag="push-1")
        text = "Vous avez recu un MMS {voir} http://mmsc.test/v/x " + "€" * 90  # GSM: no ç
        text_ids = await client.send_text("+33600000002", text, tag="text-1")
        assert len(push_ids) == 6 and len(text_ids) == 2
        await until(lambda: len(receipts) == 8)
        by_tag = {}
        for event in receipts:
            assert event.receipt.state == "DELIVRD"
            by_tag.setdefault(event.tag, set()).add(event.message_id)
        assert by_tag == {"push-1": set(push_ids), "text-1": set(text_ids)}
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
