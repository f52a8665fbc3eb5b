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


# -- at the boundaries (each of these killed a mutant that survived; see docs/testing.md) ---------


@pytest.mark.parametrize("ref16,udh,fill,length", [
    (False, "050003000201", 1, 7 + 153),   # 6 octets of UDH + 1 fill bit = 7 septets
    (True, "0608040000" "0201", 0, 8 + 153),  # 7 octets = 8 septets, no fill
])
def test_concatenated_gsm_text_with_its_header(ref16: bool, udh: str, fill: int,
                                               length: int) -> None:
    """161 characters: two segments, each with its concatenation UDH (reference 0 unless
    given), the text after the fill bits, TP-UDL in septets counting the UDH; and back."""
    first, second = encode_text("a" * 161, ref16=ref16)
    assert first.udh == bytes.fromhex(udh) and first.text == "a" * 153
    assert fill_bits_after(len(first.udh)) == fill
    assert first.user_data_length == length and second.text == "a" * 8
    got_udh, text = decode_text(first.user_data, first.user_data_length, DCS_GSM7, True)
    assert text == "a" * 153 and got_udh is not None
    assert got_udh.concatenation == (0, 2, 1)
    assert decode_text(second.user_data, second.user_data_length, DCS_GSM7, True)[1] == "a" * 8


def test_concatenated_ucs2_text_with_its_header() -> None:
    """71 UCS-2 characters: 67 and 4; TP-UDL in octets, UDH included."""
    first, second = encode_text("Ж" * 71, reference=9)
    assert first.udh == bytes.fromhex("050003090201") and first.text == "Ж" * 67
    assert first.user_data_length == 6 + 134 and second.user_data_length == 6 + 8
    assert decode_text(first.user_data, first.user_data_length, DCS_UCS2, True)[1] == "Ж" * 67
    (single,) = encode_text("Жж")
    assert single.user_data_length == 4 and single.user_data == "Жж".encode("utf-16-be")


def test_text_decoding_refusals() -> None:
    with pytest.raises(ValueError, match="^malformed user data header$"):
        decode_text(b"\x09\x00\x03", 3, DCS_GSM7, True)
    with pytest.raises(ValueError, match="not text"):
        decode_text(b"abc", 3, 0x04, False)
    # UCS-2 cut in the middle of a character, or a lone surrogate: replaced, never an error
    assert decode_text(b"\x00a\x00", 3, DCS_UCS2, False) == (None, "a\ufffd")
    assert decode_text(b"\xd8\x00\x00a", 4, DCS_UCS2, False) == (None, "\ufffda")


def test_an_unassigned_extension_code_reads_as_a_space() -> None:
    """TS 23.038 §6.2.1.1: ESC before a code the extension table does not assign."""
    assert sms.gsm7_text([0x1B, 0x41, 0x41]) == " A"


@pytest.mark.parametrize("text,segments", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 153 * 2, 2), ("a" * 307, 3),
    ("Ж" * 70, 1), ("Ж" * 71, 2), ("€" * 80, 1), ("€" * 80 + "a", 2),
])
def test_segment_counts_at_the_limits(text: str, segments: int) -> None:
    plan = plan_text(text)
    assert plan.segments == segments == len(split_text(text))
    assert isinstance(plan.units, int)


def test_plan_reasons_word_for_word() -> None:
    assert plan_text("hello").reason == "GSM 7-bit default alphabet: 5 of 160 in one SMS"
    assert plan_text("a" * 160).reason == "GSM 7-bit default alphabet: 160 of 160 in one SMS"
    assert plan_text("a€b€").reason == \
        "GSM 7-bit default alphabet (2 extension characters counted twice): 6 of 160 in one SMS"
    assert plan_text("Жa" * 40).reason == \
        "UCS-2, because 'Ж' (U+0416) is not in the GSM 7-bit alphabet: 80 > 70, so 2 " \
        "segments of at most 67"


def test_push_segmentation_limits() -> None:
    """A PDU that fills the single SMS exactly stays single; the reference is 0..255
    (0..65535 with 16-bit references); no room for data, and more than 255 segments, are
    refused."""
    assert len(segment_push(bytes(128 - 7), reference=0)) == 1
    assert len(segment_push(bytes(128 - 6), reference=0)) == 2
    segment_push(bytes(200), reference=0xFF)
    segment_push(bytes(200), reference=0xFFFF, ref16=True)
    for reference, ref16 in ((0x100, False), (0x10000, True), (-1, False)):
        with pytest.raises(ValueError, match="^concatenation reference out of range$"):
            segment_push(bytes(200), reference=reference, ref16=ref16)
    assert len(segment_push(bytes(200), 0, max_user_data=13)) == 200  # 12 of UDH + 1 of data
    with pytest.raises(ValueError, match="no room for data in 12 octets"):
        segment_push(bytes(200), 0, max_user_data=12)
    assert len(segment_push(bytes(255 * 116), 0)) == 255
    with pytest.raises(ValueError, match="256 segments exceed the 255"):
        segment_push(bytes(255 * 116 + 1), 0)


def test_user_data_header_limits() -> None:
    """UDHL is one octet: elements of 253 data octets fit (2 + 253 = 255), 254 do not."""
    assert sms.UserDataHeader(((0x20, bytes(253)),)).encode()[0] == 255
    with pytest.raises(ValueError, match="^user data header too long$"):
        sms.UserDataHeader(((0x20, bytes(254)),)).encode()
    with pytest.raises(ValueError, match="user data header too long"):
        sms.UserDataHeader(((0x20, bytes(256)),)).encode()
    assert split_user_data_header(b"\x02\x20\x00x") == (sms.UserDataHeader(((0x20, b""),)), b"x")
    assert split_user_data_header(b"\x01\x20x") is None  # UDHL 1 cannot hold an element
    assert split_user_data_header(b"\x03\x20\x00\x21") is None  # an element cut short
    assert split_user_data_header(b"\x03\x20\x00") is None  # shorter than UDHL says
    assert split_user_data_header(b"\x04\x20\x02\x41") is None  # element past the end


def test_reassembly_edges() -> None:
    """A 'concatenation' of one segment is whole at once; segments are kept for 300 s by
    default, dropped only after that; a malformed UDH is refused."""
    r = Reassembler()
    assert r.feed("a", bytes.fromhex("0500030a0101") + b"x", now=0) is not None
    assert r.feed("a", bytes.fromhex("0500030b0201") + b"y", now=0) is None
    assert r.expire(300.0) == 0 and r.pending == 1
    assert r.expire(300.001) == 1 and r.pending == 0
    assert r.feed("a", bytes.fromhex("0500030c0201") + b"1", now=1000) is None
    whole = r.feed("a", bytes.fromhex("0500030c0202") + b"2", now=1000)
    assert whole is not None and whole[1] == b"12"
    with pytest.raises(ValueError, match="^malformed user data header$"):
        r.feed("a", b"\x09\x00", now=1000)
