"""The SMSC emulator over real TCP on loopback: our own codec as one peer, and smpplib (someone
else's SMPP implementation) as the other."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import timedelta

import pytest
import smpplib.client
import smpplib.consts

from mmsc.pdu import MessageClass, MessageType, MmsPdu, decode, encode
from wap_push.push import decode_push, encode_push
from wap_push.smpp import Framer, Pdu, SmppAddress, decode_pdu, encode_pdu, parse_receipt
from wap_push.sms import encode_text, gsm7_septets, segment_push
from wap_push.smpp_client import SmppClient, SmppConfig
from wap_push.smsc import ReceivedSms, SmscEmulator

ACCOUNTS = {"mmsc": "secret"}


def notification_pdu(size: int) -> bytes:
    """An m-notification-ind whose Content-Location pads it to about ``size`` octets."""
    return encode(MmsPdu(MessageType.NOTIFICATION_IND, "T1", "1.2",
                         message_class=MessageClass.PERSONAL, message_size=1000,
                         expiry=timedelta(days=3),
                         content_location="http://mmsc.test/m/" + "a" * max(0, size - 60)))


class Esme:
    """A minimal ESME over asyncio built on the sans-IO codec (the test's own peer)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.framer, self.seq = reader, writer, Framer(), 0
        self.pending: list[Pdu] = []
        self.inbox: list[Pdu] = []

    @classmethod
    async def connect(cls, port: int) -> Esme:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def _read(self) -> Pdu:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            if not data:
                raise ConnectionError("closed")
            self.pending += [decode_pdu(f) for f in self.framer.feed(data)]
        return self.pending.pop(0)

    async def recv(self) -> Pdu:
        """The next PDU the SMSC sent on its own (or the next one at all)."""
        return self.inbox.pop(0) if self.inbox else await self._read()

    async def call(self, command: str, **fields: object) -> Pdu:
        """Send a request and return its response; other PDUs wait in the inbox."""
        self.seq += 1
        tlvs = fields.pop("tlvs", {})
        await self.raw(encode_pdu(Pdu(command, self.seq, fields=fields, tlvs=tlvs)))  # type: ignore[arg-type]
        while True:
            pdu = await self._read()
            if pdu.is_response and pdu.sequence in (self.seq, 0):
                return pdu
            self.inbox.append(pdu)


@pytest.fixture
async def smsc():
    emulator = SmscEmulator(ACCOUNTS)
    _, port = await emulator.start()
    emulator.port = port
    yield emulator
    await emulator.close()


async def test_bind_credentials(smsc: SmscEmulator) -> None:
    esme = await Esme.connect(smsc.port)
    assert (await esme.call("submit_sm", short_message=b"x")).status == 0x04  # not bound
    assert (await esme.call("bind_transceiver", system_id="nobody", password="x")).status == 0x0F
    assert (await esme.call("bind_transceiver", system_id="mmsc", password="bad")).status == 0x0E
    ok = await esme.call("bind_transceiver", system_id="mmsc", password="secret")
    assert ok.status == 0 and ok.fields["system_id"] == "mmsc-smsc"
    assert (await esme.call("bind_transmitter", system_id="mmsc", password="secret")).status == 5
    assert (await esme.call("enquire_link")).command == "enquire_link_resp"
    assert (await esme.call("unbind")).command == "unbind_resp"


async def test_push_segments_reassemble_and_receipt_returns(smsc: SmscEmulator) -> None:
    """A 600-octet notification in 128-octet segments arrives whole; a receipt comes back."""
    received: list[ReceivedSms] = []
    smsc.subscribe(received.append)
    push = encode_push(notification_pdu(612), transaction_id=1)
    segments = segment_push(push, reference=77)
    assert len(push) >= 600 and len(segments) == 6
    esme = await Esme.connect(smsc.port)
    await esme.call("bind_transceiver", system_id="mmsc", password="secret")
    ids = []
    for seg in segments:
        resp = await esme.call("submit_sm", source_addr="MMSC", destination_addr="+33600000001",
                               esm_class=0x40, data_coding=0x04, registered_delivery=1,
                               short_message=seg)
        assert resp.status == 0
        ids.append(resp.fields["message_id"])
    receipts = [parse_receipt((await esme.recv()).fields["short_message"]) for _ in segments]
    assert sorted(r.message_id for r in receipts) == sorted(ids)
    assert all(r.state == "DELIVRD" for r in receipts)
    [sms] = received
    assert sms.ports == (2948, 9200) and sms.message_ids == ids
    assert sms.destination == "+33600000001"
    assert decode(decode_push(sms.payload).data).content_location.startswith("http://mmsc.test/")


async def test_long_text_with_sar_tlvs_and_udh(smsc: SmscEmulator) -> None:
    esme = await Esme.connect(smsc.port)
    await esme.call("bind_transmitter", system_id="mmsc", password="secret")
    text = "Votre MMS: http://mmsc.test/v/abc € " + "x" * 200
    for seg in encode_text(text, reference=5):
        body = bytes(gsm7_septets(seg.text) or [])  # SMPP carries GSM text a septet an octet
        assert (await esme.call("submit_sm", destination_addr="+1", esm_class=0x40,
                                short_message=seg.udh + body)).status == 0
    for n, piece in enumerate(["Hello ", "world"], start=1):
        assert (await esme.call("submit_sm", destination_addr="+2", data_coding=0x08,
                                short_message=piece.encode("utf-16-be"),
                                tlvs={0x020C: b"\x00\x09", 0x020E: b"\x02",
                                      0x020F: bytes((n,))})).status == 0
    texts = {sms.destination: sms.text for sms in smsc.received}
    assert texts == {"+1": text, "+2": "Hello world"}


async def test_fault_injection() -> None:
    smsc = SmscEmulator(None, reject_rate=1.0, drop_after=4)
    _, port = await smsc.start()
    try:
        esme = await Esme.connect(port)
        await esme.call("bind_transmitter", system_id="any")
        assert (await esme.call("submit_sm", short_message=b"a")).status == 0x45
        assert (await esme.call("submit_sm", short_message=b"a")).status == 0x45
        await esme.call("enquire_link")
        with pytest.raises((ConnectionError, asyncio.TimeoutError)):
            await esme.call("enquire_link")
    finally:
        await smsc.close()
    smsc = SmscEmulator(None, throttle=2)
    _, port = await smsc.start()
    try:
        esme = await Esme.connect(port)
        await esme.call("bind_transmitter", system_id="any")
        statuses = [(await esme.call("submit_sm", short_message=b"a")).status for _ in range(4)]
        assert statuses == [0, 0, 0x58, 0x58]
    finally:
        await smsc.close()


async def test_garbage_never_kills_the_server(smsc: SmscEmulator) -> None:
    """Random and truncated PDUs on many connections; another session keeps working."""
    rng = random.Random(6)
    good = encode_pdu(Pdu("submit_sm", 1, fields={"short_message": b"hello"}))
    for i in range(150):
        esme = await Esme.connect(smsc.port)
        if i % 3 == 0:
            await esme.raw(rng.randbytes(rng.randrange(1, 300)))
        elif i % 3 == 1:
            await esme.raw(good[:rng.randrange(1, len(good))])
        else:
            frame = bytearray(good)
            frame[rng.randrange(16, len(frame))] = rng.randrange(256)
            await esme.raw(bytes(frame) + rng.randbytes(20))
        esme.writer.close()
    unknown = await Esme.connect(smsc.port)
    await unknown.call("bind_transceiver", system_id="mmsc", password="secret")
    assert (await unknown.call("submit_sm", short_message=b"still here")).status == 0
    await unknown.raw(bytes.fromhex("00000010 00000099 00000000 00000042"))
    nack = await unknown.recv()
    assert (nack.command, nack.status, nack.sequence) == ("generic_nack", 0x03, 0x42)


def smpplib_session(port: int, push: bytes, done: threading.Event, out: dict) -> None:
    """smpplib, blocking, in a worker thread: bind, submit a segmented push, await receipts."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    receipts, sent = [], []
    client.set_message_sent_handler(lambda pdu: sent.append(pdu.message_id.decode()))
    client.set_message_received_handler(lambda pdu: receipts.append(pdu.receipted_message_id))
    client.connect()
    try:
        client.bind_transceiver(system_id="mmsc", password="secret")
        segments = segment_push(push, reference=9)
        for seg in segments:
            client.send_message(source_addr="MMSC", destination_addr="+33600000002",
                                esm_class=smpplib.consts.SMPP_GSMFEAT_UDHI, data_coding=0x04,
                                registered_delivery=True, short_message=seg)
            client.read_once()  # submit_sm_resp
        while len(receipts) < len(segments):
            client.read_once()
        out["sent"], out["receipts"] = sent, receipts
        client.unbind()
    finally:
        client.disconnect()
        done.set()


async def test_smpplib_client_against_the_emulator(smsc: SmscEmulator) -> None:
    push = encode_push(notification_pdu(300), transaction_id=2)
    done, out = threading.Event(), {}
    await asyncio.wait_for(asyncio.to_thread(smpplib_session, smsc.port, push, done, out), 20)
    assert len(out["sent"]) == 3
    assert sorted(r.decode() if isinstance(r, bytes) else r for r in out["receipts"]) \
        == sorted(out["sent"])
    [sms] = smsc.received
    assert sms.payload == push and sms.ports == (2948, 9200)


async def test_the_emulator_keeps_the_latest_sms_only() -> None:
    smsc = SmscEmulator(keep=3)
    _, port = await smsc.start()
    client = SmppClient(SmppConfig(port=port, max_rate=1000))
    await client.start()
    try:
        for i in range(5):
            await client.send_text("+33600000001", f"text {i}")
        for _ in range(100):
            if smsc.submitted >= 5:
                break
            await asyncio.sleep(0.01)
        assert [sms.text for sms in smsc.received] == ["text 2", "text 3", "text 4"]
    finally:
        await client.close()
        await smsc.close()


async def submit_and_receipt(port: int, destination: str = "33600000001") -> tuple[str, Pdu]:
    """Bind, submit one SMS asking for a receipt, return its id and the receipt's PDU."""
    esme = await Esme.connect(port)
    await esme.call("bind_transceiver", system_id="mmsc", password="secret")
    resp = await esme.call("submit_sm", source_addr_ton=5, source_addr="MMSC",
                           dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination,
                           registered_delivery=1, short_message=b"hello")
    return resp.fields["message_id"], await esme.recv()


@pytest.mark.parametrize("style", ["standard", "tlv", "minimal"])
async def test_receipt_styles(style: str) -> None:
    smsc = SmscEmulator(ACCOUNTS, receipts=style)
    _, port = await smsc.start()
    try:
        message_id, deliver = await submit_and_receipt(port)
    finally:
        await smsc.close()
    text, tlvs = deliver.fields["short_message"], deliver.tlvs
    assert deliver.fields["esm_class"] == 0x04
    # from the handset to the ESME, in the forms they were submitted in
    assert (deliver.fields["source_addr_ton"], deliver.fields["source_addr_npi"],
            deliver.fields["source_addr"]) == (1, 1, "33600000001")
    assert (deliver.fields["dest_addr_ton"], deliver.fields["destination_addr"]) == (5, "MMSC")
    if style == "standard":
        assert parse_receipt(text).message_id == message_id
        assert text.startswith(f"id:{message_id} sub:001 dlvrd:001 submit date:".encode())
    elif style == "minimal":
        assert text == f"id:{message_id} stat:DELIVRD".encode() and tlvs == {}
    else:
        assert text == b""
    if style != "minimal":
        assert tlvs == {0x001E: message_id.encode() + b"\0", 0x0427: b"\x02"}


async def test_an_undeliverable_number() -> None:
    """Its SMS reach no subscriber and are receipted UNDELIV; the SMS keeps the addresses as
    they came, and the number as mmsc writes it."""
    smsc = SmscEmulator(ACCOUNTS, undeliverable=["+33600000009"])
    delivered: list[ReceivedSms] = []
    smsc.subscribe(delivered.append)
    _, port = await smsc.start()
    try:
        message_id, deliver = await submit_and_receipt(port, "33600000009")
        _, fine = await submit_and_receipt(port, "33600000001")
    finally:
        await smsc.close()
    assert (parse_receipt(deliver.fields["short_message"]).state, deliver.tlvs[0x0427]) == \
        ("UNDELIV", b"\x05")
    assert parse_receipt(fine.fields["short_message"]).state == "DELIVRD"
    assert [sms.destination for sms in smsc.received] == ["+33600000009", "+33600000001"]
    assert [sms.destination for sms in delivered] == ["+33600000001"]
    assert smsc.received[0].destination_smpp == SmppAddress(1, 1, "33600000009")
    assert smsc.received[0].source_smpp == SmppAddress(5, 0, "MMSC")


async def test_receipts_to_the_submitting_bind_or_spread() -> None:
    for spread in (False, True):
        smsc = SmscEmulator(ACCOUNTS, spread_receipts=spread)
        _, port = await smsc.start()
        try:
            first, second = await Esme.connect(port), await Esme.connect(port)
            for esme in (first, second):
                await esme.call("bind_transceiver", system_id="mmsc", password="secret")
            resp = await first.call("submit_sm", destination_addr="+1", registered_delivery=1,
                                    short_message=b"x")
            receiver = second if spread else first
            deliver = await receiver.recv()
            assert deliver.command == "deliver_sm"
            assert parse_receipt(deliver.fields["short_message"]).message_id == \
                resp.fields["message_id"]
            assert smsc.receipts_to_other_binds == int(spread)
        finally:
            await smsc.close()


def test_an_unknown_receipt_style_is_refused() -> None:
    with pytest.raises(ValueError):
        SmscEmulator(receipts="fancy")


def test_the_faults_switched_as_a_whole() -> None:
    """Each named fault sets the fields it stands for and reads back as itself; switching
    back to normal clears them all."""
    smsc = SmscEmulator()
    assert smsc.fault == "normal"
    smsc.fault = "throttling"
    assert (smsc.fault, smsc.throttle, smsc.latency, smsc.failing) == ("throttling", 1.0, 0.0,
                                                                       False)
    smsc.fault = "slow"
    assert (smsc.fault, smsc.throttle, smsc.latency) == ("slow", None, 12.0)
    smsc.fault = "failing"
    assert (smsc.fault, smsc.failing, smsc.latency) == ("failing", True, 0.0)
    smsc.fault = "normal"
    assert (smsc.fault, smsc.failing, smsc.throttle, smsc.latency) == ("normal", False, None, 0.0)
    with pytest.raises(ValueError, match="asleep"):
        smsc.fault = "asleep"
