"""The WSP push PDU and the SMS user data header around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmsc.pdu import decode
from wap_push.push import PUSH, decode_push, encode_push
from wap_push.sms import split_user_data_header
from wap_push.wsp import ContentType, WspDecodeError

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"


def test_mms_push_known_answer() -> None:
    """WAP-230-WSP §8.2.4.1: TID, type 0x06, HeadersLen 3, 0xBE (mms-message),
    0xAF 0x84 (X-Wap-Application-Id: x-wap-application:mms.ua)."""
    assert encode_push(b"\x8c\x82", transaction_id=7) == bytes.fromhex("0706 03 beaf84 8c82")


@pytest.mark.parametrize("name,tid,headers,size", [
    ("mmsd-wap-push-1.bin", 1, [("X-Wap-Application-Id", 4), ("Push-Flag", 6)], 68),
    ("mmsd-wap-push-2.bin", 0, [("X-Wap-Application-Id", 4), ("Content-Length", 92)], 93),
    ("pymessaging-wap-push-1.bin", 1, [("X-Wap-Application-Id", 4)], 145),
])
def test_push_vectors(name: str, tid: int, headers: list, size: int) -> None:
    push = decode_push((VECTORS / name).read_bytes())
    assert (push.transaction_id, push.pdu_type, push.headers, len(push.data)) == \
        (tid, PUSH, headers, size)
    assert push.is_mms and decode(push.data).message_type.label == "m-notification-ind"


def test_mmsd_push_carries_the_mmsd_notification() -> None:
    push = decode_push((VECTORS / "mmsd-wap-push-1.bin").read_bytes())
    assert bytes(push.data) == (VECTORS / "mmsd-m-notification-ind-1.bin").read_bytes()


def test_service_indication_is_not_mms() -> None:
    push = decode_push((VECTORS / "pymessaging-wap-push-si-1.bin").read_bytes())
    assert push.content_type == ContentType("application/vnd.wap.sic", {"charset": "utf-8"})
    assert not push.is_mms


def test_pymessaging_segments_reassemble_to_the_push() -> None:
    """The SMS-DELIVER TPDUs carry the push in two segments; their user data (after the UDH)
    concatenate to the push PDU. The TPDU header is fixed-size here: SMSC address (8 octets),
    first octet, originator address, PID, DCS, SCTS (7), UDL."""
    payloads = []
    for suffix in ("1a", "1b"):
        tpdu = (VECTORS / f"pymessaging-sms-deliver-wap-push-{suffix}.bin").read_bytes()
        smsc_len = tpdu[0]
        pos = 1 + smsc_len + 1
        oa_digits = tpdu[pos]
        pos += 2 + (oa_digits + 1) // 2 + 2 + 7 + 1
        udh, payload = split_user_data_header(tpdu[pos:])
        assert udh.ports == (2948, 9200)
        payloads.append((udh.concatenation, payload))
    assert [c for c, _ in payloads] == [(40846, 2, 1), (40846, 2, 2)]
    assert b"".join(p for _, p in payloads) == \
        (VECTORS / "pymessaging-wap-push-1.bin").read_bytes()


def test_user_data_header_refuses_garbage() -> None:
    assert split_user_data_header(b"") is None
    assert split_user_data_header(b"\x09\x05\x04") is None           # UDHL beyond the data
    assert split_user_data_header(b"\x03\x05\x04\x0b") is None       # IE overruns the UDH


@pytest.mark.parametrize("octets,reason", [
    (b"", "end of data"),
    (b"\x01\x40\x00", "not a push"),
    (b"\x01\x06\x05\xbe", "exceeds"),
    (b"\x01\x06\x00", "without a content type"),
])
def test_malformed_push(octets: bytes, reason: str) -> None:
    with pytest.raises(WspDecodeError, match=reason):
        decode_push(octets)


def test_push_with_initiator_uri_round_trips() -> None:
    """X-Wap-Initiator-URI (WSP header 0x31, a Text-string) names who sent the push."""
    octets = encode_push(b"\x8c\x82", transaction_id=9, headers=[
        ("X-Wap-Application-Id", 4), ("X-Wap-Initiator-URI", "http://mmsc.test/")])
    assert octets == bytes.fromhex("0906 16 beaf84 b1") + b"http://mmsc.test/\0" + b"\x8c\x82"
    push = decode_push(octets)
    assert push.headers == [("X-Wap-Application-Id", 4),
                            ("X-Wap-Initiator-URI", "http://mmsc.test/")]
    assert (push.transaction_id, bytes(push.data)) == (9, b"\x8c\x82")
