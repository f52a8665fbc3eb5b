"""SMS user data: UDH, push segmentation and reassembly, GSM 03.38 text (TS 23.038/23.040)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wap_push import sms
from wap_push.sms import (
    DCS_GSM7, DCS_UCS2, GSM7_BASIC, GSM7_EXTENSION, Reassembler, decode_text, encode_text,
    fill_bits_after, gsm7_septets, pack_septets, plan_text, segment_push, split_text,
    split_user_data_header, unpack_septets,
)

H = bytes.fromhex


def test_alphabet_tables() -> None:
    assert len(GSM7_BASIC) == 128 and len(set(GSM7_BASIC)) == 128
    assert GSM7_BASIC[0x00] == "@" and GSM7_BASIC[0x11] == "_" and GSM7_BASIC[0x7F] == "à"
    assert gsm7_septets("€") == [0x1B, 0x65] and gsm7_septets("{}") == [0x1B, 0x28, 0x1B, 0x29]
    assert gsm7_septets("Привет") is None
    assert set(GSM7_EXTENSION) == set("\f^{}\\[~]|€")


def test_single_push_udh_known_answer() -> None:
    """TS 23.040 §9.2.3.24.4: UDHL 6, IEI 0x05, IEDL 4, ports 2948 (0x0B84) and 9200 (0x23F0)."""
    assert segment_push(b"\x01\x06", reference=0) == [H("0605040b8423f0") + b"\x01\x06"]


def test_concatenated_push_known_answer() -> None:
    """Ports then IEI 0x00 (ref, total, sequence) in every segment; 16-bit refs use IEI 0x08."""
    segs = segment_push(bytes(range(200)), reference=0xA7, max_user_data=128)
    assert [s[:12] for s in segs] == [H("0b05040b8423f00003a70201"), H("0b05040b8423f00003a70202")]
    assert [len(s) for s in segs] == [128, 12 + 200 - 116]
    wide = segment_push(bytes(200), reference=0x1234, ref16=True)
    assert wide[0][:13] == H("0c05040b8423f008041234" "0201")


@given(st.binary(min_size=0, max_size=3000), st.integers(24, 140), st.booleans(),
       st.integers(0, 255))
def test_push_segments_fit_and_reassemble(pdu: bytes, limit: int, ref16: bool, ref: int) -> None:
    segs = segment_push(pdu, ref, max_user_data=limit, ref16=ref16)
    assert all(len(s) <= limit for s in segs)
    assert all(split_user_data_header(s)[0].ports == (2948, 9200) for s in segs)
    r = Reassembler()
    results = [r.feed("+33600000001", s, now=0.0) for s in reversed(segs)]
    assert results[:-1] == [None] * (len(segs) - 1)
    assert results[-1][1] == pdu and r.pending == 0


def test_push_refuses_impossible_limits() -> None:
    with pytest.raises(ValueError):
        segment_push(bytes(200), 0, max_user_data=12)
    with pytest.raises(ValueError):
        segment_push(bytes(100_000), 0)
    with pytest.raises(ValueError):
        segment_push(bytes(200), 256)


def test_reassembly_duplicates_strangers_and_timeout() -> None:
    a1, a2, a3 = segment_push(bytes(range(250)), reference=9, max_user_data=100)
    r = Reassembler(timeout=60)
    assert r.feed("A", a2, now=0) is None
    assert r.feed("A", a2, now=1) is None              # a duplicate changes nothing
    assert r.feed("B", a1, now=2) is None              # same reference, another sender
    assert r.feed("A", a3, now=3) is None
    assert r.feed("A", a1, now=4)[1] == bytes(range(250))
    assert r.pending == 1
    assert r.feed("C", a1, now=100) is None            # B's partial message has expired
    assert r.pending == 1 and r.expire(now=1000) == 1 and r.pending == 0
    assert r.feed("A", b"plain", now=0, has_udh=False) == (None, b"plain")
    with pytest.raises(ValueError):
        r.feed("A", b"\x09\x05", now=0)


def test_septet_packing_known_answers() -> None:
    # TS 23.038 §6.1.2.1.1: "hellohello" in 9 octets
    septets = gsm7_septets("hellohello")
    assert pack_septets(septets) == H("e8329bfd4697d9ec37")
    assert unpack_septets(H("e8329bfd4697d9ec37"), 10) == septets
    # after a 6-octet concatenation UDH the text starts after 1 fill bit
    assert fill_bits_after(6) == 1 and fill_bits_after(7) == 0 and fill_bits_after(12) == 2
    assert pack_septets([0x7F], fill_bits=1) == H("fe")


@given(st.lists(st.integers(0, 127), max_size=200), st.integers(0, 6))
def test_packing_round_trip(septets: list[int], fill: int) -> None:
    assert unpack_septets(pack_septets(septets, fill), len(septets), fill) == septets


@pytest.mark.parametrize("text,coding,units,segments", [
    ("a" * 160, DCS_GSM7, 160, 1),
    ("a" * 161, DCS_GSM7, 161, 2),
    ("a" * 306, DCS_GSM7, 306, 2),
    ("a" * 307, DCS_GSM7, 307, 3),
    ("€" * 80, DCS_GSM7, 160, 1),                      # extension characters count twice
    ("€" * 81, DCS_GSM7, 162, 2),
    ("é" * 160, DCS_GSM7, 160, 1),                     # é is in the default alphabet
    ("П" * 70, DCS_UCS2, 70, 1),
    ("П" * 71, DCS_UCS2, 71, 2),
    ("a" * 159 + "П", DCS_UCS2, 160, 3),               # one Cyrillic letter turns it all UCS-2
    ("😀" * 35, DCS_UCS2, 70, 1),                      # astral characters take two units
])
def test_plan_text(text: str, coding: int, units: int, segments: int) -> None:
    plan = plan_text(text)
    assert (plan.data_coding, plan.units, plan.segments) == (coding, units, segments)
    assert len(encode_text(text)) == segments


def test_plan_says_why() -> None:
    assert "'П' (U+041F) is not in the GSM 7-bit alphabet" in plan_text("Привет").reason
    assert "1 extension character counted twice" in plan_text("5 €").reason


def test_escape_and_surrogate_pairs_are_never_split() -> None:
    assert split_text("a" * 152 + "€" + "b" * 7) == ["a" * 152, "€bbbbbbb"]      # 161 septets
    assert split_text("a" * 66 + "😀" + "П" * 3) == ["a" * 66, "😀ППП"]          # 71 units


def test_concatenated_text_known_answer() -> None:
    first, second = encode_text("a" * 161, reference=0x42)
    assert first.udh == H("050003420201") and second.udh == H("050003420202")
    assert (first.user_data_length, len(first.user_data)) == (160, 140)  # 7 septets of UDH + 153
    assert (second.user_data_length, len(second.user_data)) == (15, 6 + 8)  # 1 + 56 bits


texts = st.text(st.sampled_from(GSM7_BASIC.replace("\x1b", "") + "".join(GSM7_EXTENSION)
                                + "ПЖ😀ひ"), max_size=400)


@given(texts)
def test_text_round_trip(text: str) -> None:
    segments = encode_text(text, reference=3)
    assert all(len(s.user_data) <= sms.MAX_USER_DATA for s in segments)
    decoded = [decode_text(s.user_data, s.user_data_length, s.data_coding, bool(s.udh))
               for s in segments]
    assert "".join(t for _, t in decoded) == text
    assert len(segments) == plan_text(text).segments
