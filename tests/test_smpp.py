"""SMPP 3.4 PDU codec (sans-IO): known answers from the PDU layouts of §4, framing, receipts."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wap_push.smpp import (
    COMMANDS, Framer, Pdu, Receipt, SmppAddress, SmppError, decode_pdu, encode_pdu,
    format_receipt, from_smpp_address, message_id_keys, parse_receipt, read_receipt,
    retry_decision, status_name, to_smpp_address,
)

H = bytes.fromhex


def test_enquire_link_known_answer() -> None:
    # §4.11.1: header only: command_length 16, command_id 0x15, status 0, sequence
    assert encode_pdu(Pdu("enquire_link", 1)) == H("00000010 00000015 00000000 00000001")


def test_bind_transmitter_known_answer() -> None:
    # §4.1.1: system_id, password, system_type (C-Octet Strings), interface_version 0x34,
    # addr_ton, addr_npi, address_range
    octets = H("0000001c 00000002 00000000 00000007") + b"sys\0pw\0\0\x34\x00\x00\0"
    pdu = Pdu("bind_transmitter", 7, fields={"system_id": "sys", "password": "pw",
                                             "interface_version": 0x34})
    assert encode_pdu(pdu) == octets
    assert decode_pdu(octets).fields == {
        "system_id": "sys", "password": "pw", "system_type": "", "interface_version": 0x34,
        "addr_ton": 0, "addr_npi": 0, "address_range": ""}


def test_submit_sm_with_udh_and_tlv() -> None:
    pdu = Pdu("submit_sm", 3, fields={"source_addr": "1234", "destination_addr": "+336",
                                      "esm_class": 0x40, "data_coding": 0x04,
                                      "registered_delivery": 1,
                                      "short_message": H("0605040b8423f0") + b"\x01\x06"},
              tlvs={0x020A: b"\x23\xf0"})
    octets = encode_pdu(pdu)
    assert octets[16:18] == b"\x00\x00" and octets[-6:] == H("020a 0002 23f0")
    again = decode_pdu(octets)
    assert again.fields["short_message"] == pdu.fields["short_message"]
    assert again.tlvs == {0x020A: b"\x23\xf0"} and again.fields["esm_class"] == 0x40


def test_error_responses_have_no_body() -> None:
    """§4.4.2: submit_sm_resp carries no body when command_status is not zero."""
    resp = Pdu("submit_sm", 9).response(0x58)
    assert encode_pdu(resp) == H("00000010 80000004 00000058 00000009")
    assert decode_pdu(encode_pdu(resp)).status == 0x58


@pytest.mark.parametrize("octets,status", [
    (H("00000010 00000099 00000000 00000001"), 0x03),                       # unknown command
    (H("00000014 00000004 00000000 00000001") + b"abcd", 0x02),              # no NUL
    (H("00000012 00000004 00000000 00000001") + b"\0\0", 0x02),              # body ends early
    (H("00000011 80000004 00000000 00000001") + b"\x01", 0x02),              # unterminated id
])
def test_malformed_bodies(octets: bytes, status: int) -> None:
    with pytest.raises(SmppError) as info:
        decode_pdu(octets)
    assert info.value.status == status and info.value.sequence == 1


def test_framer_splits_and_refuses_lost_framing() -> None:
    framer = Framer()
    two = encode_pdu(Pdu("enquire_link", 1)) + encode_pdu(Pdu("unbind", 2))
    assert framer.feed(two[:10]) == []
    assert [decode_pdu(f).command for f in framer.feed(two[10:])] == ["enquire_link", "unbind"]
    with pytest.raises(SmppError) as info:
        Framer().feed(H("00000004 00000015 00000000 00000001"))
    assert info.value.fatal and info.value.status == 0x02


def test_status_table() -> None:
    assert status_name(0x58) == "ESME_RTHROTTLED" and retry_decision(0x58) == "throttle"
    assert retry_decision(0x14) == "throttle" and retry_decision(0x08) == "retry"
    assert retry_decision(0x0B) == "permanent" and retry_decision(0x04) == "rebind"
    assert retry_decision(0x401) == "retry" and status_name(0x12345) == "0x00012345"


def test_receipt_text() -> None:
    """Appendix B: id, sub, dlvrd, submit date, done date, stat, err, text."""
    when = datetime(2026, 11, 22, 10, 30)
    text = format_receipt(Receipt("0A1B", "DELIVRD", "000", when, when, "hello"))
    assert text == (b"id:0A1B sub:001 dlvrd:001 submit date:2611221030 done date:2611221030 "
                    b"stat:DELIVRD err:000 text:hello")
    assert parse_receipt(text) == Receipt("0A1B", "DELIVRD", "000", when, when, "hello")
    assert parse_receipt(b"just a message") is None


@pytest.mark.parametrize("address,ton,npi,wire", [
    ("+33600000001", 1, 1, "33600000001"),   # E.164: international, ISDN plan, no "+"
    ("+1", 1, 1, "1"),
    ("36180", 3, 0, "36180"),                # a short code: network specific
    ("12345678", 3, 0, "12345678"),
    ("0612345678", 2, 1, "0612345678"),      # a national number
    ("MMSC", 5, 0, "MMSC"),                  # a sender name: alphanumeric
    ("Shop+1", 5, 0, "Shop+1"),
    ("", 0, 0, ""),
])
def test_address_rules(address: str, ton: int, npi: int, wire: str) -> None:
    assert to_smpp_address(address) == SmppAddress(ton, npi, wire)


def test_address_settings_replace_the_rules() -> None:
    assert to_smpp_address("+33600000001", npi=0) == SmppAddress(1, 0, "33600000001")
    # a TON other than international: the number goes as written, "+" included
    assert to_smpp_address("+33600000001", ton=0) == SmppAddress(0, 1, "+33600000001")
    assert to_smpp_address("MMSC", ton=1, npi=1) == SmppAddress(1, 1, "MMSC")
    assert to_smpp_address("36180", ton=6, npi=1) == SmppAddress(6, 1, "36180")


def test_addresses_that_arrive() -> None:
    assert from_smpp_address(1, "33600000001") == "+33600000001"
    assert from_smpp_address(1, "+33600000001") == "+33600000001"
    assert from_smpp_address(2, "0612345678") == "0612345678"
    assert from_smpp_address(5, "MMSC") == "MMSC"
    assert from_smpp_address(0, "+33600000001") == "+33600000001"


# Receipt texts in the styles of several SMSCs' documentation (written for these tests).
W = datetime
RECEIPT_STYLES = [
    # SMPP 3.4 Appendix B, all fields
    (b"id:0A1B2C sub:001 dlvrd:001 submit date:2611221030 done date:2611221031 stat:DELIVRD "
     b"err:000 text:Vous avez un MMS",
     Receipt("0A1B2C", "DELIVRD", "000", W(2026, 11, 22, 10, 30), W(2026, 11, 22, 10, 31),
             "Vous avez un MMS")),
    # a gateway without sub: and dlvrd:, a UUID as id
    (b"id:5f0c7a2e-3b1d-4e8a-9c6f-21d4b7e8a9f0 submit date:2611221030 done date:2611221030 "
     b"stat:DELIVRD err:000",
     Receipt("5f0c7a2e-3b1d-4e8a-9c6f-21d4b7e8a9f0", "DELIVRD", "000",
             W(2026, 11, 22, 10, 30), W(2026, 11, 22, 10, 30))),
    # seconds in the dates, a decimal id, an error
    (b"id:4294967297 sub:001 dlvrd:000 submit date:261122103005 done date:261122120000 "
     b"stat:UNDELIV err:027 text:",
     Receipt("4294967297", "UNDELIV", "027", W(2026, 11, 22, 10, 30, 5),
             W(2026, 11, 22, 12))),
    # four-digit years, capitalised field names, fields out of order
    (b"Stat:EXPIRED Err:000 Id:77aa submit date:20261122103005 Done Date:20261123103005",
     Receipt("77aa", "EXPIRED", "000", W(2026, 11, 22, 10, 30, 5),
             W(2026, 11, 23, 10, 30, 5))),
    # the minimal form, and spelled-out states
    (b"id:9 stat:DELIVRD", Receipt("9", "DELIVRD", "")),
    (b"id:10 stat:REJECTED err:0b", Receipt("10", "REJECTD", "0b")),
    (b"id:11 stat:5", Receipt("11", "UNDELIV", "")),
    # what follows text: is the message's start, never fields; unreadable dates left out
    (b"id:12 submit date:26-11-22 done date:2611221031 stat:DELIVRD err:000 "
     b"text:id:99 stat:UNDELIV",
     Receipt("12", "DELIVRD", "000", None, W(2026, 11, 22, 10, 31), "id:99 stat:UNDELIV")),
]


@pytest.mark.parametrize("text,receipt", RECEIPT_STYLES)
def test_receipt_styles(text: bytes, receipt: Receipt) -> None:
    assert parse_receipt(text) == receipt


@pytest.mark.parametrize("text", [
    b"", b"just a message", b"id:", b"stat:DELIVRD err:000", b"id:12 err:000",
    b"\xff\x00\x13id\x00stat", b"text:id:1 stat:DELIVRD", bytes(range(256)),
])
def test_garbage_is_no_receipt(text: bytes) -> None:
    assert parse_receipt(text) is None
    assert read_receipt(text) is None


def test_receipt_tlvs_lead() -> None:
    """receipted_message_id (§5.3.2.12) and message_state (§5.3.2.35) alone are a receipt;
    with a text, they win; network_error_code (§5.3.2.31) stands in for a missing err."""
    assert read_receipt(b"", "0A1B\x00", 2) == Receipt("0A1B", "DELIVRD", "000")
    assert read_receipt(b"", "0A1B", 5, b"\x03\x00\x1b") == Receipt("0A1B", "UNDELIV", "027")
    text = b"id:1 submit date:2611221030 done date:2611221031 stat:ENROUTE err:000 text:x"
    both = read_receipt(text, "0A1B", 8)
    assert (both.message_id, both.state, both.error, both.text) == ("0A1B", "REJECTD", "000", "x")
    assert read_receipt(b"id:5 stat:DELIVRD", None, None) == Receipt("5", "DELIVRD", "000")
    assert read_receipt(b"", "0A1B", None) is None  # which message, but not what became of it
    assert read_receipt(b"", None, 2) is None


def test_receipt_outcomes() -> None:
    outcomes = {s: Receipt("1", s).outcome for s in
                ("DELIVRD", "UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN", "ENROUTE",
                 "ACCEPTD")}
    assert outcomes == {"DELIVRD": "delivered", "UNDELIV": "undeliverable",
                        "REJECTD": "undeliverable", "EXPIRED": "undeliverable",
                        "DELETED": "undeliverable", "UNKNOWN": "unknown", "ENROUTE": None,
                        "ACCEPTD": None}


def test_message_id_keys() -> None:
    """Stored under the first key; a receipt's id is looked up under all of them."""
    assert message_id_keys("0000000A") == ("a", "10")
    assert message_id_keys("10") == ("10", "a", "16")  # decimal 10 is hex a, hex 10 is 16
    assert message_id_keys("4294967297")[:2] == ("4294967297", "100000001")
    assert message_id_keys("5F0C-7A2E") == ("5f0c-7a2e",)
    assert message_id_keys("0") == ("0",) and message_id_keys("") == ()
    # qualified by its SMSC route (wap_push/routes.py): the qualifier stays in front
    assert message_id_keys("b:0000000A") == ("b:a", "b:10")
    assert message_id_keys("B:10") == ("b:10", "b:a", "b:16")


@given(st.sampled_from(sorted(COMMANDS)), st.integers(0, 2**31 - 1),
       st.text("abcdefghij0123456789+", max_size=15), st.binary(max_size=254),
       st.dictionaries(st.integers(0x1400, 0x14FF), st.binary(max_size=8), max_size=3))
def test_round_trip(command: str, sequence: int, address: str, message: bytes,
                    tlvs: dict[int, bytes]) -> None:
    layout = dict(COMMANDS[command][1])
    fields = {k: v for k, v in {"system_id": address, "source_addr": address,
                                "short_message": message, "message_id": address}.items()
              if k in layout}
    pdu = Pdu(command, sequence, fields=fields, tlvs=tlvs if layout else {})
    again = decode_pdu(encode_pdu(pdu))
    assert (again.command, again.sequence, again.tlvs) == (command, sequence, pdu.tlvs)
    assert {k: again.fields[k] for k in fields} == fields


def test_decoder_fuzz() -> None:
    """Random, truncated and mutated frames: a Pdu or an SmppError, nothing else."""
    rng = random.Random(5)
    seeds = [encode_pdu(Pdu("submit_sm", 1, fields={"short_message": b"x" * 40},
                            tlvs={0x0424: b"y" * 10})),
             encode_pdu(Pdu("bind_transceiver", 2, fields={"system_id": "a"}))]
    for _ in range(5000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(16, len(data))] = rng.randrange(256)
        cut = rng.randrange(16, len(data) + 1)
        frame = bytes(data[:cut])
        frame = len(frame).to_bytes(4, "big") + frame[4:]
        try:
            decode_pdu(frame)
        except SmppError:
            pass
