"""Delivery receipts in ``mmsc serve``: matched through the state store, recorded on the
recipient's timeline, and acted on (mmsc/relay/receipts.py), against the SMSC emulator and a
scripted SMSC over real SMPP on loopback."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from mmsc.config import SubscriberConfig
from mmsc.pdu import Status
from mmsc.relay import receipts
from mmsc.server import Server
from mmsc.state import RecipientState
from wap_push.smpp import (
    ESM_DELIVERY_RECEIPT, TLV_MESSAGE_STATE, TLV_RECEIPTED_MESSAGE_ID, Framer, Pdu, SmppAddress,
    decode_pdu, encode_pdu,
)
from wap_push.sms import WAP_PUSH_PORT

from test_loop import A, B, D, config, running, send_to

X = "+33677777777"  # a phone the SMSC cannot reach
S = RecipientState


async def timeline(server: Server, message_id: str, *until: str, timeout: float = 10.0) -> list:
    """The message's events once there is one of each kind in ``until``."""
    async with asyncio.timeout(timeout):
        while True:
            events = await server.engine.state.events_of(message_id)
            if set(until) <= {e.kind for e in events}:
                return events
            await asyncio.sleep(0.02)


def slow_timers(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A config whose timers would not fire during a test: what happens comes of receipts."""
    cfg = config(tmp_path)
    cfg.delivery.renotify_backoff = [600.0]
    cfg.delivery.fallback_after = 3600.0
    cfg.subscribers.append(SubscriberConfig(X, behaviour="offline"))
    return cfg


async def test_an_undeliverable_push_falls_back_to_the_link_at_once(tmp_path: Path) -> None:
    """UNDELIV for the notification: the link SMS goes now, not after an hour; UNDELIV for
    the link SMS too: unreachable now, and the sender's delivery report says so."""
    async with running(slow_timers(tmp_path)) as server:
        server.smsc.undeliverable.add(X)
        a = server.handsets.handsets[A]
        conf = await a.send(send_to(X), server.handsets.http)
        events = await timeline(server, conf.message_id, "report-push-delivered",
                                "report-sent")
        await a.wait_for(lambda h: h.reports)
        [r] = await server.engine.state.recipients_of(conf.message_id)
    mine = [e for e in events if e.recipient_id == r.id]
    kinds = [e.kind for e in mine]
    assert kinds[:5] == ["accepted", "notified", "push-undeliverable",
                         "fallback-sent", "link-undeliverable"]
    # the report's push and its receipt race the outbox's record that the push left
    assert sorted(kinds[5:]) == ["report-push-delivered", "report-sent"]
    assert r.state == S.UNREACHABLE and r.attempts == 1  # one notification, no re-notify
    undeliverable = mine[2].detail
    assert undeliverable["stat"] == "UNDELIV" and undeliverable["err"] == "001"
    assert undeliverable["smsc_id"] in mine[1].detail["smsc_ids"]
    assert mine[4].detail["smsc_id"] in mine[3].detail["smsc_ids"]
    assert a.reports[0].status == Status.UNREACHABLE
    to_x = [sms for sms in server.smsc.received if sms.destination == X]
    assert [sms.ports is not None for sms in to_x] == [True, False]  # the push, the link
    assert "/v/" in to_x[1].text


async def test_delivered_pushes_and_a_phone_that_never_fetches(tmp_path: Path) -> None:
    """DELIVRD of a notification: ``push-delivered`` once per SMS (whatever its segments),
    and, when the recipient's timer comes with no fetch since, ``delivered-not-fetched``;
    a fetching phone gets no such line, and the report push to the sender is receipted."""
    cfg = config(tmp_path)
    cfg.subscribers.append(SubscriberConfig(X, behaviour="offline"))
    async with running(cfg) as server:
        a = server.handsets.handsets[A]
        quiet = await a.send(send_to(X), server.handsets.http)
        events = await timeline(server, quiet.message_id, "delivered-not-fetched")
        fine = await a.send(send_to(B), server.handsets.http)
        fine_events = await timeline(server, fine.message_id, "report-push-delivered",
                                     "push-delivered")
    kinds = [e.kind for e in events]
    delivered = kinds.index("push-delivered")
    assert kinds.index("notified") < delivered < kinds.index("delivered-not-fetched")
    assert events[kinds.index("delivered-not-fetched")].detail["delivered_at"] == \
        events[delivered].at
    assert "fetched" not in kinds
    fine_kinds = [e.kind for e in fine_events]
    assert fine_kinds.count("push-delivered") == fine_kinds.count("notified") == 1
    assert "delivered-not-fetched" not in fine_kinds and "acknowledged" in fine_kinds


async def test_every_sms_mmsc_sends_is_addressed_as_smscs_expect(tmp_path: Path) -> None:
    """The notification push, the link SMS, the delivery report push: destination TON 1 NPI 1
    and the number without "+", source the alphanumeric sender TON 5 NPI 0."""
    async with running(config(tmp_path)) as server:
        a, d = server.handsets.handsets[A], server.handsets.handsets[D]
        await a.send(send_to(B), server.handsets.http)
        await a.send(send_to(D), server.handsets.http)
        await a.wait_for(lambda h: h.reports)
        await d.wait_for(lambda h: h.texts)
        received = list(server.smsc.received)
    kinds = {(sms.destination, sms.ports is not None) for sms in received}
    assert {(B, True), (A, True), (D, False)} <= kinds  # push, report push, link SMS
    for sms in received:
        assert sms.destination_smpp == SmppAddress(1, 1, sms.destination[1:])
        assert sms.source_smpp == SmppAddress(5, 0, "MMSC")
        assert sms.ports is None or sms.ports[0] == WAP_PUSH_PORT


class ScriptedSmsc:
    """An SMSC that binds the server, then sends it the receipts a test gives, and keeps
    the answers."""

    def __init__(self) -> None:
        self.answers: list[Pdu] = []
        self.bound = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer()
        while data := await reader.read(65536):
            for pdu in map(decode_pdu, framer.feed(data)):
                if pdu.is_response:
                    self.answers.append(pdu)
                else:
                    writer.write(encode_pdu(pdu.response(system_id="scripted")))
                    if pdu.command == "bind_transceiver":
                        self.writer = writer
                        self.bound.set()
        writer.close()

    async def receipt(self, sequence: int, text: bytes, tlvs: dict[int, bytes]) -> None:
        assert self.writer is not None
        self.writer.write(encode_pdu(Pdu("deliver_sm", sequence, fields={
            "source_addr_ton": 1, "source_addr_npi": 1, "source_addr": "33600000001",
            "esm_class": ESM_DELIVERY_RECEIPT, "short_message": text}, tlvs=tlvs)))
        await self.writer.drain()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_unknown_and_garbled_receipts_are_answered_logged_and_forgotten(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receipts, "RETRY", (0.05, 0.05))
    smsc = ScriptedSmsc()
    cfg = config(tmp_path)
    cfg.smsc.mode, cfg.smsc.port = "smpp", await smsc.start()
    caplog.set_level(logging.INFO)
    try:
        async with running(cfg) as server:
            await asyncio.wait_for(smsc.bound.wait(), 10)
            sent = [
                (b"id:DEADBEEF sub:001 dlvrd:001 submit date:2611221030 done date:2611221030 "
                 b"stat:DELIVRD err:000 text:", {}),                        # an unknown id
                (b"", {TLV_RECEIPTED_MESSAGE_ID: b"77\0", TLV_MESSAGE_STATE: b"\x05"}),
                (b"id:12 stat:ENROUTE", {}),                               # not final
                (b"\xff\xfe garbage \x00 stat", {}),                       # no receipt at all
                (b"", {TLV_RECEIPTED_MESSAGE_ID: b"\0"}),                   # an empty TLV
            ]
            for n, (text, tlvs) in enumerate(sent, start=1):
                await smsc.receipt(n, text, tlvs)
            async with asyncio.timeout(10):
                while len([a for a in smsc.answers if a.command == "deliver_sm_resp"]) < 5 \
                        or server.engine.receipts._tasks:  # noqa: SLF001
                    await asyncio.sleep(0.02)
            assert server.smpp.connected
            messages = await server.engine.state.list_message_ids()
    finally:
        await smsc.close()
    answers = [a for a in smsc.answers if a.command == "deliver_sm_resp"]
    assert [(a.sequence, a.status) for a in answers] == [(n, 0) for n in range(1, 6)]
    logged = [r.getMessage() for r in caplog.records]
    assert any("receipt DEADBEEF DELIVRD err 000: no SMS sent with this id" in m for m in logged)
    assert any("receipt 77 UNDELIV err 000: no SMS sent with this id" in m for m in logged)
    assert sum("says nothing of a message" in m for m in logged) == 2
    assert messages == []
    with sqlite3.connect(tmp_path / "mmsc.db") as db:
        assert db.execute("SELECT count(*) FROM smsc_ids").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0


async def test_an_id_in_the_other_base_is_tried_last(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Receipt "00000010" before its SMS is recorded must wait for it, not take the SMS
    "0000000A" (decimal 10); an id never recorded as written matches in the other base."""
    from wap_push.smpp import Receipt

    monkeypatch.setattr(receipts, "RETRY", (0.3, 0.3))
    async with running(config(tmp_path)) as server:
        a = server.handsets.handsets[A]
        conf = await a.send(send_to(B), server.handsets.http)
        await timeline(server, conf.message_id, "push-delivered", "report-push-delivered")
        state, engine = server.engine.state, server.engine
        [r] = await state.recipients_of(conf.message_id)
        message = await state.get_message(conf.message_id)
        await engine.receipts.record(r, message, "link", ["0000000A"])
        early = asyncio.create_task(engine.receipts.handle(Receipt("00000010", "UNDELIV")))
        await asyncio.sleep(0.1)
        await engine.receipts.record(r, message, "link", ["00000010"])
        await early
        assert await state.take_smsc_id(["10"], whole_sms=False) is None  # taken by its own
        await engine.receipts.handle(Receipt("10", "DELIVRD"))  # decimal 10: hex a, at last
        assert await state.take_smsc_id(["a"], whole_sms=False) is None
        kinds = [(e.kind, e.detail.get("smsc_id")) for e in await state.events_of(conf.message_id)]
    assert ("link-undeliverable", "00000010") in kinds and ("link-delivered", "10") in kinds
