"""Mobile-originated SMS: the sans-IO decoder and reassembler (wap_push/mo.py), and the SMPP
client's answers to real deliver_sm from the SMSC emulator."""

from __future__ import annotations

import asyncio
import logging

import pytest

from wap_push.mo import MoError, MoReassembler, MoSegment, decode
from wap_push.smpp import (
    STATUS_CODES, TLV_MESSAGE_PAYLOAD, TLV_SAR_MSG_REF_NUM, TLV_SAR_SEGMENT_SEQNUM,
    TLV_SAR_TOTAL_SEGMENTS,
)
from wap_push.smpp_client import SmppClient, SmppConfig
from wap_push.sms import gsm7_septets
from wap_push.smsc import SmscEmulator

A, B = "+33600000001", "36000"


def gsm(text: str) -> bytes:
    return bytes(gsm7_septets(text) or [])


def udh8(ref: int, total: int, seq: int) -> bytes:
    return bytes([5, 0, 3, ref, total, seq])


def udh16(ref: int, total: int, seq: int) -> bytes:
    return bytes([6, 8, 4]) + ref.to_bytes(2, "big") + bytes([total, seq])


def seg(data: bytes, *, udh: bool = False, coding: int = 0, source: str = A,
        sar: tuple[int, int, int] | None = None) -> MoSegment:
    return MoSegment(source, B, coding, data, 0x40 if udh else 0, sar=sar)


def test_single_sms_in_each_coding() -> None:
    mo = MoReassembler()
    assert mo.feed(seg(gsm("Stop ")), 0).text == "Stop "
    assert mo.feed(seg("Arrêt 😀".encode("utf-16-be"), coding=8), 0).text == "Arrêt 😀"
    assert mo.feed(seg("Arrêt".encode("latin-1"), coding=3), 0).text == "Arrêt"
    assert mo.feed(seg(gsm("{x}"), coding=0xF1), 0).text == "{x}"


def test_gsm_escapes_and_the_extension_table() -> None:
    assert decode(0, gsm("a€[b]|~^\\")) == "a€[b]|~^\\"
    assert decode(0, bytes([0x1B, 0x65, 0x00])) == "€@"


def test_udh_8_bit_reference_out_of_order_with_a_duplicate() -> None:
    mo = MoReassembler()
    parts = [udh8(7, 3, n) + gsm(t) for n, t in ((1, "one "), (2, "two "), (3, "three"))]
    assert mo.feed(seg(parts[2], udh=True), 0) is None
    assert mo.feed(seg(parts[0], udh=True), 1) is None
    assert mo.feed(seg(parts[0], udh=True), 2) is None  # repeated: ignored
    sms = mo.feed(seg(parts[1], udh=True), 3)
    assert sms is not None and sms.text == "one two three" and sms.segments == 3
    assert mo.pending == 0


def test_udh_16_bit_reference_and_ucs2_with_an_emoji_cut_between_segments() -> None:
    octets = "ok 😀!".encode("utf-16-be")  # the emoji's surrogate pair is octets 6..9
    mo = MoReassembler()
    assert mo.feed(seg(udh16(0x1234, 2, 1) + octets[:8], udh=True, coding=8), 0) is None
    sms = mo.feed(seg(udh16(0x1234, 2, 2) + octets[8:], udh=True, coding=8), 0)
    assert sms is not None and sms.text == "ok 😀!"


def test_escape_cut_between_segments() -> None:
    mo = MoReassembler()
    assert mo.feed(seg(udh8(1, 2, 1) + gsm("price ") + b"\x1b", udh=True), 0) is None
    assert mo.feed(seg(udh8(1, 2, 2) + b"\x65" + gsm("5"), udh=True), 0).text == "price €5"


def test_sar_tlvs() -> None:
    mo = MoReassembler()
    assert mo.feed(seg(gsm("world"), sar=(300, 2, 2)), 0) is None
    assert mo.feed(seg(gsm("hello "), sar=(300, 2, 1)), 0).text == "hello world"


def test_message_payload_when_short_message_is_empty() -> None:
    sms = MoReassembler().feed(MoSegment(A, B, 0, b"", message_payload=gsm("long")), 0)
    assert sms is not None and sms.text == "long"


def test_same_reference_from_two_handsets_is_two_messages() -> None:
    mo = MoReassembler()
    assert mo.feed(seg(udh8(9, 2, 1) + gsm("a"), udh=True, source=A), 0) is None
    assert mo.feed(seg(udh8(9, 2, 2) + gsm("z"), udh=True, source="+33600000002"), 0) is None
    assert mo.feed(seg(udh8(9, 2, 2) + gsm("b"), udh=True, source=A), 0).text == "ab"
    assert mo.pending == 1


def test_timeout_and_bound_drop_incomplete_messages() -> None:
    mo = MoReassembler(timeout=10, max_pending=2)
    mo.feed(seg(udh8(1, 2, 1) + gsm("a"), udh=True), 0)
    assert mo.feed(seg(udh8(1, 2, 2) + gsm("b"), udh=True), 11) is None  # the first expired
    assert mo.pending == 1 and mo.dropped == 1
    mo.feed(seg(udh8(2, 2, 1) + gsm("c"), udh=True), 12)
    mo.feed(seg(udh8(3, 2, 1) + gsm("d"), udh=True), 12)
    assert mo.pending == 2 and mo.dropped == 2  # room for two: the oldest went


@pytest.mark.parametrize("data, udh, sar, coding", [
    (bytes([9, 0, 3, 1, 2, 1]) + b"ab", True, None, 0),  # UDH length past the data
    (bytes([5, 0, 3, 1]), True, None, 0),  # element past the header
    (udh8(1, 2, 0) + b"ab", True, None, 0),  # segment 0
    (udh8(1, 2, 3) + b"ab", True, None, 0),  # segment 3 of 2
    (b"ab", False, (1, 0, 1), 0),  # total 0
    (b"ab", False, (1, 1, 2), 0),  # segment 2 of 1
    (b"\x80", False, None, 0),  # not a septet
    (b"abc", False, None, 8),  # odd UCS-2
    (b"ab", False, None, 4),  # binary, not a text
])
def test_broken_segments_are_refused_permanently(data: bytes, udh: bool,
                                                 sar: tuple[int, int, int] | None,
                                                 coding: int) -> None:
    with pytest.raises(MoError) as caught:
        MoReassembler().feed(seg(data, udh=udh, sar=sar, coding=coding), 0)
    assert caught.value.status == STATUS_CODES["ESME_RX_P_APPN"]


# -- over SMPP: the client answers each deliver_sm with its status ---------------------------


@pytest.fixture
async def link():  # type: ignore[no-untyped-def]
    smsc = SmscEmulator()
    host, port = await smsc.start()
    texts: list = []
    client = SmppClient(SmppConfig(host=host, port=port), on_message=texts.append,
                        serves=lambda number: number == B)
    await client.start()
    yield smsc, client, texts
    await client.close()
    await smsc.close()


async def _until(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("concatenation", ["udh8", "udh16", "sar"])
async def test_long_mo_sms_over_smpp_is_joined(link, concatenation: str) -> None:  # type: ignore[no-untyped-def]
    smsc, _client, texts = link
    text = "Bonjour, " + "je voudrais des nouvelles de ma commande. " * 6 + "€ 😀"
    statuses = await smsc.send_mo(A, B, text, concatenation=concatenation)
    assert len(statuses) > 1 and set(statuses) == {0}
    await _until(lambda: texts)
    assert [(t.source, t.destination, t.text) for t in texts] == [(A, B, text)]


async def test_broken_udh_and_unknown_number_get_their_status_and_a_log_line(
        link, caplog) -> None:  # type: ignore[no-untyped-def]
    smsc, client, texts = link
    with caplog.at_level(logging.WARNING, logger="wap_push.smpp_client"):
        broken = await smsc.deliver(A, B, bytes([9, 0, 3, 1, 2, 1]) + b"ab", esm_class=0x40)
        unknown = await smsc.deliver(A, "36999", gsm("hello"))
        payload = await smsc.deliver(A, B, tlvs={TLV_MESSAGE_PAYLOAD: gsm("still here")})
    assert broken == STATUS_CODES["ESME_RX_P_APPN"]
    assert unknown == STATUS_CODES["ESME_RINVDSTADR"]
    assert payload == 0 and client.connected
    await _until(lambda: texts)
    assert [t.text for t in texts] == ["still here"]
    lines = [r.getMessage() for r in caplog.records]
    assert any("36999" in line and "no service" in line for line in lines)
    assert any("ESME_RX_P_APPN" in line for line in lines)


async def test_sar_segment_zero_over_smpp(link) -> None:  # type: ignore[no-untyped-def]
    smsc, _client, _texts = link
    status = await smsc.deliver(A, B, gsm("x"), tlvs={
        TLV_SAR_MSG_REF_NUM: b"\x00\x01", TLV_SAR_TOTAL_SEGMENTS: b"\x02",
        TLV_SAR_SEGMENT_SEQNUM: b"\x00"})
    assert status == STATUS_CODES["ESME_RX_P_APPN"]
