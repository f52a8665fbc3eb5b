"""The MM model and its conversions: MM ⇄ MIME ⇄ MMS binary, charsets, RFC 2047, leniency."""

from __future__ import annotations

import io
from email import message_from_bytes
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from mmsc.message import Envelope, Message, MessagePart
from mmsc.mime import POLICY, _header_line, content_to_mime, from_mime, to_mime
from mmsc.mms_body import from_pdu, to_pdu
from mmsc.pdu import LAYOUTS, MessageType, decode, encode

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"
SMIL = (b'<smil><head><layout><root-layout width="176" height="208"/>'
        b'<region id="Image" top="0" height="70%"/><region id="Text" top="70%" height="30%"/>'
        b'</layout></head><body><par dur="5000ms"><img src="cid:photo" region="Image"/>'
        b'<text src="cid:caption" region="Text"/><audio src="cid:tune"/></par>'
        b'<par dur="8000ms"><video src="clip.3gp" region="Image"/></par></body></smil>\n')


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, "JPEG")
    return out.getvalue()


def sample(**envelope: object) -> Message:
    """A message with SMIL, a JPEG, UTF-8 text, AMR audio and 3GP video."""
    env = Envelope(
        message_id="m-1", transaction_id="t-1", originator="+33600000001/TYPE=PLMN",
        to=["+33600000002/TYPE=PLMN", "bob@example.com"], cc=["+33600000003/TYPE=PLMN"],
        bcc=["+33600000004/TYPE=PLMN"], subject="Vacances d'été ☀",
        date=datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc), expiry=timedelta(days=3),
        earliest_delivery=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc),
        message_class="Advertisement", priority="High", delivery_report=True,
        read_report=False, sender_visibility="Show", reply_charging="Requested",
        reply_charging_size=2000, reply_charging_deadline=timedelta(days=1))
    for key, value in envelope.items():
        setattr(env, key, value)
    return Message(env, [
        MessagePart("application/smil", SMIL, content_id="smil", content_location="smil.xml"),
        MessagePart("image/jpeg", jpeg(), content_id="photo", content_location="photo.jpg",
                    params={"name": "photo.jpg"}),
        MessagePart.from_text("Bonjour à tous\nligne 2\r\n", "utf-8", content_id="caption",
                              content_location="caption.txt"),
        MessagePart("audio/amr", b"#!AMR\n" + bytes(range(256)) * 4, content_id="tune",
                    content_location="tune.amr"),
        MessagePart("video/3gpp", b"\x00\x00\x00\x18ftyp3gp4" + bytes(3000),
                    content_location="clip.3gp", disposition="attachment",
                    filename="clip été.3gp"),
    ], multipart="related", start="smil")


# -- round trips --------------------------------------------------------------------------------

def test_mime_round_trip_with_smil_and_media() -> None:
    message = sample()
    back = from_mime(to_mime(message))
    assert back == message and back.warnings == []
    assert back.smil is back.parts[0] and back.parts[1].data == message.parts[1].data


def test_mime_is_multipart_related_with_root_first_and_bcc_only_when_asked() -> None:
    message = sample()
    message.parts.append(message.parts.pop(0))  # SMIL last in the model: stored first
    text = to_mime(message).decode("ascii")
    assert 'multipart/related; type="application/smil"; start="<smil>"' in text
    assert text.index("Content-ID: <smil>") < text.index("Content-ID: <photo>")
    assert "\r\nBcc: +33600000004/TYPE=PLMN\r\n" in text
    assert "Bcc:" not in to_mime(message, include_bcc=False).decode("ascii")
    assert from_mime(to_mime(message)).parts == message.root_first().parts


def test_mms_round_trip_send_req_and_retrieve_conf() -> None:
    message = sample()
    for message_type in (MessageType.SEND_REQ, MessageType.RETRIEVE_CONF):
        back = from_pdu(decode(encode(to_pdu(message, message_type))))
        assert back.parts == message.parts and back.start == "smil"
        listed = {name.rstrip("!") for name in LAYOUTS[message_type].split()}
        for attr in ("transaction_id", "message_id", "to", "cc", "bcc", "subject", "date",
                     "expiry", "priority", "message_class", "delivery_report", "read_report"):
            expected = getattr(message.envelope, attr) if attr in listed else \
                ([] if attr in ("to", "cc", "bcc") else None)
            assert getattr(back.envelope, attr) == expected, (message_type, attr)
    send = from_pdu(decode(encode(to_pdu(message))))
    assert send.envelope.earliest_delivery == message.envelope.earliest_delivery
    assert send.envelope.sender_visibility == "Show"
    assert send.envelope.reply_charging == "Requested"


def test_mime_to_mms_to_mime_without_smil() -> None:
    message = Message(Envelope(originator="alice@example.com", to=["+33600000002/TYPE=PLMN"],
                               subject="no SMIL"),
                      [MessagePart("image/png", b"\x89PNG\r\n\x1a\n" + bytes(100), content_id="p"),
                       MessagePart.from_text("caption", "us-ascii", content_id="t")])
    assert message.smil is None and message.multipart == "mixed"
    via_mms = from_pdu(decode(encode(to_pdu(from_mime(to_mime(message))))))
    assert via_mms.parts == message.parts and via_mms.multipart == "mixed"
    assert from_mime(to_mime(via_mms)) == replace(via_mms, warnings=[])


@pytest.mark.parametrize("charset, text", [
    ("utf-8", "Grüße ☀ 日本"), ("us-ascii", "plain words\r\nsecond line"),
    ("iso-8859-1", "Café crème à l'œil"[:13]), ("utf-16", "UTF-16 ☀ text"),
    ("shift_jis", "日本語のテキストです"),
])
def test_text_parts_stay_byte_exact_in_their_charset(charset: str, text: str) -> None:
    part = MessagePart.from_text(text, charset, content_id="t")
    message = Message(Envelope(to=["+1/TYPE=PLMN"]), [part])
    for back in (from_mime(to_mime(message)), from_pdu(decode(encode(to_pdu(message))))):
        assert back.parts[0].data == part.data and back.parts[0].charset == charset
        assert back.parts[0].decoded_text() == (text, [])


def test_quoted_printable_keeps_bare_line_feeds_and_base64_carries_nul() -> None:
    text = to_mime(sample()).decode("ascii")
    assert "Content-Transfer-Encoding: quoted-printable" in text  # the SMIL and UTF-8 text
    utf16 = MessagePart.from_text("a\nb", "utf-16", content_id="w")
    mime = to_mime(Message(parts=[utf16])).decode("ascii")
    assert "Content-Transfer-Encoding: base64" in mime
    assert from_mime(mime.encode()).parts[0].data == utf16.data


# -- vectors from other implementations -----------------------------------------------------------

CONTENT_VECTORS = sorted(p for p in VECTORS.glob("*.bin")
                         if "retrieve-conf" in p.name or "send-req" in p.name)


@pytest.mark.parametrize("path", CONTENT_VECTORS, ids=lambda p: p.stem)
def test_vectors_survive_mms_to_mime_and_back(path: Path) -> None:
    pdu = decode(path.read_bytes())
    message = from_pdu(pdu)
    assert len(message.parts) == len(pdu.parts or ([pdu.body] if pdu.content_type else []))
    stored = from_mime(to_mime(message))
    assert [p.data for p in stored.parts] == [p.data for p in message.root_first().parts]
    assert [(p.content_type, p.charset, p.content_id, p.content_location) for p in stored.parts] \
        == [(p.content_type, p.charset, p.content_id, p.content_location)
            for p in message.root_first().parts]
    assert str(stored.envelope.subject or "") == str(message.envelope.subject or "")
    again = from_pdu(decode(encode(to_pdu(stored, pdu.message_type))))
    assert again.parts == stored.parts


# -- what real peers send -------------------------------------------------------------------------

def mime_message(headers: str, body: str) -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def test_rfc2047_subjects_in_several_charsets() -> None:
    raw = mime_message(
        "Subject: =?ISO-8859-1?Q?Caf=E9?= =?utf-8?B?4piA?= ok\nTo: +1/TYPE=PLMN\n"
        "Content-Type: text/plain", "x")
    assert from_mime(raw).envelope.subject == "Café☀ ok"
    assert from_mime(mime_message("Subject: =?shift_jis?B?k/qWe4zq?=", "x")).envelope.subject \
        == "日本語"


def test_unknown_charsets_are_warnings_not_crashes() -> None:
    raw = mime_message(
        'Subject: =?x-klingon?Q?hello?=\nContent-Type: multipart/mixed; boundary="b"', """
--b
Content-Type: text/plain; charset=x-klingon
Content-ID: <k>

qapla'
--b--
""")
    message = from_mime(raw)
    assert message.envelope.subject == "hello"
    assert any("x-klingon" in w for w in message.warnings)
    text, warnings = message.parts[0].decoded_text()
    assert text == "qapla'" and "unknown charset" in warnings[0]
    wire = encode(to_pdu(message))  # the charset goes as an untyped parameter
    assert from_pdu(decode(wire)).parts[0].charset == "x-klingon"


def test_lenient_mime_from_handsets_and_peers() -> None:
    raw = mime_message(
        "From: Alice <+33600000001/TYPE=PLMN>\nTo: 12345/TYPE=PLMN@mms.example.net\n"
        "Subject: raw \xc3\xa9t\xc3\xa9\nX-Mms-Delivery-Report: maybe\n"
        'Content-Type: multipart/related; start=smil; boundary="outer"', """
--outer
Content-Type: application/smil
Content-ID: smil

<smil/>
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html

<p>html</p>
--inner--
--outer--
""").replace("\xc3\xa9".encode(), b"\xc3\xa9")
    raw = raw.replace("raw Ã©tÃ©".encode(), "raw été".encode())
    message = from_mime(raw)
    assert message.envelope.originator == "+33600000001/TYPE=PLMN"
    assert message.envelope.to == ["12345/TYPE=PLMN@mms.example.net"]
    assert message.envelope.subject == "raw été"
    assert message.envelope.delivery_report is None
    assert [p.content_type for p in message.parts] == ["application/smil", "text/plain", "text/html"]
    assert message.start == "smil" and message.smil is message.parts[0]
    assert any("flattened" in w for w in message.warnings)
    assert any("maybe" in w for w in message.warnings)


def test_a_single_part_body_is_a_one_part_message() -> None:
    message = from_mime(mime_message("To: +1/TYPE=PLMN\nContent-Type: image/gif\n"
                                     "Content-Transfer-Encoding: base64", "R0lGODlh"))
    assert [(p.content_type, p.data) for p in message.parts] == [("image/gif", b"GIF89a")]


def test_content_to_mime_is_the_mm7_attachment() -> None:
    content = content_to_mime(sample())
    assert content.content_type.startswith('multipart/related; type="application/smil"; '
                                           'start="<smil>"; boundary="=_mmsc_')
    entity = message_from_bytes(f"Content-Type: {content.content_type}\r\n\r\n".encode()
                                + content.body)
    assert [p.get("Content-ID") for p in entity.get_payload()][:2] == ["<smil>", "<photo>"]
    assert not entity.defects and all(not p.defects for p in entity.get_payload())
    assert content.body.endswith(b"--\r\n") and b"\n" not in content.body.replace(b"\r\n", b"")


# -- property: any message survives both conversions ---------------------------------------------

ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-_@", min_size=1, max_size=20)
names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                              blacklist_characters='"\\'), min_size=1, max_size=20).map(str.strip) \
    .filter(bool)
TEXT_CHARSETS = ["utf-8", "us-ascii", "iso-8859-1", "utf-16", "shift_jis"]


@st.composite
def parts(draw: st.DrawFn) -> MessagePart:
    if draw(st.booleans()):
        charset = draw(st.sampled_from(TEXT_CHARSETS))
        text = draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
        try:
            part = MessagePart.from_text(text, charset)
        except UnicodeEncodeError:
            part = MessagePart.from_text(text, "utf-8")
    else:
        part = MessagePart(draw(st.sampled_from(["image/jpeg", "image/gif", "audio/amr",
                                                 "video/3gpp", "application/octet-stream"])),
                           draw(st.binary(max_size=300)))
    part.content_id = draw(st.none() | ids)
    part.content_location = draw(st.none() | names)
    if draw(st.booleans()):
        part.params = {"name": draw(names)}
    return part


@settings(max_examples=150, deadline=None)
@given(st.lists(parts(), min_size=1, max_size=5), st.sampled_from(["related", "mixed"]),
       st.none() | st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=200))
def test_any_message_round_trips(body: list[MessagePart], kind: str, subject: str | None) -> None:
    start = body[0].content_id if kind == "related" else None
    message = Message(Envelope(originator="+33600000001/TYPE=PLMN", to=["a@example.com"],
                               subject=subject), body, multipart=kind, start=start)
    assert from_mime(to_mime(message)) == message
    back = from_pdu(decode(encode(to_pdu(message))))
    assert back.parts == message.parts and back.envelope.subject == subject


SEND_VECTORS = [p.read_bytes() for p in CONTENT_VECTORS]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEND_VECTORS).flatmap(lambda data: st.tuples(
    st.just(data), st.integers(0, len(data) - 1), st.binary(min_size=1, max_size=6))))
def test_whatever_decodes_converts(case: tuple[bytes, int, bytes]) -> None:
    """A PDU the codec accepts, however odd, converts to an MM and to MIME and back without
    an exception (the MM1 handler relies on it)."""
    data, at, junk = case
    from mmsc.pdu import PduDecodeError, PduEncodeError
    try:
        pdu = decode(data[:at] + junk + data[at + len(junk):])
    except PduDecodeError:
        return
    message = from_pdu(pdu)
    from_mime(to_mime(message))
    try:
        encode(to_pdu(message))
    except PduEncodeError as refusal:  # a clean refusal, which the retrieval handler answers
        assert ": " in str(refusal)  # it names the field the encoder could not write


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(["X", "Subject", "Content-Type", "X-Mms-Message-ID"]),
       st.text(alphabet=st.sampled_from([chr(c) for c in range(32, 127)] + ["\t", " "]),
               max_size=90))
def test_header_lines_are_folded_as_the_stdlib_folds_them(name: str, value: str) -> None:
    assert _header_line(name, value) == POLICY.fold_binary(name, value)
